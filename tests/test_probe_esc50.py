"""`avcurr eval esc50` end to end on a small synthetic ESC-50 set, its decoding and padding, and
bad input as one clear line."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from avcurr.audio.spectrogram import LOG_EPS, N_SAMPLES, log_spectrogram_np, to_stored
from avcurr.cli import app
from avcurr.probe.audio import clip_spectrogram, decode_audio
from avcurr.shards.sample import quantise
from avcurr.synth.esc50 import Esc50SynthConfig, synthesize_esc50
from avcurr.train import TrainConfig, train_stage
from avcurr.train.checkpoint import save_checkpoint
from tests.cavl_fixtures import random_batches

runner = CliRunner()


@pytest.fixture(scope="module")
def esc(tmp_path_factory) -> dict:
    """50 synthetic clips (one per category and fold) and a one-step tiny curriculum checkpoint."""
    base = tmp_path_factory.mktemp("esc")
    synthesize_esc50(Esc50SynthConfig(out=base / "esc50", per_fold=1, seed=2))
    train_stage(TrainConfig(run=base / "run", model="tiny", batch_size=4, max_steps=1, device="cpu", threads=1),
                random_batches())
    return {"data": base / "esc50", "checkpoint": base / "run" / "c1" / "checkpoint.pt", "base": base}


def _eval(esc, data=None, checkpoint=None, out=None):
    return runner.invoke(app, ["eval", "esc50", "--checkpoint", str(checkpoint or esc["checkpoint"]),
                               "--data", str(data or esc["data"]), "--out", str(out or esc["base"] / "out"),
                               "--device", "cpu"])


def test_eval_esc50_end_to_end(esc):
    result = _eval(esc)
    assert result.exit_code == 0, result.output
    out = esc["base"] / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_clips"] == 50 and summary["n_classes"] == 10 and summary["chance"] == pytest.approx(0.1)
    assert summary["folds"] == [1, 2, 3, 4, 5] and summary["kind"] == "cavl"
    for name in ("checkpoint", "random_init"):
        per_fold = summary[name]["per_fold"]
        assert set(per_fold) == {"1", "2", "3", "4", "5"}
        assert summary[name]["mean"] == pytest.approx(np.mean(list(per_fold.values())))
    assert "max" in summary["pooling"] and "padded" in summary["padding"]
    assert set(summary["per_class_accuracy"]) >= {"dog", "siren", "drum"}
    with (out / "per_clip.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 50
    # each fold's accuracy is the share of its clips predicted right
    fold1 = [r for r in rows if r["fold"] == "1"]
    assert summary["checkpoint"]["per_fold"]["1"] == pytest.approx(
        np.mean([r["pred_checkpoint"] == r["target"] for r in fold1]))
    assert (out / "per_class.png").stat().st_size > 5000
    assert "ESC-50 linear probe" in result.output


def test_decoding_resamples_to_mono_11025_and_pads_like_the_shards(tmp_path):
    t = np.arange(5 * 44100) / 44100
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 1000 * t)], 1)
    sf.write(tmp_path / "s.wav", stereo, 44100, subtype="PCM_16")
    wave = decode_audio(tmp_path / "s.wav")
    assert wave.dtype == np.float32 and wave.shape == (5 * 11025,)
    # the same samples as the ffmpeg command line's decode (the shards' decoder: SPEC §2)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(tmp_path / "s.wav"), "-ac", "1", "-ar",
                          "11025", "-f", "f32le", "pipe:1"], check=True, capture_output=True).stdout
    assert np.allclose(wave, np.frombuffer(raw, np.float32), atol=1e-6)
    spec = clip_spectrogram(wave)
    expected = to_stored(log_spectrogram_np(quantise(np.pad(wave, (0, N_SAMPLES - wave.size))) / 32768.0))
    assert spec.dtype == np.float16 and spec.shape == (512, 432) and np.array_equal(spec, expected)
    # the padding is silence at the end: the last frames hold nothing but log(1e-10)
    assert np.all(spec[:, 230:] == np.float16(np.log(LOG_EPS)))
    assert spec[:, :200].max() > 0


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_bad_input_is_one_clear_line(esc, tmp_path):
    no_meta = tmp_path / "no_meta"
    shutil.copytree(esc["data"] / "audio", no_meta / "audio")
    assert "has no meta/esc50.csv" in _error_line(_eval(esc, data=no_meta))

    broken = tmp_path / "broken"
    shutil.copytree(esc["data"], broken)
    victim = sorted((broken / "audio").iterdir())[3]
    victim.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(200)))
    line = _error_line(_eval(esc, data=broken))
    assert "cannot decode" in line and victim.name in line

    victim.unlink()
    assert "not found" in _error_line(_eval(esc, data=broken))

    separator = tmp_path / "separator.pt"
    save_checkpoint(separator, {"model_config": {}, "model": {}}, kind="separator")
    assert "has no audio net" in _error_line(_eval(esc, checkpoint=separator))
    assert not (tmp_path / "out").exists()
