"""Feature extraction keeps finished rows: a run with a missing video records it and a rerun adds
it; other settings are refused; the assembled rows follow the annotation file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avcurr.ave.extract import PARTS, FeatureConfig, extract_features, find_video
from avcurr.ave.layout import read_features
from avcurr.errors import AvcurrError
from tests.ave_fixtures import ave_world  # noqa: F401 - session fixture


def _config(world, videos, out, **kw):
    return FeatureConfig(videos=videos, annotations=world / "ave" / "Annotations.txt", out=out, threads=1, **kw)


def test_a_missing_video_is_recorded_and_a_rerun_adds_it(ave_world, tmp_path):
    world, reference = ave_world["world"], read_features(ave_world["features"])
    videos = tmp_path / "videos"
    videos.mkdir()
    media = sorted((world / "media").glob("*.mp4"))
    for path in media:
        (videos / path.name).symlink_to(path)
    missing_id = reference.index[3]["video_id"]
    (videos / f"{missing_id}_0.mp4").unlink()
    out = tmp_path / "features"
    first = extract_features(_config(world, videos, out))
    assert [v for v, _ in first.failures] == [missing_id] and first.rows == 19
    assert (out / PARTS).is_dir() and json.loads((out / "features.json").read_text())["failures"]
    (videos / f"{missing_id}_0.mp4").symlink_to(world / "media" / f"{missing_id}_0.mp4")
    second = extract_features(_config(world, videos, out))
    assert second.reused == 21 and second.extracted == 1 and second.rows == 20 and not second.failures
    assert not (out / PARTS).exists()
    again = read_features(out)
    assert np.allclose(again.visual, reference.visual) and np.array_equal(again.labels, reference.labels)
    assert extract_features(_config(world, videos, out)).reused == 22     # finished: nothing to do


def test_other_settings_are_refused(ave_world):
    with pytest.raises(AvcurrError, match="other settings"):
        extract_features(_config(ave_world["world"], ave_world["world"] / "media", ave_world["features"], grid=4))


def test_find_video_accepts_ave_and_fetch_names(tmp_path):
    for name in ("abc.mp4", "abc_30000.webm", "abc_def.mp4", "abcd.mp4", "abc.txt"):
        (tmp_path / name).write_bytes(b"")
    assert find_video(tmp_path, "abc").name == "abc.mp4"
    (tmp_path / "abc.mp4").unlink()
    assert find_video(tmp_path, "abc").name == "abc_30000.webm"
    assert find_video(tmp_path, "xyz") is None


def test_features_of_another_annotation_list_are_not_reused(ave_world, tmp_path):
    world = ave_world["world"]
    lists = tmp_path / "lists"
    lists.mkdir()
    for name in ("trainSet.txt", "valSet.txt", "testSet.txt", "categories.txt", "noisySet.txt"):
        if (world / "ave" / name).exists():
            (lists / name).symlink_to(world / "ave" / name)
    rows = (world / "ave" / "Annotations.txt").read_text().splitlines(keepends=True)
    (lists / "Annotations.txt").write_text("".join(rows[:-1]))  # the same list less its last event
    cfg = FeatureConfig(videos=world / "media", annotations=lists / "Annotations.txt", out=ave_world["features"],
                        threads=1)
    with pytest.raises(AvcurrError, match="made from another annotation"):
        extract_features(cfg)


def test_a_wrong_encoder_leaves_no_partial_folder(ave_world, tmp_path):
    out = tmp_path / "features"
    with pytest.raises(AvcurrError, match="not found"):
        extract_features(_config(ave_world["world"], ave_world["world"] / "media", out,
                                 encoder=f"cavl:{tmp_path / 'nosuch.pt'}"))
    assert not out.exists()
