"""Localization rules on hand-made feature maps: the readouts, the unrelated centre, the per-object
scoring, and which rule a checkpoint makes evaluation use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.localize.heatmap import (Embedded, cluster, distance_source_maps, neighbourhood_mean, rule_source_maps,
                                     unrelated_index, unrelated_maps)
from avcurr.localize.objects import BACKGROUND, SceneObject, score_clip, summarise_objects, truth_objects
from avcurr.localize.rules import DEFAULT_RULE, PAPER_RULE, LocalizationRule, resolve_rule, rule_of_checkpoint
from avcurr.models import CAVL, CAVLOutput, Clusters, preset

BACKGROUND_V, SOUNDING_V, SILENT_V = (0.0, 0.0), (3.0, 0.0), (2.5, 2.5)


def scene(size: int = 8, silent=SILENT_V) -> torch.Tensor:
    """A size x size visual feature map of 2-D vectors: background everywhere, the sounding object in
    the top-left 3 x 3 block, a silent object (by default farther from the background than the
    sounding one is) in the bottom-right 3 x 3 block; as 1 x N x 2."""
    fmap = torch.tensor(BACKGROUND_V).repeat(size, size, 1)
    fmap[:3, :3] = torch.tensor(SOUNDING_V)
    fmap[-3:, -3:] = torch.tensor(silent)
    fmap += 0.01 * torch.randn(size, size, 2, generator=torch.Generator().manual_seed(0))
    return fmap.reshape(1, size * size, 2)


def embedded(audio_at=(2.9, 0.1), size: int = 8, silent=SILENT_V) -> Embedded:
    audio = torch.tensor(audio_at).repeat(1, 6, 1) + 0.01 * torch.randn(1, 6, 2, generator=torch.Generator().manual_seed(1))
    return Embedded(audio=audio, audio_grid=(2, 3), visual=scene(size, silent), visual_grid=(size, size))


@pytest.fixture(scope="module")
def model():
    return CAVL(preset("tiny")).eval()      # only its soft K-means (beta, EM iterations) is used here


def test_distance_readout_peaks_at_the_location_nearest_the_audio_centre():
    visual = torch.zeros(1, 16, 2)
    visual[0, 9] = torch.tensor([1.0, 1.0])          # the one location at the audio centre
    visual[0, 3] = torch.tensor([0.8, 0.8])          # close, but farther
    maps = distance_source_maps(visual, torch.tensor([[[1.0, 1.0]]]), (4, 4))
    assert maps.shape == (1, 1, 4, 4)
    assert int(maps.flatten().argmax()) == 9 and maps.max() == 1 and maps.min() == 0
    assert maps[0, 0].flatten()[3] > maps[0, 0].flatten()[0]   # ordered by distance


def test_distance_readout_ignores_a_silent_object_the_paper_rule_falls_for(model):
    emb = embedded()
    distance = rule_source_maps(model, emb, 1, LocalizationRule("distance", 1))[0, 0]
    y, x = divmod(int(distance.argmax()), 8)
    assert y < 3 and x < 3                                     # inside the sounding block
    assert distance[-3:, -3:].max() < distance[:3, :3].min()   # the silent object scores below it
    # eq. 7 with k_v = 2 has one centre for "not background": the map covers both objects, so the
    # silent block is as hot as the sounding one there. Told k_v = 3, it has a centre of its own.
    paper = rule_source_maps(model, emb, 1, PAPER_RULE)[0, 0]
    told = rule_source_maps(model, emb, 1, PAPER_RULE, visual_centres=3)[0, 0]
    assert paper[-3:, -3:].mean() > 0.5
    assert told[-3:, -3:].max() < 0.1 and told[:3, :3].min() > 0.9


def test_neighbourhood_mean_prefers_the_middle_of_an_object_to_a_lone_edge_cell():
    maps = torch.zeros(1, 1, 8, 8)
    maps[0, 0, 0, 7] = 1.0                      # one cell at the frame's corner, nearest of all
    maps[0, 0, 3:6, 2:5] = 0.9                  # an object: a 3 x 3 block just less near
    assert int(maps.flatten().argmax()) == 7
    smoothed = neighbourhood_mean(maps, 3)[0, 0]
    assert divmod(int(smoothed.argmax()), 8) == (4, 3) and smoothed[4, 3] == pytest.approx(0.9)
    assert smoothed[0, 7] == pytest.approx(1 / 9)   # outside the frame counts as no evidence
    assert torch.equal(neighbourhood_mean(maps, 1), maps)


def test_cross_readout_is_the_assignment_to_the_audio_centre(model):
    maps = rule_source_maps(model, embedded(), 1, LocalizationRule("cross", 2))[0, 0]
    assert maps.shape == (8, 8) and maps[:3, :3].min() > 0.9 and maps[-3:, -3:].max() < 0.1


def test_the_default_rule_points_at_the_location_nearest_the_audio_centre(model):
    """The chosen readout (cross, k_v = k_a + 1, 3 x 3 mean) on a hand-made scene whose silent
    object lies nearer the background than the sound: the peak is the middle of the sounding block
    (the neighbourhood nearest the audio centre), and the silent object stays dark; when the audio
    sounds like the other object, the peak moves there."""
    assert DEFAULT_RULE.readout == "cross" and DEFAULT_RULE.extra_visual == 1 and DEFAULT_RULE.smooth == 3
    maps = rule_source_maps(model, embedded(silent=(0.0, 2.5)), 1, DEFAULT_RULE)[0, 0]
    assert divmod(int(maps.argmax()), 8) == (1, 1)
    assert maps[-3:, -3:].max() < 0.2 * maps.max()
    maps = rule_source_maps(model, embedded(audio_at=(0.1, 2.4), silent=(0.0, 2.5)), 1, DEFAULT_RULE)[0, 0]
    assert divmod(int(maps.argmax()), 8) == (6, 6) and maps[1, 1] < 0.01


def test_unrelated_centre_is_the_one_farthest_from_every_audio_centre():
    centres_v = torch.tensor([[[0.0, 0.0], [5.0, 0.0], [1.0, 0.0]]])
    weights = torch.eye(3)[torch.tensor([0, 1, 2, 0])][None]            # 4 locations (2 x 2)
    out = CAVLOutput(audio=Clusters(torch.tensor([[[1.2, 0.0], [0.1, 0.0]]]), torch.ones(1, 6, 2) / 2, (2, 3)),
                     visual=Clusters(centres_v, weights, (2, 2)))
    assert unrelated_index(out).tolist() == [1]                          # 3.8 from its nearest audio centre
    assert unrelated_maps(out)[0].flatten().tolist() == [0, 1, 0, 0]


def test_unrelated_map_with_one_source_is_the_background_centre(model):
    out = cluster(model, embedded(), 1, 2)
    unrelated = unrelated_maps(out)[0]
    assert unrelated[3:5, 3:5].min() > 0.9 and unrelated[:3, :3].max() < 0.1


def two_objects() -> list[SceneObject]:
    return [SceneObject((0, 0, 10, 10), True), SceneObject((20, 0, 30, 10), True), SceneObject((0, 20, 10, 30), False)]


def spot(y: int, x: int, size: int = 32) -> np.ndarray:
    m = np.zeros((size, size))
    m[y, x] = 1
    return m


def test_per_object_scoring_by_hand():
    objects = two_objects()
    both = score_clip(np.stack([spot(5, 5), spot(5, 25)]), objects)
    assert both["targets"] == [0, 1] and both["each_different"] and both["found"] == 2
    same = score_clip(np.stack([spot(5, 5), spot(2, 2)]), objects)
    assert same["targets"] == [0, 0] and not same["each_different"] and same["found"] == 1
    silent = score_clip(np.stack([spot(5, 5), spot(25, 5)]), objects)
    assert silent["targets"] == [0, 2] and silent["on_silent"] == 1 and not silent["each_different"]
    lost = score_clip(np.stack([spot(31, 31), spot(5, 25)]), objects)
    assert lost["targets"] == [BACKGROUND, 1] and lost["on_background"] == 1
    s = summarise_objects([both, same, silent, lost], [2, 2, 2, 2])
    assert s["each_different"] == 0.25 and s["on_sounding"] == 6 / 8 and s["on_silent"] == 1 / 8
    assert s["on_background"] == 1 / 8 and s["recall"] == (2 + 1 + 1 + 1) / 8 and s["n"] == 4


def test_truth_objects_take_the_middle_frame_and_scale_to_the_grid():
    boxes = [[0, 0, 10, 10]] * 8
    boxes[4] = [128, 64, 192, 128]                    # frame 4 of 8 is the scored one
    truth = {"key": "k", "width": 256, "height": 256, "n_frames": 8, "flickr": {"frame": 4},
             "objects": [{"category": "dog", "sounding": True, "boxes": boxes},
                         {"category": "bell", "sounding": False, "boxes": [[0, 0, 32, 32]] * 8}]}
    objs = truth_objects(truth, 128)
    assert objs[0].box == (64, 32, 96, 64) and objs[0].sounding and not objs[1].sounding
    with pytest.raises(AvcurrError, match="lacks object boxes"):
        truth_objects({"key": "k", "width": 256}, 128)


def test_rule_record_decides_and_an_unrecorded_checkpoint_gets_the_paper_rule():
    assert rule_of_checkpoint({}) == (PAPER_RULE, False)
    recorded = {"localization_rule": {"readout": "distance", "extra_visual": 3, "smooth": 3, "train_extra_visual": 2}}
    assert rule_of_checkpoint(recorded) == (LocalizationRule("distance", 3, 3, 2), True)
    rule, source = resolve_rule({})
    assert rule == PAPER_RULE and "paper's rule" in source
    rule, source = resolve_rule(recorded, extra_visual=1)
    assert rule == LocalizationRule("distance", 1, 3, 2) and source.startswith("readout given")
    assert rule.same_readout(LocalizationRule("distance", 1, 3, 1)) and not rule.same_readout(PAPER_RULE)
    older = rule_of_checkpoint({"localization_rule": {"readout": "cross", "extra_visual": 2}})[0]
    assert older.smooth == 1 and older.train_extra_visual == 1
    with pytest.raises(AvcurrError, match="unknown readout"):
        LocalizationRule("attention", 1)
    with pytest.raises(AvcurrError, match=">= 1"):
        LocalizationRule("assignment", 0)
    with pytest.raises(AvcurrError, match="odd"):
        LocalizationRule("assignment", 1, 2)
