"""The SoundNet-Flickr protocol pieces against hand-computed cases, and the XML readers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.localize.annotations import find_annotation, read_boxes, scale
from avcurr.localize.baselines import score_baselines
from avcurr.localize.heatmap import aligned_maps, upsample
from avcurr.localize.metrics import (THRESHOLDS, auc, binarise, ciou, ground_truth, pointing_hit,
                                     success_curve, summarise)
from avcurr.models import CAVLOutput, Clusters
from avcurr.synth.formats import flickr_xml


def test_ground_truth_is_the_half_sum_capped_at_one():
    g = ground_truth([[0, 0, 4, 4], [2, 2, 6, 6], [2, 2, 3, 3]], size=8)
    assert g[0, 0] == 0.5            # one annotator
    assert g[2, 3] == 1.0            # two annotators
    assert g[2, 2] == 1.0            # three, capped
    assert g[7, 7] == 0.0
    assert g.sum() == pytest.approx(0.5 * (16 + 16 - 4 - 4 + 0) + 1.0 * 4)  # 12 single + 4 shared (1 capped)


def test_binarise_keeps_pixels_strictly_above_the_median():
    heat = np.arange(16, dtype=float).reshape(4, 4)
    assert binarise(heat).sum() == 7          # values 9..15 are above sorted[8] = 8
    assert binarise(np.ones((4, 4))).sum() == 0


def test_ciou_by_hand():
    g = np.zeros((4, 4))
    g[0, :2] = 1.0
    g[1, :2] = 0.5                            # sum g = 3
    pred = np.zeros((4, 4), bool)
    pred[0, :] = True                         # covers g 1 + 1, and two pixels where g = 0
    assert ciou(pred, g) == pytest.approx(2.0 / (3.0 + 2))


def test_success_curve_and_auc():
    assert THRESHOLDS[0] == 0 and THRESHOLDS[-1] == 1 and len(THRESHOLDS) == 21
    assert auc(np.ones(5)) == pytest.approx(1.0)
    assert auc(np.zeros(5)) == pytest.approx(0.025)            # only t = 0 succeeds: one half-trapezoid
    curve = success_curve(np.array([0.0, 0.5, 1.0]))
    assert curve[0] == 1 and curve[10] == pytest.approx(2 / 3) and curve[20] == pytest.approx(1 / 3)
    s = summarise([0.2, 0.6, 0.7, 0.4], [True, False, True, True])
    assert s["ciou_at_0.5"] == 0.5 and s["pointing"] == 0.75 and s["n"] == 4
    assert s["mean_ciou"] == pytest.approx(0.475)


def test_pointing_game_uses_the_maximum_and_the_centroid_of_ties():
    g = ground_truth([[0, 0, 2, 2], [0, 0, 2, 2]], size=8)
    heat = np.zeros((8, 8))
    heat[1, 1] = 1
    assert pointing_hit(heat, g)
    heat[1, 1], heat[6, 6] = 0, 1
    assert not pointing_hit(heat, g)
    assert not pointing_hit(np.ones((8, 8)), g)                  # a flat map points at the centre


def test_baselines_on_a_centred_box():
    size = 224
    box = [56, 56, 168, 168]                 # a quarter of the frame, centred, all annotators agree
    g = ground_truth([box, box, box])
    scores = score_baselines(g, np.random.default_rng(0))
    assert scores["whole_image"][0] == pytest.approx(0.25, abs=1e-3)
    assert scores["centre_gaussian"][0] == pytest.approx(0.25 / 0.5, abs=0.02)  # disc of half the frame
    assert scores["centre_gaussian"][1] and scores["whole_image"][1]
    assert scores["random"][0] == pytest.approx(0.125 / (0.25 + 0.375), abs=0.02)
    assert g.shape == (size, size)


def _write(path, text):
    path.write_text(text)
    return path


def test_synthetic_xml_reads_the_same_both_ways(tmp_path):
    truth = {"key": "abc_0", "flickr": {"boxes": [
        {"annotator": 1, "category": "dog", "box": [10, 20, 200, 256]},
        {"annotator": 2, "category": "dog", "box": [12, 18, 198, 250]}]}}
    path = _write(tmp_path / "abc_0.xml", flickr_xml(truth))
    published, tags = read_boxes(path, "published"), read_boxes(path, "tags")
    assert published == tags == [[scale(10), scale(20), scale(200), 224], [scale(12), scale(18), scale(198), scale(250)]]
    assert scale(200) == int(224 * 200 / 256) == 175
    assert read_boxes(path) == published


def test_real_style_xml_is_read_by_position(tmp_path):
    # Real files: each bbox's first child is skipped; the next four are the coordinates.
    text = ("<annotation><object><bbox><id>7</id><a>0</a><b>32</b><c>128</c><d>256</d></bbox></object>"
            "<object><bbox><id>8</id><a>64</a><b>64</b><c>192</c><d>192</d></bbox></object></annotation>")
    path = _write(tmp_path / "123.xml", text)
    assert read_boxes(path) == [[0, 28, 112, 224], [56, 56, 168, 168]]
    with pytest.raises(AvcurrError, match="lacks one of xmin"):
        read_boxes(path, "tags")
    assert find_annotation(tmp_path, "123_0", "123") == path
    assert find_annotation(tmp_path, "nope_0", None) is None


def test_bad_annotation_files_are_one_line_errors(tmp_path):
    with pytest.raises(AvcurrError, match="bad annotation file"):
        read_boxes(_write(tmp_path / "a.xml", "<annotation><bbox>"))
    with pytest.raises(AvcurrError, match="holds no bbox"):
        read_boxes(_write(tmp_path / "b.xml", "<annotation/>"))
    with pytest.raises(AvcurrError, match="unknown annotation mode"):
        read_boxes(tmp_path / "b.xml", "fancy")


def test_eq7_picks_the_visual_centre_nearest_the_audio_centre():
    # One sample, visual grid 1 x 2: centre 0 far from the audio centre, centre 1 on it.
    weights = torch.tensor([[[0.9, 0.1], [0.2, 0.8]]])           # B x N x kv
    visual = Clusters(centres=torch.tensor([[[5.0, 5.0], [0.0, 1.0]]]), weights=weights, grid=(1, 2))
    audio = Clusters(centres=torch.tensor([[[0.0, 0.0]]]), weights=torch.ones(1, 4, 1), grid=(2, 2))
    maps = aligned_maps(CAVLOutput(audio=audio, visual=visual))
    assert torch.allclose(maps, torch.tensor([[[0.1, 0.8]]]))
    assert upsample(maps, 224).shape == (1, 224, 224)
