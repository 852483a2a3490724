"""AVE end to end through the CLI on a few synthetic clips: synth --layout ave -> ave-features ->
train-ave (supervised, weak, the baseline) -> eval ave, and one clear line for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from avcurr.ave.layout import AUDIO, CATEGORIES, order_file, read_features, write_array, write_categories, write_orders
from avcurr.cli import app
from avcurr.train import load_checkpoint
from tests.ave_fixtures import ave_world  # noqa: F401 - session fixture

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _train(features, run, *extra):
    return invoke("train-ave", "--features", features, "--run", run, "--batch-size", "4", "--max-steps", "6",
                  "--threads", "1", "--device", "cpu", "--log-every", "2", *extra)


@pytest.fixture(scope="module")
def features(ave_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("ave-cli") / "features"
    world = ave_world["world"]
    result = invoke("ave-features", "--videos", world / "media", "--annotations", world / "ave" / "Annotations.txt",
                    "--out", out, "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "20 x 10 x 7 x 7 x 64" in result.output
    return out


def test_features_are_in_the_official_layout(features):
    f = read_features(features)
    assert f.sizes() == {"segments": 10, "grid": (7, 7), "visual_dim": 64, "audio_dim": 64, "classes": 11}
    assert [len(f.split(s)) for s in ("train", "val", "test")] == [16, 2, 2] and f.noisy.labels.shape == (2, 11)
    assert f.categories[-1] == "background" and len(f.index) == 20


@pytest.mark.parametrize("mode, extra", [("supervised", ()), ("weak", ()), ("supervised", ("--model", "ave-baseline"))])
def test_train_then_evaluate(features, tmp_path, mode, extra):
    run = tmp_path / "run"
    result = _train(features, run, "--mode", mode, *extra)
    assert result.exit_code == 0, result.output
    state = load_checkpoint(run / "checkpoint.pt", kind="ave")
    assert state["mode"] == mode and state["step"] == 6
    out = tmp_path / "eval"
    result = invoke("eval", "ave", "--checkpoint", run / "checkpoint.pt", "--features", features, "--out", out,
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_segments"] == 20 and 0 <= summary["segment_accuracy"] <= 1 and summary["mode"] == mode
    for name in ("per_category.png", "confusion.png", "confusion.csv", "per_segment.csv"):
        assert (out / name).stat().st_size > 0
    assert "floor: all background" in result.output


def test_training_resumes_and_ablations_are_options(features, tmp_path):
    run = tmp_path / "run"
    assert _train(features, run, "--modality", "audio+visual", "--swab", "mean", "--no-aggregation").exit_code == 0
    result = _train(features, run, "--modality", "audio+visual", "--swab", "mean", "--no-aggregation",
                    "--max-steps", "8")
    assert result.exit_code == 0 and "resumed at step 6" in result.output
    config = load_checkpoint(run / "checkpoint.pt", kind="ave")["model_config"]
    assert (config["fusion"], config["swab"], config["aggregation"]) == ("none", "mean", False)
    result = _train(features, run, "--modality", "audio", "--max-steps", "9")
    assert result.exit_code == 2 and "another configuration" in result.output


def test_bad_input_is_one_line(features, ave_world, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in features.iterdir():
        (broken / path.name).symlink_to(path)
    (broken / AUDIO).unlink()
    write_array(broken / AUDIO, np.zeros((20, 10, 64)), key="audio")
    result = _train(broken, tmp_path / "run")
    assert result.exit_code == 2 and "has no dataset 'avadataset'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    world = ave_world["world"]
    annotations = tmp_path / "lists" / "Annotations.txt"
    annotations.parent.mkdir()
    for name in ("trainSet.txt", "valSet.txt", "testSet.txt", "categories.txt"):
        (annotations.parent / name).symlink_to(world / "ave" / name)
    annotations.write_text((world / "ave" / "Annotations.txt").read_text() + "Horse&aaaaaaaaaaa&good&1&3\n")
    result = invoke("ave-features", "--videos", world / "media", "--annotations", annotations, "--out", tmp_path / "f")
    assert result.exit_code == 2 and "Annotations.txt:22: unknown category 'Horse'" in result.output
    assert not (tmp_path / "f").exists()


def test_unsupervised_checkpoints_are_not_scored(features, tmp_path):
    run = tmp_path / "run"
    assert _train(features, run, "--mode", "unsupervised").exit_code == 0
    result = invoke("eval", "ave", "--checkpoint", run / "checkpoint.pt", "--features", features, "--out", tmp_path / "e")
    assert result.exit_code == 2 and "unsupervised" in result.output


def test_synth_layout_ave(tmp_path):
    result = invoke("synth", "--layout", "ave", "--out", tmp_path / "w", "--clips", "2", "--size", "64", "--fps", "4")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "w" / "media").glob("*.mp4"))) == 2
    assert (tmp_path / "w" / "ave" / "Annotations.txt").read_text().count("&good&") == 2
    assert invoke("synth", "--layout", "music", "--out", tmp_path / "x").exit_code == 2


def _copy_of(features, into):
    """A feature folder of symlinks to `features`' files; a file replaced later is unlinked first."""
    into.mkdir()
    for path in features.iterdir():
        (into / path.name).symlink_to(path)
    return into


def test_eval_refuses_another_class_order_and_an_empty_split(features, tmp_path):
    run = tmp_path / "run"
    assert _train(features, run).exit_code == 0
    ckpt = run / "checkpoint.pt"
    swapped = _copy_of(features, tmp_path / "swapped")
    names = read_features(features).categories[:-1]
    (swapped / CATEGORIES).unlink()
    write_categories(swapped, [names[1], names[0], *names[2:]])
    result = invoke("eval", "ave", "--checkpoint", ckpt, "--features", swapped, "--out", tmp_path / "e1")
    assert result.exit_code == 2 and "categories in another order" in result.output
    empty = _copy_of(features, tmp_path / "empty")
    (empty / order_file("test")).unlink()
    write_orders(empty, {"test": np.zeros(0, np.int64)})
    result = invoke("eval", "ave", "--checkpoint", ckpt, "--features", empty, "--out", tmp_path / "e2")
    assert result.exit_code == 2 and "the test split holds no videos" in result.output
    assert not (tmp_path / "e1").exists() and not (tmp_path / "e2").exists()


def test_the_baselines_refuse_our_ablation_options(features, tmp_path):
    result = _train(features, tmp_path / "run", "--model", "ave-baseline", "--modality", "audio")
    assert result.exit_code == 2 and "--modality change our model only" in result.output
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_resume_with_another_mode_is_refused(features, tmp_path):
    run = tmp_path / "run"
    assert _train(features, run, "--max-steps", "3").exit_code == 0
    result = _train(features, run, "--mode", "unsupervised", "--max-steps", "6")
    assert result.exit_code == 2 and "was trained with other settings (mode: 'supervised' there" in result.output
    state = load_checkpoint(run / "checkpoint.pt", kind="ave")
    assert state["mode"] == "supervised" and state["step"] == 3  # the record and the weights untouched
