"""The object categories of the synthetic world: a look, a sound and a real AudioSet class each.

Every class id is a real AudioSet class whose depth set includes 3, so the third-level filter
(SPEC §1) keeps it as one source. Looks differ in shape, colour and texture together; sounds are
chosen so that some categories overlap in frequency (keyboard/guitar around 200-1000 Hz,
siren/flute/cat around 600-1500 Hz, bird/clock around 2-4.5 kHz): separation is not trivial.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from avcurr.ontology import SOURCE_LEVEL, Ontology
from avcurr.paths import bundled


@dataclass(frozen=True)
class Category:
    name: str          # slug used in file names and MUSIC-style JSON
    display: str       # human name, used in AVE-style rows
    class_id: str      # AudioSet level-3 class
    shape: str         # see render.SHAPES
    colour: tuple[int, int, int]
    texture: str       # see render.TEXTURES
    sound: str         # see sound.SOUNDS
    pitch: float       # the category's base frequency in Hz (each clip jitters it a little)


CATALOGUE: tuple[Category, ...] = (
    Category("dog", "Dog", "/m/0bt9lr", "ellipse", (150, 85, 30), "spots", "bark", 480.0),
    Category("cat", "Cat", "/m/01yrx", "triangle", (235, 235, 240), "hstripes", "meow", 650.0),
    Category("bird", "Bird", "/m/015p6", "diamond", (30, 160, 235), "checker", "chirp", 3200.0),
    Category("bell", "Bell", "/m/0395lw", "bell", (245, 200, 20), "rings", "bell", 880.0),
    Category("siren", "Siren", "/m/03kmc9", "star", (230, 25, 35), "solid", "siren", 900.0),
    Category("clock", "Clock", "/m/01x3z", "ring", (225, 60, 160), "radial", "tick", 2800.0),
    Category("keyboard", "Keyboard (musical)", "/m/05148p4", "rect", (20, 20, 25), "vstripes",
             "keys", 262.0),
    Category("guitar", "Plucked string instrument", "/m/0fx80y", "hexagon", (250, 120, 10),
             "dstripes", "pluck", 196.0),
    Category("drum", "Percussion", "/m/0l14md", "cross", (140, 40, 190), "dots", "drum", 70.0),
    Category("flute", "Wind instrument, woodwind instrument", "/m/085jw", "capsule", (20, 190, 80),
             "gradient", "flute", 700.0),
)

BY_NAME = {c.name: c for c in CATALOGUE}


@lru_cache(maxsize=1)
def ontology() -> Ontology:
    return Ontology.load(bundled("audioset", "ontology.json"))


def coarse_labels(category: Category) -> tuple[str, ...]:
    """Ancestors of the category's class that are too coarse to count (every depth below 3).

    Real AudioSet rows carry such parents (`Animal`, `Music`), and the filter must drop them; writing
    them exercises that path.
    """
    onto = ontology()
    found: list[str] = []
    todo = list(onto.parents[category.class_id])
    while todo:
        cid = todo.pop(0)
        if cid not in found and max(onto.levels[cid]) < SOURCE_LEVEL:
            found.append(cid)
            todo.extend(onto.parents[cid])
    return tuple(sorted(found, key=onto.order.__getitem__))


def labels_for(category: Category) -> tuple[str, ...]:
    """The AudioSet labels a clip with this sounding category carries: its class and coarse parents."""
    return (category.class_id, *coarse_labels(category))


def check_catalogue() -> None:
    """Assert that every class is real, at depth 3, and counted as exactly one source."""
    onto = ontology()
    for cat in CATALOGUE:
        assert cat.class_id in onto, f"{cat.name}: {cat.class_id} not in the ontology"
        assert SOURCE_LEVEL in onto.levels[cat.class_id], f"{cat.name}: {cat.class_id} not level 3"
        assert onto.sources(labels_for(cat)) == (cat.class_id,), f"{cat.name}: counted wrongly"
    assert len({c.class_id for c in CATALOGUE}) == len(CATALOGUE)
