"""The third-level filter on hand-checked real AudioSet cases (SPEC §1)."""

import pytest

from avcurr.ontology import Ontology, OntologyClass, Policy
from avcurr.paths import bundled

ANIMAL, PETS, DOG, BARK = "/m/0jbk", "/m/068hy", "/m/0bt9lr", "/m/05tny_"
BELL, CHURCH_BELL = "/m/0395lw", "/m/03w41f"
HOWL, CANIDAE = "/m/07qf0zm", "/m/01z5f"
SPEECH, HUMAN_VOICE = "/m/09x0r", "/m/09l8g"
CHIRP, BIRD, BRIEF_TONE = "/m/07pggtn", "/m/015p6", "/t/dd000138"
CHANT, MANTRA, SINGING, VOCAL_MUSIC = "/m/02bk07", "/m/01c194", "/m/015lz1", "/m/0y4f8"
CLIP_CLOP, HORSE, CLICKING = "/m/07rv9rh", "/m/03k3r", "/m/07qc9xj"


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(bundled("audioset", "ontology.json"))


def test_levels_follow_every_path(ontology):
    assert ontology.levels[ANIMAL] == {1}
    assert ontology.levels[PETS] == {2}
    assert ontology.levels[DOG] == {3}
    assert ontology.levels[BARK] == {4}
    assert ontology.levels[BELL] == {2, 3}          # a DAG: Bell sits at two depths
    assert ontology.levels[CHURCH_BELL] == {3, 4}


def test_animal_dog_bark_is_one_source(ontology):
    assert ontology.sources([ANIMAL, DOG, BARK]) == (DOG,)
    assert ontology.sources([ANIMAL, PETS, BARK], Policy.FIRST) == (DOG,)


def test_bell_at_levels_2_and_3_is_kept(ontology):
    assert ontology.sources([BELL]) == (BELL,)


def test_coarse_labels_alone_give_no_source(ontology):
    assert ontology.sources([ANIMAL, PETS]) == ()
    assert ontology.sources([HUMAN_VOICE]) == ()


def test_level4_label_under_two_level3_parents(ontology):
    # Howl's parents are Dog and "Canidae, dogs, wolves", both level 3.
    assert set(ontology.parents[HOWL]) == {DOG, CANIDAE}
    assert set(ontology.sources([HOWL], Policy.ALL)) == {DOG, CANIDAE}
    first = ontology.sources([HOWL], Policy.FIRST)
    assert len(first) == 1 and first[0] in {DOG, CANIDAE}
    # `first` prefers a level-3 ancestor the clip already has.
    assert ontology.sources([CANIDAE, HOWL], Policy.FIRST) == (CANIDAE,)
    assert ontology.sources([DOG, HOWL], Policy.FIRST) == (DOG,)
    assert set(ontology.sources([DOG, HOWL], Policy.ALL)) == {DOG, CANIDAE}


def test_first_policy_walks_breadth_first(ontology):
    # Chirp, tweet: a direct parent (Brief tone) is level 3, Bird is two steps up.
    assert set(ontology.sources([CHIRP])) == {BIRD, BRIEF_TONE}
    assert ontology.sources([CHIRP], Policy.FIRST) == (BRIEF_TONE,)
    assert ontology.sources([BIRD, CHIRP], Policy.FIRST) == (BIRD,)


def test_duplicate_labels_count_once(ontology):
    assert ontology.sources([SPEECH, SPEECH]) == (SPEECH,)


def test_first_policy_takes_level3_parents_in_ontology_order(ontology):
    # Each has two level-3 parents; `first` takes the one ontology.json lists first, as a
    # breadth-first queue does (a stack would take the last).
    assert ontology.parents[HOWL] == (DOG, CANIDAE)
    assert ontology.sources([HOWL], Policy.FIRST) == (DOG,)
    assert ontology.parents[CHANT] == (SINGING, VOCAL_MUSIC)
    assert ontology.sources([CHANT], Policy.FIRST) == (SINGING,)
    assert ontology.sources([MANTRA], Policy.FIRST) == (SINGING,)      # level 5: two steps up
    assert ontology.parents[CLIP_CLOP] == (HORSE, CLICKING)
    assert ontology.sources([CLIP_CLOP], Policy.FIRST) == (HORSE,)


def _dag(*order: str) -> Ontology:
    """root > mid (level 2) > near, far (level 3); far > deep (level 4); label under near and deep."""
    children = {"root": ("mid",), "mid": ("near", "far"), "far": ("deep",), "near": ("label",),
                "deep": ("label",), "label": ()}
    return Ontology(OntologyClass(c, c, children[c]) for c in order)


def test_first_policy_prefers_the_nearest_level3_ancestor():
    # The label's parents: `near` (level 3, one step) and `deep` (level 4, whose parent `far` is
    # level 3, two steps). Breadth-first finds `near` whichever parent the ontology lists first;
    # a depth-first walk or a stack finds `far` for one of the two orders.
    for order in (("root", "mid", "near", "far", "deep", "label"), ("root", "mid", "far", "deep", "near", "label")):
        dag = _dag(*order)
        assert dag.levels["label"] == {4, 5} and dag.levels["deep"] == {4}
        assert set(dag.sources(["label"], Policy.ALL)) == {"near", "far"}
        assert dag.sources(["label"], Policy.FIRST) == ("near",), order
