"""The synthetic ground truth in the real datasets' formats, the catalogue, the scene plan and the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow.parquet as pq
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.curricula import CurriculaConfig, build_curricula
from avcurr.ontology import SOURCE_LEVEL
from avcurr.paths import bundled
from avcurr.segments import YOUTUBE_ID, read_segments
from avcurr.synth import SynthConfig
from avcurr.synth.catalogue import CATALOGUE, check_catalogue, ontology
from avcurr.synth.config import MAX_SOURCES
from avcurr.synth.scene import plan_scene
from synth_fixtures import truths, world  # noqa: F401


def test_catalogue_has_distinct_looks_and_real_level3_classes():
    check_catalogue()
    assert len(CATALOGUE) >= 8
    for attr in ("shape", "colour", "texture", "sound", "class_id", "name"):
        assert len({getattr(c, attr) for c in CATALOGUE}) == len(CATALOGUE), attr
    onto = ontology()
    assert all(SOURCE_LEVEL in onto.levels[c.class_id] for c in CATALOGUE)


def test_categories_look_different_whatever_the_per_clip_tint():
    """Even the mean colour alone tells the categories apart under the largest tints (shape and
    texture differ as well)."""
    from avcurr.synth.render import TINT, sprite

    def mean_colour(category, tint):
        image, mask = sprite(category, 48, 40, tint)
        return image[mask].mean(axis=0)

    centres = {c.name: mean_colour(c, None) for c in CATALOGUE}
    rng = np.random.default_rng(0)
    for c in CATALOGUE:
        for tint in rng.choice([-TINT, TINT], (8, 3)):
            colour = mean_colour(c, tint)
            assert min(centres, key=lambda n: np.sum((centres[n] - colour) ** 2)) == c.name


def test_segments_csv_counts_the_true_sources(world, tmp_path):
    text = (world.out / "segments.csv").read_text()
    lines = text.splitlines()
    assert lines[2] == "# YTID, start_seconds, end_seconds, positive_labels"
    assert all(l.startswith("#") for l in lines[:3]) and len(lines) == 3 + world.clips
    assert any(l.startswith("-") for l in lines[3:])  # ids beginning with '-' are exercised
    out = tmp_path / "curricula.parquet"
    build_curricula(CurriculaConfig(segments=world.out / "segments.csv",
                                    ontology=bundled("audioset", "ontology.json"), out=out))
    rows = {r["ytid"]: r for r in pq.read_table(out).to_pylist()}
    for t in truths(world):
        row = rows[t["ytid"]]
        assert row["n_sources"] == t["n_sources"] == len(t["sources"])
        assert set(row["sources"]) == set(t["sources"])
        assert row["curriculum"] == f"c{t['n_sources']}"
        assert len(row["labels"]) > t["n_sources"]  # coarse parents are written, and filtered out


def test_segment_rows_have_audioset_layout(world):
    segs = read_segments(world.out / "segments.csv", ontology())
    for seg in segs:
        assert YOUTUBE_ID.match(seg.ytid) and (seg.start, seg.end) == (0.0, world.duration)


def read_flickr_boxes(path, by_tag: bool) -> list[list[int]]:
    """An independent reader: by child name, or positionally after the bbox's first child."""
    boxes = []
    for bbox in ET.parse(path).getroot().iter("bbox"):
        if by_tag:
            boxes.append([int(bbox.find(tag).text) for tag in ("xmin", "ymin", "xmax", "ymax")])
        else:
            boxes.append([int(child.text) for child in list(bbox)[1:5]])
    return boxes


def test_flickr_xml_reads_back_both_ways(world):
    listed = (world.out / "flickr" / "test_list.txt").read_text().split()
    ts = truths(world)
    assert sorted(listed) == sorted(f"{t['key']}.png" for t in ts)
    for t in ts:
        path = world.out / "flickr" / "annotations" / f"{t['key']}.xml"
        written = [b["box"] for b in t["flickr"]["boxes"]]
        assert len(written) == 3 * t["n_sources"]
        assert read_flickr_boxes(path, by_tag=True) == written
        assert read_flickr_boxes(path, by_tag=False) == written
        # The real readers' loop: annotation > object > bbox, skip the bbox's first child.
        real = []
        for obj in ET.parse(path).getroot():
            for child in obj:
                if child.tag == "bbox":
                    real.append([int(c.text) for i, c in enumerate(child) if i > 0])
        assert real == written
        assert (world.out / "flickr" / "frames" / f"{t['key']}.png").is_file()


def test_flickr_boxes_are_jittered_copies_in_256_pixel_coordinates(world):
    scale = 256 / world.size
    for t in truths(world):
        frame = t["flickr"]["frame"]
        assert frame == world.n_frames // 2
        sounding = [o for o in t["objects"] if o["sounding"]]
        for b in t["flickr"]["boxes"]:
            obj = next(o for o in sounding if o["category"] == b["category"])
            true = np.array(obj["boxes"][frame]) * scale
            side = max(true[2] - true[0], true[3] - true[1])
            assert np.all(np.abs(np.array(b["box"]) - true) <= 0.2 * side + 1)


def test_music_and_ave_lists(world):
    ts = truths(world)
    solo = json.loads((world.out / "music" / "MUSIC_solo_videos.json").read_text())
    duet = json.loads((world.out / "music" / "MUSIC_duet_videos.json").read_text())
    solo_ids = sorted(i for ids in solo["videos"].values() for i in ids)
    assert solo_ids == sorted(t["ytid"] for t in ts if t["n_sources"] == 1)
    duet_ids = sorted(i for ids in duet["videos"].values() for i in ids)
    assert duet_ids == sorted(t["ytid"] for t in ts if t["n_sources"] == 2)
    for name, ids in duet["videos"].items():
        assert len(name.split(" ")) == 2
    rows = (world.out / "ave" / "Annotations.txt").read_text().splitlines()
    assert rows[0] == "Category&VideoID&Quality&StartTime&EndTime"
    by_id = {r.split("&")[1]: r.split("&") for r in rows[1:]}
    for t in ts:
        category, _, quality, start, end = by_id[t["ytid"]]
        main = t["objects"][0]
        assert main["sounding"] and category == main["display"] and quality == "good"
        on = np.flatnonzero(main["on"])
        assert (int(start), int(end)) == (on[0], on[-1] + 1)
        assert len(on) == on[-1] + 1 - on[0]  # the main source's event is contiguous


def test_scene_plan_sizes_and_sources():
    lone = SynthConfig(out="x", min_sources=1, max_sources=1)
    small = SynthConfig(out="x", min_sources=1, max_sources=1, small_objects=True)
    for index in range(30):
        for cfg, lo, hi in ((lone, 0.2, 0.55), (small, 0.0, 0.1)):
            (obj,) = plan_scene(cfg, index).objects
            x0, y0, x1, y1 = obj.boxes[0]
            assert lo <= (x1 - x0) * (y1 - y0) / cfg.size ** 2 <= hi
            assert obj.boxes[:, :2].min() >= 0 and obj.boxes[:, 2:].max() <= cfg.size
    many = SynthConfig(out="x", min_sources=2, max_sources=4, distractors=2)
    for index in range(30):
        scene = plan_scene(many, index)
        names = [o.category.name for o in scene.objects]
        assert len(set(names)) == len(names)  # no two objects of one category
        assert 2 <= len(scene.sources) <= 4 and len(scene.objects) == len(scene.sources) + 2
        assert all(not o.sounding and sum(o.on) == 0 for o in scene.objects[len(scene.sources):])


def test_cli_rejects_bad_settings_with_one_line(tmp_path):
    from avcurr.cli import synth as cli_synth

    assert cli_synth.MAX_SOURCES == MAX_SOURCES  # the CLI's copy (it avoids importing numpy for --help)
    runner = CliRunner()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    cases = [
        (["--sources", "0"], "sources range"),
        (["--sources", str(MAX_SOURCES + 1)], "sources range"),
        (["--min-sources", "3", "--max-sources", "2"], "sources range"),
        (["--sources", "2", "--min-sources", "1"], "either --sources"),
        (["--distractors", "3"], "--distractors"),
        (["--size", "255"], "--size"),
        (["--clips", "0"], "--clips"),
        (["--fps", "0"], "--fps"),
        (["--max-sources", "4", "--distractors", "3"], "--distractors"),
    ]
    for args, needle in cases:
        result = runner.invoke(app, ["synth", "--out", str(tmp_path / "w"), *args])
        assert result.exit_code == 2, (args, result.output)
        message = result.stderr.strip()
        assert needle in message and len(message.splitlines()) == 1, (args, message)
    result = runner.invoke(app, ["synth", "--out", str(a_file), "--clips", "1"])
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_cli_writes_a_world(tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--clips", "2", "--sources", "1", "--size", "64",
                                      "--fps", "2", "--duration", "2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "clips with 1 source" in result.stdout
    assert len(list((out / "media").glob("*.mp4"))) == 2


def test_cli_exits_1_and_shows_the_error_when_no_clip_could_be_made(tmp_path):
    import shutil

    args = ["--clips", "1", "--sources", "1", "--size", "64", "--fps", "2", "--duration", "2", "--seed", "4"]
    out = tmp_path / "w"
    assert CliRunner().invoke(app, ["synth", "--out", str(out), *args]).exit_code == 0
    shutil.rmtree(out / "media")
    shutil.rmtree(out / "truth")
    (out / "media").write_text("a file where the media folder should be")
    result = CliRunner().invoke(app, ["synth", "--out", str(out), *args])
    assert result.exit_code == 1
    assert "clips failed" in result.stdout and "FileExistsError" in result.stdout
