"""Localization evaluation on outside inputs: boxes off the image or inverted, ids from shards that
try to leave the annotation folder, and `--limit` values that make no sense."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.localize import LocalizationConfig, evaluate_localization, ground_truth, read_boxes
from avcurr.localize.annotations import find_annotation
from tests.cavl_fixtures import cavl_world  # noqa: F401 - session fixture

BOX = "<bbox><annotator>{a}</annotator><xmin>{0}</xmin><ymin>{1}</ymin><xmax>{2}</xmax><ymax>{3}</ymax></bbox>"


def xml(*boxes) -> str:
    return "<annotation>" + "".join(f"<object>{BOX.format(*b, a=i)}</object>" for i, b in enumerate(boxes)) \
        + "</annotation>"


def test_a_negative_coordinate_is_clipped_not_wrapped_around(tmp_path):
    path = tmp_path / "neg.xml"
    path.write_text(xml((-40, 0, 64, 64), (-40, 0, 64, 64)))
    boxes = read_boxes(path)
    assert boxes == [[-35, 0, 56, 56]] * 2  # as the published scaling gives them
    g = ground_truth(boxes)
    assert g.sum() == 56 * 56 and g[:56, :56].min() == 1  # the box from the left edge, both annotators
    from avcurr.localize.annotations import usable_boxes

    kept, problems = usable_boxes(boxes)
    assert kept == [[0, 0, 56, 56]] * 2 and problems == []


def test_inverted_and_outside_boxes_are_set_aside_with_a_reason():
    from avcurr.localize.annotations import usable_boxes

    kept, problems = usable_boxes([[10, 10, 50, 50], [60, 10, 20, 50], [10, 10, 10, 50], [300, 0, 400, 50]])
    assert kept == [[10, 10, 50, 50]]
    assert [p.split(" (")[0] for p in problems] == ["box 2", "box 3", "box 4"]
    assert "inverted" in problems[0] and "outside the image" in problems[2]
    assert ground_truth([[60, 10, 20, 50]]).sum() == 0


def test_an_id_from_a_shard_never_leads_out_of_the_annotation_folder(tmp_path):
    folder, outside = tmp_path / "annotations", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (outside / "evil.xml").write_text(xml((0, 0, 10, 10)))
    (folder / "realid00001.xml").write_text(xml((0, 0, 10, 10)))
    assert find_annotation(folder, "k_0", "../outside/evil") is None
    assert find_annotation(folder, "../outside/evil", None) is None
    assert find_annotation(folder, "k_0", "realid00001") == folder / "realid00001.xml"


def test_limit_below_one_is_a_clear_error(tmp_path):
    cfg = LocalizationConfig(checkpoint=tmp_path / "c.pt", shards=tmp_path, annotations=tmp_path, out=tmp_path / "o",
                             limit=0)
    with pytest.raises(AvcurrError, match="--limit must be at least 1"):
        cfg.validate()


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """A checkpoint of an untrained tiny model: the scores do not matter here, the inputs do."""
    import torch

    from avcurr.models import CAVL, preset
    from avcurr.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    cfg = preset("tiny")
    path = tmp_path_factory.mktemp("untrained") / "checkpoint.pt"
    return save_checkpoint(path, {"model_config": cfg.to_dict(), "model": CAVL(cfg).state_dict()})


def test_evaluation_warns_skips_and_limits(cavl_world, untrained, tmp_path):  # noqa: F811 - fixture
    annotations = tmp_path / "annotations"
    shutil.copytree(cavl_world["annotations"], annotations)
    files = sorted(annotations.glob("*.xml"))
    files[0].write_text(xml((-40, -10, 128, 300), (-40, -10, 128, 300)))   # off the image: clipped
    files[1].write_text(xml((200, 10, 20, 50)))                            # inverted only: not scored
    cfg = LocalizationConfig(checkpoint=untrained, shards=cavl_world["shards"], annotations=annotations,
                             out=tmp_path / "eval", split="train", curricula="c1,c2", overlays=0, device="cpu",
                             visual_centres=3)
    report = evaluate_localization(cfg)
    assert report.summaries["model"]["n"] == len(files) - 1
    assert any("box 1" in w and "inverted" in w for w in report.warnings)
    assert any(f"{files[1]}: no usable box" in w for w in report.warnings)
    row = next(r for r in report.rows if r["key"] == files[0].stem)
    g = ground_truth([[0, 0, 112, 224]] * 2)  # what the clipped boxes mark on the 224 grid
    assert row["whole_image_ciou"] == pytest.approx(g.sum() / (g.sum() + np.count_nonzero(g == 0)), abs=1e-4)
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["warnings"] == report.warnings

    limited = evaluate_localization(LocalizationConfig(**{**cfg.__dict__, "limit": 3, "out": tmp_path / "l"}))
    assert limited.summaries["model"]["n"] == 3
    result = CliRunner().invoke(app, ["eval", "localization", "--checkpoint", str(untrained), "--shards",
                                      str(cavl_world["shards"]), "--annotations", str(annotations), "--out",
                                      str(tmp_path / "zero"), "--split", "train", "--limit", "0"])
    assert result.exit_code == 2 and "--limit" in result.output and not (tmp_path / "zero").exists()
