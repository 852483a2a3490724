"""SoundNet-Flickr box annotations (XML), read exactly as the published evaluators read them.

Published readers skip each `bbox` element's first child and take the next four as xmin, ymin,
xmax, ymax in 256-pixel coordinates, scaled to the 224 grid by `int(224 * c / 256)`. Files whose
bbox children are named `xmin`..`ymax` can be read by tag name too.

Boxes are outside data: `usable_boxes` clips them to the image and sets aside inverted or empty
ones (with a reason), and `find_annotation` only builds a path from a plain file name, never from
a key or id holding `/` or `..`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from avcurr.errors import AvcurrError
from avcurr.keys import safe_name

GRID = 224
SOURCE_SIZE = 256
TAGS = ("xmin", "ymin", "xmax", "ymax")
MODES = ("auto", "published", "tags")


def scale(c: int | float) -> int:
    """256-pixel coordinate -> 224 grid, as the published code does it."""
    return int(GRID * int(c) / SOURCE_SIZE)


def _by_position(bbox: ET.Element) -> list[int]:
    children = list(bbox)[1:5]  # the first child (an annotator id in practice) is skipped
    if len(children) < 4:
        raise ValueError(f"bbox has {len(children) + 1} children, expected 5")
    return [scale(child.text) for child in children]


def _by_tag(bbox: ET.Element) -> list[int]:
    found = [bbox.find(tag) for tag in TAGS]
    if any(f is None for f in found):
        raise ValueError("bbox lacks one of xmin, ymin, xmax, ymax")
    return [scale(f.text) for f in found]


def read_boxes(path: Path, mode: str = "auto") -> list[list[int]]:
    """Boxes [xmin, ymin, xmax, ymax] on the 224 grid of one annotation file.

    mode "published": positional, like the published evaluators; "tags": by child name; "auto":
    by name where a bbox has the named children, positional otherwise.
    """
    if mode not in MODES:
        raise AvcurrError(f"unknown annotation mode {mode!r}; choose one of {', '.join(MODES)}")
    try:
        root = ET.parse(path).getroot()
        boxes = []
        for bbox in root.iter("bbox"):
            use_tags = mode == "tags" or (mode == "auto" and bbox.find("xmin") is not None)
            boxes.append(_by_tag(bbox) if use_tags else _by_position(bbox))
    except (ET.ParseError, ValueError, TypeError, OSError) as exc:
        raise AvcurrError(f"bad annotation file {path}: {exc}") from None
    if not boxes:
        raise AvcurrError(f"annotation file {path} holds no bbox")
    return boxes


def usable_boxes(boxes: list[list[int]], size: int = GRID) -> tuple[list[list[int]], list[str]]:
    """The boxes clipped to the `size` x `size` image, and why any others were set aside.

    A negative coordinate would otherwise index from the far edge (numpy), and a box with
    xmax <= xmin or ymax <= ymin (inverted or empty), or wholly outside the image, marks nothing.
    """
    kept, problems = [], []
    for number, (xmin, ymin, xmax, ymax) in enumerate(boxes, start=1):
        if xmax <= xmin or ymax <= ymin:
            problems.append(f"box {number} ({xmin}, {ymin}, {xmax}, {ymax}) is inverted or empty; ignored")
            continue
        clipped = [min(max(int(c), 0), size) for c in (xmin, ymin, xmax, ymax)]
        if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
            problems.append(f"box {number} ({xmin}, {ymin}, {xmax}, {ymax}) lies outside the image; ignored")
            continue
        kept.append(clipped)
    return kept, problems


def is_plain_name(stem: str) -> bool:
    """Whether `stem` is a bare file name of letters, digits, '_' and '-' (no `/`, no `..`)."""
    try:
        safe_name(stem)
    except AvcurrError:
        return False
    return True


def find_annotation(folder: Path, key: str, ytid: str | None = None) -> Path | None:
    """`<folder>/<key>.xml`, else `<folder>/<ytid>.xml` (real Flickr files are named by id).

    Key and id come from shards (outside data): one that is not a plain name is never used."""
    for stem in (key, ytid):
        if stem and is_plain_name(stem):
            path = Path(folder) / f"{stem}.xml"
            if path.is_file():
                return path
    return None
