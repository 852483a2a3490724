"""The ground truth written in the real datasets' own formats.

- AudioSet segment CSV (three `#` lines, `YTID, 0.000, 10.000, "label,label"`);
- SoundNet-Flickr box XML, `annotation > object > bbox > xmin, ymin, xmax, ymax` in 256-pixel
  coordinates, three annotators. Readers of the real files skip each bbox element's first child
  and read the next four as numbers, others look the coordinates up by tag name: the first
  child here is an `<annotator>` element, so both ways read the same box;
- MUSIC `{"version": 1.0, "videos": {category: [ids]}}` for solo and duet clips;
- AVE `Category&VideoID&Quality&StartTime&EndTime` rows.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

from avcurr.atomic import atomic_write

FLICKR_SIZE = 256
AVE_HEADER = "Category&VideoID&Quality&StartTime&EndTime"


def segments_csv(truths: list[dict], seed: int) -> str:
    """AudioSet's segment CSV layout for the given clips."""
    labels = [label for t in truths for label in t["labels"]]
    lines = [
        f"# Segments csv created by avcurr synth (seed {seed})",
        f"# num_ytids={len({t['ytid'] for t in truths})}, num_segs={len(truths)}, "
        f"num_unique_labels={len(set(labels))}, num_positive_labels={len(labels)}",
        "# YTID, start_seconds, end_seconds, positive_labels",
    ]
    lines += [f'{t["ytid"]}, {t["start"]:.3f}, {t["end"]:.3f}, "{",".join(t["labels"])}"' for t in truths]
    return "\n".join(lines) + "\n"


def flickr_xml(truth: dict) -> str:
    """One SoundNet-Flickr style annotation file: one <object> per annotator and sounding object."""
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = f"{truth['key']}.png"
    size = ET.SubElement(root, "size")
    for tag in ("width", "height"):
        ET.SubElement(size, tag).text = str(FLICKR_SIZE)
    for box in truth["flickr"]["boxes"]:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box["category"]
        bbox = ET.SubElement(obj, "bbox")
        ET.SubElement(bbox, "annotator").text = str(box["annotator"])  # the first child real readers skip
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box["box"]):
            ET.SubElement(bbox, tag).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def flickr_test_list(truths: Iterable[dict]) -> str:
    """Ids as the real test list writes them (`<id>.png` per line)."""
    return "".join(f"{t['key']}.png\n" for t in truths)


def music_json(truths: Iterable[dict], n_sources: int) -> str:
    """MUSIC-style `{"version": 1.0, "videos": {name: [ids]}}`: solo (1 source) or duet (2)."""
    videos: dict[str, list[str]] = {}
    for t in truths:
        if t["n_sources"] == n_sources:
            name = " ".join(sorted(o["category"] for o in t["objects"] if o["sounding"]))
            videos.setdefault(name, []).append(t["ytid"])
    return json.dumps({"version": 1.0, "videos": dict(sorted(videos.items()))}, indent=4) + "\n"


def ave_annotations(truths: Iterable[dict]) -> str:
    """AVE rows for each clip's event: the main source's contiguous sounding interval."""
    rows = [AVE_HEADER]
    for t in truths:
        ev = t["event"]
        rows.append(f"{ev['category']}&{t['ytid']}&good&{ev['start']}&{ev['end']}")
    return "\n".join(rows) + "\n"


# The files that list every clip, relative to the world's folder.
COLLECTIONS = {
    "segments": "segments.csv",
    "flickr_test_list": "flickr/test_list.txt",
    "music_solo": "music/MUSIC_solo_videos.json",
    "music_duet": "music/MUSIC_duet_videos.json",
    "ave": "ave/Annotations.txt",
}


def write_collections(out: Path, truths: list[dict], seed: int) -> dict[str, Path]:
    """Write the files that list every clip; return their paths by name."""
    paths = {name: out / rel for name, rel in COLLECTIONS.items()}
    atomic_write(paths["segments"], segments_csv(truths, seed))
    atomic_write(paths["flickr_test_list"], flickr_test_list(truths))
    atomic_write(paths["music_solo"], music_json(truths, 1))
    atomic_write(paths["music_duet"], music_json(truths, 2))
    atomic_write(paths["ave"], ave_annotations(truths))
    return paths
