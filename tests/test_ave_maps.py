"""Attention maps: they sum as the attention does, have the frame's size after upsampling, are
measured against the truth's boxes, and `ave-maps` draws and scores them end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from avcurr.ave.maps import (EventSegment, MapScores, box_on_grid, event_segments, score_baseline_maps, score_map,
                             segment_maps, upsample_map)
from avcurr.cli import app
from avcurr.errors import AvcurrError
from avcurr.localize.annotations import GRID
from avcurr.models.ave import AveModelConfig, build_ave_model
from tests.ave_fixtures import ave_world  # noqa: F401 - session fixture

runner = CliRunner()


@pytest.mark.parametrize("model", ["ours", "ave-baseline"])
def test_maps_sum_to_one_on_the_grid_and_after_upsampling(model):
    cfg = AveModelConfig(model=model).with_data(5, (3, 4), 8, 6, 4)
    net = build_ave_model(cfg).eval()
    maps = segment_maps(net, torch.randn(2, 5, 6), torch.rand(2, 5, 3, 4, 8))
    assert maps.shape == (2, 5, 3, 4)
    assert torch.allclose(maps.sum((-2, -1)), torch.ones(2, 5), atol=1e-5)
    big = upsample_map(maps, (48, 64))
    assert big.shape == (2, 5, 48, 64) and torch.allclose(big.sum((-2, -1)), torch.ones(2, 5), atol=1e-5)


def test_upsampling_keeps_the_peak_where_it_was():
    grid = torch.zeros(3, 4)
    grid[2, 3] = 1                       # bottom-right region
    big = upsample_map(grid, (48, 64))
    y, x = divmod(int(big.argmax()), 64)
    assert y >= 32 and x >= 48


def test_models_without_spatial_attention_have_no_maps():
    net = build_ave_model(AveModelConfig(fusion="lstm").with_data(5, (3, 4), 8, 6, 4))
    with pytest.raises(AvcurrError, match="no spatial attention"):
        segment_maps(net, torch.randn(1, 5, 6), torch.rand(1, 5, 3, 4, 8))


def _truth():
    boxes = [[0, 0, 32, 32]] * 4
    return {"width": 64, "height": 64, "middle_frames": [0, 1, 2, 3],
            "objects": [{"role": "event", "on": [0, 1, 1, 0], "visible": [1, 1, 1, 0], "boxes": boxes},
                        {"role": "distractor", "on": [0] * 4, "visible": [1] * 4, "boxes": [[32, 32, 64, 64]] * 4}]}


def test_event_and_silent_segments_from_the_truth():
    segments = event_segments(_truth(), row=7)
    assert [(s.row, s.segment, s.sounding) for s in segments] == [(7, 1, True), (7, 2, True)]
    assert segments[0].box == (0, 0, 112, 112) and segments[0].distractor == (112, 112, 224, 224)
    assert [s.segment for s in event_segments(_truth(), 7, silent=True)] == [0]
    assert box_on_grid([10, 20, 30, 40], 128, 64) == [17, 70, 53, 140]


def test_scores_follow_where_the_map_points():
    seg = EventSegment(0, 1, (0, 0, 112, 112), (112, 112, 224, 224))
    on_source, on_distractor = np.zeros((GRID, GRID)), np.zeros((GRID, GRID))
    on_source[:112, :112], on_distractor[112:, 112:] = 1, 1
    on_source[50, 50] = on_distractor[150, 150] = 2
    scores = MapScores()
    assert score_map(scores, "good", on_source, seg) == (1.0, True)
    assert score_map(scores, "bad", on_distractor, seg) == (0.0, False)
    score_map(scores, "good", on_source, EventSegment(0, 0, (0, 0, 112, 112), None, sounding=False))
    score_map(scores, "bad", on_distractor, EventSegment(0, 2, (0, 0, 112, 112), None))      # no distractor
    score_baseline_maps(scores, seg, np.random.default_rng(0))
    summary = scores.summary()
    assert summary["good"]["points_at_sounding"] == 1.0 and summary["good"]["points_at_distractor"] == 0.0
    assert summary["bad"]["points_at_distractor"] == 1.0 and summary["good"]["points_at_silent_object"] == 1.0
    assert summary["good"]["n"] == 1 and set(summary) == {"good", "bad", "random", "centre", "uniform"}
    assert summary["good"]["lone_segments"] == 0 and summary["good"]["pointing_lone"] is None
    assert summary["bad"]["lone_segments"] == 1 and summary["bad"]["pointing_lone"] == 0.0 and summary["bad"]["n"] == 2
    assert summary["centre"]["points_at_sounding"] == 0.0      # the centre lies between the two objects


def test_ave_maps_end_to_end(ave_world, tmp_path):
    features, world = ave_world["features"], ave_world["world"]
    runs = []
    for mode in ("supervised", "unsupervised"):
        run = tmp_path / mode
        result = runner.invoke(app, ["train-ave", "--features", str(features), "--run", str(run), "--mode", mode,
                                     "--batch-size", "4", "--max-steps", "3", "--threads", "1", "--device", "cpu"])
        assert result.exit_code == 0, result.output
        runs += ["--checkpoint", str(run / "checkpoint.pt")]
    out = tmp_path / "maps"
    result = runner.invoke(app, ["ave-maps", *runs, "--features", str(features), "--videos", str(world / "media"),
                                 "--truth", str(world / "truth"), "--out", str(out), "--count", "2"])
    assert result.exit_code == 0, result.output
    strips = sorted((out / "strips").glob("*.png"))
    assert len(strips) == 2 and all(p.stat().st_size > 10_000 for p in strips)
    summary = json.loads((out / "maps_summary.json").read_text())
    assert summary["models"] == ["ours supervised", "ours unsupervised"] and summary["event_segments"] > 0
    assert {"centre", "uniform", "random"} <= set(summary["methods"])
    assert "ours unsupervised" in result.output and (out / "per_segment_maps.csv").is_file()
    result = runner.invoke(app, ["ave-maps", *runs[:2], "--features", str(features), "--out", str(out)])
    assert result.exit_code == 2 and "give --videos" in result.output
