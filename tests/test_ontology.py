"""The third-level filter on hand-checked real AudioSet cases (SPEC §1)."""

import pytest

from avcurr.ontology import Ontology, Policy
from avcurr.paths import bundled

ANIMAL, PETS, DOG, BARK = "/m/0jbk", "/m/068hy", "/m/0bt9lr", "/m/05tny_"
BELL, CHURCH_BELL = "/m/0395lw", "/m/03w41f"
HOWL, CANIDAE = "/m/07qf0zm", "/m/01z5f"
SPEECH, HUMAN_VOICE = "/m/09x0r", "/m/09l8g"
CHIRP, BIRD, BRIEF_TONE = "/m/07pggtn", "/m/015p6", "/t/dd000138"


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
