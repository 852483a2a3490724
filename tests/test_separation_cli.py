"""`avcurr train-separator`, `avcurr eval separation` and `avcurr separate` end to end on synthetic
shards and videos (tiny models, a few steps: the wiring, not the quality)."""

from __future__ import annotations

import csv
import json
import warnings

import mir_eval
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.curricula import CurriculaConfig, build_curricula
from avcurr.paths import bundled
from avcurr.separation import SeparatorTask
from avcurr.shards.build import BuildConfig, build_shards
from avcurr.train import load_checkpoint
from tests.cavl_fixtures import cavl_world  # noqa: F401 - session fixture
from tests.separation_fixtures import separator_config, separators  # noqa: F401 - session fixture
from tests.shards_fixtures import make_clip

runner = CliRunner()


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for needle in needles:
        assert needle in result.output, result.output


def _train_args(world, run, localizer, *extra):
    return ["train-separator", "--shards", str(world["shards"]), "--dataset", "synth", "--run", str(run),
            "--localizer", str(localizer), "--config", "tiny", "--mixtures", "2", "--threads", "1",
            "--device", "cpu", "--ckpt-every", "1", "--log-every", "1", *extra]


def test_train_separator_records_its_cue_and_localizer_and_resumes(cavl_world, separators, tmp_path):
    run = tmp_path / "run"
    first = runner.invoke(app, _train_args(cavl_world, run, separators["localizer"], "--condition", "mask",
                                           "--max-steps", "1"))
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, _train_args(cavl_world, run, separators["localizer"], "--condition", "mask",
                                           "--max-steps", "2"))
    assert again.exit_code == 0 and "resumed at step 1" in again.output, again.output
    state = load_checkpoint(run / "separator-mask" / "checkpoint.pt", kind="separator")
    assert state["step"] == 2 and state["condition"] == "mask"
    assert state["localizer"]["path"] == str(separators["localizer"]) and len(state["localizer"]["weights_sha256"]) == 64
    # The localizer is frozen: its weights are the localizer checkpoint's, step after step.
    localizer = load_checkpoint(separators["localizer"])["model"]
    for name, value in localizer.items():
        assert np.array_equal(state["model"][f"localizer.{name}"].numpy(), value.numpy()), name
    # The U-Net did train.
    assert (run / "separator-mask" / "metrics.csv").read_text().count("\n") >= 3


def test_train_separator_refuses_a_localizer_of_another_kind(cavl_world, separators, tmp_path):
    result = runner.invoke(app, _train_args(cavl_world, tmp_path / "run", separators["mask"], "--max-steps", "1"))
    _one_line_error(result, "is a separator checkpoint; a cavl checkpoint is needed here")
    result = runner.invoke(app, _train_args(cavl_world, tmp_path / "run", separators["localizer"],
                                            "--condition", "loud", "--max-steps", "1"))
    _one_line_error(result, "--condition must be one of centre, mask")
    result = runner.invoke(app, _train_args(cavl_world, tmp_path / "run", separators["localizer"],
                                            "--loss-weight", "loud", "--max-steps", "1"))
    _one_line_error(result, "--loss-weight must be one of none, magnitude")


def test_loss_weights_are_plain_or_loudness(cavl_world, separators, tmp_path):
    mixture = torch.tensor([[[0.0, 1.0, 20.0]]])
    plain_task = SeparatorTask(separator_config(cavl_world, tmp_path, separators["localizer"], "mask"))
    torch.testing.assert_close(plain_task._weights(mixture), torch.ones(1, 1, 1, 3))
    loud = SeparatorTask(separator_config(cavl_world, tmp_path, separators["localizer"], "mask",
                                          loss_weight="magnitude"))._weights(mixture)
    assert loud.mean().item() == pytest.approx(1.0) and loud[0, 0, 0, 2] > 4 * loud[0, 0, 0, 1] > 0


def test_eval_separation_scores_both_cues_beside_floor_and_ceiling(cavl_world, separators, tmp_path):
    out = tmp_path / "eval"
    result = runner.invoke(app, ["eval", "separation", "--checkpoint", str(separators["centre"]),
                                 "--checkpoint", str(separators["mask"]), "--shards", str(cavl_world["shards"]),
                                 "--split", "train", "--out", str(out), "--mixtures", "1", "--wavs", "1",
                                 "--device", "cpu"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["methods"]) == ["centre", "mask", "ideal_ratio_mask", "mixture"]
    assert summary["methods"]["ideal_ratio_mask"]["sdr"] > summary["methods"]["mixture"]["sdr"] + 5
    with open(out / "per_mixture.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["mixture", "source", "method", "sdr", "sir", "sar"] and len(rows) == 8
    assert (out / "spectrograms.png").stat().st_size > 10_000
    # Wiring: the WAVs written are the signals scored, source k against reference k, cut to the clips' length.
    wav = {name: sf.read(out / "separated" / f"0_{name}.wav")[0]
           for name in ("mixture", "0_reference", "1_reference", "0_estimate", "1_estimate")}
    refs = np.stack([wav["0_reference"], wav["1_reference"]])
    pair = summary["mixtures"][0]
    assert refs.shape[1] < 110336                       # the clips' real length, not the padding
    np.testing.assert_allclose(wav["mixture"], refs.sum(0), atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        floor = mir_eval.separation.bss_eval_sources(refs, np.stack([wav["mixture"]] * 2), compute_permutation=False)
        model = mir_eval.separation.bss_eval_sources(refs, np.stack([wav["0_estimate"], wav["1_estimate"]]),
                                                     compute_permutation=False)
    scored = {(r["method"], int(r["source"])): float(r["sdr"]) for r in rows}
    for k in range(2):
        assert scored[("mixture", k)] == pytest.approx(floor[0][k], abs=1e-3)
        assert scored[("centre", k)] == pytest.approx(model[0][k], abs=1e-3)
    assert pair["source_0"] != pair["source_1"]


def test_eval_separation_needs_two_test_clips(cavl_world, separators, tmp_path):
    manifest = tmp_path / "curricula.parquet"
    build_curricula(CurriculaConfig(segments=cavl_world["world"] / "segments.csv",
                                    ontology=bundled("audioset", "ontology.json"), out=manifest))
    table = pq.read_table(manifest)
    one = table.filter(np.array([c == "c1" for c in table["curriculum"].to_pylist()])).slice(0, 1)
    pq.write_table(one, manifest)
    build_shards(BuildConfig(manifest=manifest, out=tmp_path / "shards", dataset="synth", split="test",
                             media=cavl_world["world"] / "media", workers=1))
    result = runner.invoke(app, ["eval", "separation", "--checkpoint", str(separators["mask"]),
                                 "--shards", str(tmp_path / "shards"), "--out", str(tmp_path / "eval"),
                                 "--device", "cpu"])
    _one_line_error(result, "holds 1 usable clip(s)", "needs at least 2")
    result = runner.invoke(app, ["eval", "separation", "--checkpoint", str(separators["localizer"]),
                                 "--shards", str(tmp_path / "shards"), "--out", str(tmp_path / "eval"),
                                 "--device", "cpu"])
    _one_line_error(result, "is a cavl checkpoint; a separator checkpoint is needed here")


def _two_source_video(world) -> tuple:
    for truth in sorted((world / "truth").glob("*.json")):
        data = json.loads(truth.read_text())
        if sum(1 for o in data["objects"] if o.get("sounding")) == 2:
            return world / "media" / f"{data['key']}.mp4", data
    raise AssertionError("the test world has no two-source clip")


def test_separate_writes_the_objects_sound_from_a_video(cavl_world, separators, tmp_path):
    video, truth = _two_source_video(cavl_world["world"])
    out = tmp_path / "object.wav"
    result = runner.invoke(app, ["separate", "--checkpoint", str(separators["mask"]), "--video", str(video),
                                 "--out", str(out), "--auto", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "localizer (eq. 7)" in result.output
    wave, rate = sf.read(out)
    assert rate == 11025 and abs(wave.size - 4 * 11025) < 300      # the 4 s soundtrack, not a padded window
    assert np.isfinite(wave).all() and 0 < np.abs(wave).max() < 2
    picked = tmp_path / "picked.wav"
    result = runner.invoke(app, ["separate", "--checkpoint", str(separators["centre"]), "--video", str(video),
                                 "--out", str(picked), "--object", "64,64", "--device", "cpu"])
    assert result.exit_code == 0 and "pixel 64, 64" in result.output, result.output
    assert sf.read(picked)[0].size == wave.size


def test_separate_bad_inputs_are_one_line(separators, tmp_path):
    silent_video = make_clip(tmp_path / "no_sound.mp4", seconds=2, audio=False)
    out = tmp_path / "out.wav"
    result = runner.invoke(app, ["separate", "--checkpoint", str(separators["mask"]), "--video", str(silent_video),
                                 "--out", str(out), "--device", "cpu"])
    _one_line_error(result, "has no audio stream")
    assert not out.exists()
    video = make_clip(tmp_path / "tone.mp4", seconds=2)
    result = runner.invoke(app, ["separate", "--checkpoint", str(separators["mask"]), "--video", str(video),
                                 "--out", str(out), "--object", "500,20", "--device", "cpu"])
    _one_line_error(result, "outside the 128 x 128 frame")
    result = runner.invoke(app, ["separate", "--checkpoint", str(separators["mask"]), "--video", str(video),
                                 "--out", str(out), "--object", "left", "--device", "cpu"])
    _one_line_error(result, "--object must be a pixel X,Y")
