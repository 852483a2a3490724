"""The synthetic AVE world: official lists, events on whole seconds, background seconds with no
sounding object, boxes that hold the object, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avcurr.ave.decode import decode_segments
from avcurr.errors import AvcurrError
from avcurr.sources.ave import read_events
from avcurr.synth.ave_world import AveWorldConfig, synthesize_ave
from tests.ave_fixtures import ave_world  # noqa: F401 - session fixture


def _truths(world):
    return [json.loads(p.read_text()) for p in sorted((world / "truth").glob("*.json"))]


def test_lists_are_in_the_official_format(ave_world):
    ave = ave_world["world"] / "ave"
    lines = (ave / "Annotations.txt").read_text().splitlines()
    assert lines[0] == "Category&VideoID&Quality&StartTime&EndTime" and len(lines) == 21
    events = read_events(ave / "Annotations.txt")
    splits = {name: read_events(ave / f"{name}Set.txt") for name in ("train", "val", "test")}
    assert [len(s) for s in splits.values()] == [16, 2, 2]
    assert sorted(sum(splits.values(), []), key=events.index) == events
    assert not (ave / "trainSet.txt").read_text().startswith("Category&")
    categories = (ave / "categories.txt").read_text().splitlines()
    assert len(categories) == 10 and {e.category for e in events} <= set(categories)
    noisy = (ave / "noisySet.txt").read_text().split()
    truths = {t["video_id"]: t for t in _truths(ave_world["world"])}
    assert len(noisy) == 2 and all(truths[v]["event"] is None and truths[v]["split"] == "train" for v in noisy)


def test_events_and_background_seconds(ave_world):
    cfg = ave_world["config"]
    modes = set()
    for t in _truths(ave_world["world"]):
        event, objects = t["event"], t["objects"]
        on = np.array(objects[0]["on"])
        if event is None:
            assert not on.any()
            continue
        assert 0 <= event["start"] < event["end"] <= 10 and cfg.min_event <= event["end"] - event["start"] <= cfg.max_event
        assert on.tolist() == [int(event["start"] <= s < event["end"]) for s in range(10)]
        visible = np.array(objects[0]["visible"])
        assert visible.tolist() == ([1] * 10 if t["background_mode"] == "silent" else on.tolist())
        for distractor in objects[1:]:
            assert distractor["role"] == "distractor" and not any(distractor["on"]) and all(distractor["visible"])
        assert len(objects[0]["boxes"]) == t["n_frames"] == 10 * cfg.fps
        modes.add((t["background_mode"], len(objects)))
    assert len(modes) >= 3    # absent and silent clips, with and without a distractor


def test_the_soundtrack_sounds_only_during_the_event(ave_world):
    for t in _truths(ave_world["world"])[:6]:
        audio = decode_segments(ave_world["world"] / t["media"]).audio
        rms = np.array([np.sqrt(np.mean(audio[s * 11025 + 500:(s + 1) * 11025 - 500] ** 2)) for s in range(10)])
        on = np.array(t["objects"][0]["on"], bool)
        if on.any():
            assert rms[on].min() > 3 * rms[~on].max(), (t["key"], rms.round(3).tolist())
        else:
            assert rms.max() < 0.05


def test_the_object_is_drawn_inside_its_box_only_while_visible(ave_world):
    for t in _truths(ave_world["world"]):
        if t["background_mode"] != "absent" or t["event"] is None or t["event"]["end"] - t["event"]["start"] > 8:
            continue
        frames = decode_segments(ave_world["world"] / t["media"]).frames.astype(float)
        box = t["objects"][0]["boxes"]
        on = t["objects"][0]["on"]
        s_on, s_off = on.index(1), on.index(0)
        x0, y0, x1, y1 = box[t["middle_frames"][s_on]]
        inside = np.abs(frames[s_on, y0:y1, x0:x1] - frames[s_off, y0:y1, x0:x1]).mean()
        assert inside > 20, (t["key"], inside)
        return
    pytest.fail("the world has no absent clip with background seconds")


def test_a_rerun_keeps_every_clip_and_other_folders_are_refused(ave_world, tmp_path):
    summary = synthesize_ave(ave_world["config"])
    assert summary.n_reused == summary.n_clips == 22 and summary.n_ok == 22
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(AvcurrError, match="not empty and is not an avcurr AVE world"):
        synthesize_ave(AveWorldConfig(out=tmp_path, clips=1))
    assert (tmp_path / "mine.txt").read_text() == "keep"
