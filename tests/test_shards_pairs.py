"""build-shards --pairs on a generated SoundNet-Flickr style folder, then eval localization on it."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from typer.testing import CliRunner

from avcurr.cli import app
from avcurr.shards.verify import verify
from shards_fixtures import ffmpeg

runner = CliRunner()
L = 110336
# id -> (audio seconds, audio format, what it checks)
PAIRS = {"2432219254": (12.0, "wav", "cut to L"), "1000140584": (4.0, "wav", "padded"),
         "3512834117": (10.0, "mp3", "mp3 copies"), "4811116345": (None, None, "no audio: missing")}


def _xml(box) -> str:
    xmin, ymin, xmax, ymax = box
    return (f"<annotation><object><bbox><annotator>0</annotator><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bbox></object></annotation>")


@pytest.fixture(scope="module")
def flickr(tmp_path_factory):
    """frames/<id>.jpg (320x240: scaled, not cropped), audio/<id>.wav|.mp3, Annotations/<id>.xml."""
    base = tmp_path_factory.mktemp("flickr")
    for sub in ("frames", "audio", "Annotations"):
        (base / sub).mkdir()
    for i, (ident, (seconds, kind, _)) in enumerate(PAIRS.items()):
        image = np.zeros((240, 320, 3), np.uint8)
        image[60:180, 80 + 40 * i:200 + 40 * i] = (255, 40 * i, 0)
        Image.fromarray(image).save(base / "frames" / f"{ident}.jpg", quality=95)
        (base / "Annotations" / f"{ident}.xml").write_text(_xml((64 + 32 * i, 64, 160 + 32 * i, 192)))
        if seconds is None:
            continue
        rate = 22050
        wave = 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * np.arange(int(seconds * rate)) / rate)
        sf.write(base / "audio" / f"{ident}.wav", wave, rate, subtype="PCM_16")
        if kind == "mp3":
            ffmpeg("-i", str(base / "audio" / f"{ident}.wav"), "-c:a", "libmp3lame", str(base / "audio" / f"{ident}.mp3"))
            (base / "audio" / f"{ident}.wav").unlink()
    out = base / "shards"
    result = runner.invoke(app, ["build-shards", "--pairs", str(base), "--out", str(out), "--dataset", "flickr",
                                 "--split", "test", "--workers", "2", "--no-progress"])
    return base, out, result


def _samples(out):
    samples = {}
    for tar in out.glob("flickr/test/c1/*.tar"):
        with tarfile.open(tar) as handle:
            for m in handle.getmembers():
                key, _, ext = m.name.partition(".")
                samples.setdefault(key, {})[ext] = handle.extractfile(m).read()
    return samples


def test_pairs_become_c1_samples_keyed_by_id(flickr):
    base, out, result = flickr
    assert result.exit_code == 0, result.output
    assert "failed: missing" in result.output and "samples written to c1" in result.output
    samples = _samples(out)
    assert set(samples) == {i for i, (s, _, _) in PAIRS.items() if s is not None}
    for key, members in samples.items():
        meta = json.loads(members["json"])
        assert meta["key"] == key == meta["ytid"] and meta["curriculum"] == "c1"
        assert members["f0.jpg"] == members["f1.jpg"] == members["f2.jpg"]
        frame = np.asarray(Image.open(io.BytesIO(members["f0.jpg"])))
        assert frame.shape == (256, 256, 3)
        wave, rate = sf.read(io.BytesIO(members["flac"]), dtype="float32")
        assert rate == 11025 and wave.size == L
        seconds = PAIRS[key][0]
        assert meta["n_valid_samples"] == pytest.approx(min(L, seconds * 11025), abs=1200)  # mp3 adds a little
        assert not wave[meta["n_valid_samples"]:].any()
    # not cropped: the red box keeps its place relative to the image (x 80..200 of 320 -> 64..160 of 256)
    red = np.asarray(Image.open(io.BytesIO(samples["2432219254"]["f0.jpg"]))).astype(int)
    cols = np.where(red[128, :, 0] > 128)[0]
    assert abs(cols.min() - 64) <= 2 and abs(cols.max() - 159) <= 2
    assert verify(out).ok


def test_eval_localization_runs_on_the_pairs_unchanged(flickr, tmp_path):
    import torch

    from avcurr.localize import LocalizationConfig, evaluate_localization
    from avcurr.train import TrainConfig, train_stage
    from tests.cavl_fixtures import random_batches

    base, out, _ = flickr
    torch.manual_seed(0)
    train_stage(TrainConfig(run=tmp_path / "run", model="tiny", batch_size=2, max_steps=1,
                            device="cpu", threads=1), random_batches(batch=2))
    report = evaluate_localization(LocalizationConfig(
        checkpoint=tmp_path / "run" / "c1" / "checkpoint.pt", shards=out, annotations=base / "Annotations",
        out=tmp_path / "eval", dataset="flickr", split="test", overlays=1, device="cpu"))
    assert sorted(r["key"] for r in report.rows) == sorted(i for i, (s, _, _) in PAIRS.items() if s is not None)
    assert not report.missing and (tmp_path / "eval" / "summary.json").is_file()
    assert {"model"} <= set(report.summaries)
