"""`avcurr eval separation`: separators on fixed two-source mixtures of test clips, beside the floor
(the mixture itself as the estimate) and the ceiling (the ideal ratio mask on the same projection).

Every method is scored on the same mixtures with mir_eval's bss_eval_sources (see metrics.py).
Writes summary.json, per_mixture.csv (mixture, source, method, sdr, sir, sar), the WAVs of the
first mixtures under separated/ and a PNG of one mixture's spectrograms and masks.
"""

from __future__ import annotations

import csv
import io
import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from avcurr.atomic import atomic_write
from avcurr.audio.spectrogram import HOP, N_SAMPLES
from avcurr.errors import AvcurrError
from avcurr.progress import progress_bar
from avcurr.separation.figures import save_mask_figure, write_wav
from avcurr.separation.metrics import METRICS, is_silent, score_job
from avcurr.separation.mixing import evaluation_pairs
from avcurr.separation.spectra import apply_mask, log_input, projected_magnitude, ratio_masks, stft

if TYPE_CHECKING:
    from rich.console import Console

IDEAL = "ideal_ratio_mask"
FLOOR = "mixture"


@dataclass(frozen=True)
class SeparationEvalConfig:
    """checkpoints: one or more separator checkpoints (e.g. a `centre` and a `mask` one), scored on
    the same mixtures; names: their labels (default: their condition, made unique with the run
    folder's name). shards/dataset/split/curriculum: the test clips. mixtures/seed: how many
    two-source mixtures and which. wavs: mixtures whose WAVs are written. batch_size: mixtures per
    forward pass. workers: processes running bss_eval (the slow part)."""

    checkpoints: tuple[Path, ...]
    shards: Path | str
    out: Path
    dataset: str = "synth"
    split: str = "test"
    curriculum: str = "c1"
    mixtures: int = 100
    seed: int = 0
    names: tuple[str, ...] | None = None
    wavs: int = 3
    batch_size: int = 4
    workers: int = 1
    device: str = "auto"

    def validate(self) -> "SeparationEvalConfig":
        if not self.checkpoints:
            raise AvcurrError("give at least one --checkpoint")
        if self.names is not None and len(self.names) != len(self.checkpoints):
            raise AvcurrError(f"{len(self.names)} names for {len(self.checkpoints)} checkpoints")
        for name, value in (("mixtures", self.mixtures), ("batch-size", self.batch_size), ("workers", self.workers)):
            if value < 1:
                raise AvcurrError(f"--{name} must be at least 1, got {value}")
        if self.wavs < 0:
            raise AvcurrError(f"--wavs must be 0 or more, got {self.wavs}")
        return self


@dataclass
class TestClips:
    """The usable test clips, in memory: waves N x L float32, frames N x 3 x 256 x 256 uint8,
    spectrograms N x 1 x 512 x 432 float16, real lengths."""

    keys: list[str]
    metas: list[dict]
    waves: np.ndarray
    frames: torch.Tensor
    specs: torch.Tensor
    lengths: list[int]
    silent: list[str] = field(default_factory=list)


@dataclass
class SeparationReport:
    summaries: dict[str, dict]                 # method -> {sdr, sir, sar (means), *_median, n}
    rows: list[dict]                           # mixture, source, method, sdr, sir, sar
    pairs: list[tuple[str, str]]
    methods: dict[str, dict]                   # model name -> checkpoint, condition, localizer
    silent: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def load_test_clips(cfg: SeparationEvalConfig) -> TestClips:
    """Every clip of the test split's curriculum (middle frame), silent ones set aside."""
    from avcurr.data import LoaderConfig, make_loader
    from avcurr.data.config import WHOLE_SPLIT

    loader = make_loader(LoaderConfig(root=cfg.shards, dataset=cfg.dataset, split=cfg.split,
                                      curricula=(cfg.curriculum,), batch_size=16, shuffle_buffer=0, epochs=1,
                                      training=False, with_audio=True, **WHOLE_SPLIT))
    keys, metas, waves, frames, specs, lengths, silent = [], [], [], [], [], [], []
    for batch in loader:
        for i, key in enumerate(batch["key"]):
            meta = batch["meta"][i]
            length = int(min(meta.get("n_valid_samples") or N_SAMPLES, N_SAMPLES))
            wave = batch["audio"][i].numpy()
            if is_silent(wave[:length]):
                silent.append(key)
                continue
            keys.append(key)
            metas.append(meta)
            waves.append(wave)
            frames.append((batch["image"][i] * 255).round().to(torch.uint8))
            specs.append(batch["spec"][i].half())
            lengths.append(length)
    where = f"{cfg.shards}/{cfg.dataset}/{cfg.split}/{cfg.curriculum}"
    if len(keys) < 2:
        raise AvcurrError(f"{where} holds {len(keys)} usable clip(s) ({len(silent)} silent); a two-source "
                          "mixture needs at least 2")
    return TestClips(keys, metas, np.stack(waves), torch.stack(frames), torch.stack(specs), lengths, silent)


def _names(cfg: SeparationEvalConfig, states: list[dict]) -> list[str]:
    if cfg.names is not None:
        names = list(cfg.names)
    else:
        names = [s["condition"] for s in states]
        for i, name in enumerate(list(names)):
            if names.count(name) > 1:
                names[i] = f"{name}-{Path(cfg.checkpoints[i]).resolve().parent.parent.name}"
        names = [n if names.count(n) == 1 else f"{n}-{i}" for i, n in enumerate(names)]
    if len(set(names)) != len(names) or {IDEAL, FLOOR} & set(names):
        raise AvcurrError(f"method names must be distinct and not {IDEAL} or {FLOOR}: {names}")
    return names


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def evaluate_separation(cfg: SeparationEvalConfig, console: "Console | None" = None) -> SeparationReport:
    """Score every checkpoint, the floor and the ceiling on `cfg.mixtures` fixed mixtures; write the
    files under cfg.out. Progress goes to `console`."""
    from avcurr.separation.model import separator_from_checkpoint
    from avcurr.train.device import pick_device

    cfg.validate()
    device = pick_device(cfg.device)
    loaded = [separator_from_checkpoint(path, device) for path in cfg.checkpoints]
    names = _names(cfg, [state for _, state in loaded])
    models = dict(zip(names, (model for model, _ in loaded)))
    clips = load_test_clips(cfg)
    pairs = evaluation_pairs(clips.keys, clips.metas, cfg.mixtures, cfg.seed)
    out = Path(cfg.out)
    scores: dict[tuple[int, str], dict] = {}
    with _Scorer(cfg.workers) as scorer, progress_bar(console, "separation", len(pairs)) as bar:
        for chunk in _chunks(len(pairs), cfg.batch_size):
            for job in _separate_chunk(cfg, clips, pairs, chunk, models, device, out):
                scorer.submit(job)
            scores.update(scorer.collect(keep=len(chunk) * (len(models) + 2)))
            bar.update(chunk.stop, info=f"{chunk.stop} mixtures")
        scores.update(scorer.collect(keep=0))
    rows = [{"mixture": m, "source": k, "method": method,
             **{name: round(float(scores[(m, method)][name][k]), 4) for name in METRICS}}
            for m in range(len(pairs)) for method in (*names, IDEAL, FLOOR) for k in range(2)]
    report = SeparationReport(
        summaries=summarise(rows, (*names, IDEAL, FLOOR)), rows=rows,
        pairs=[(clips.keys[a], clips.keys[b]) for a, b in pairs],
        methods={n: {"checkpoint": str(p), "condition": s["condition"], "localizer": s.get("localizer"),
                     "step": s.get("step")} for n, p, (_, s) in zip(names, cfg.checkpoints, loaded)},
        silent=clips.silent)
    report.files = _write(out, report, cfg)
    return report


@torch.no_grad()
def _separate_chunk(cfg, clips: TestClips, pairs, chunk: range, models: dict, device, out: Path):
    """bss_eval jobs ((mixture, method), references, estimates, length) of the mixtures in `chunk`;
    the first `cfg.wavs` mixtures also get their WAVs (and mixture 0 its figure) written."""
    index = torch.tensor([pairs[m] for m in chunk])                       # B x 2 clip indices
    refs = torch.from_numpy(clips.waves[index.numpy()]).to(device)        # B x 2 x L
    mix = refs.sum(1)
    mix_stft = stft(mix)
    proj_sources, proj_mix = projected_magnitude(refs), projected_magnitude(mix)
    masks = {IDEAL: ratio_masks(proj_sources, proj_mix)}
    frames = (clips.frames[index].float() / 255).to(device)
    specs = clips.specs[index].float().to(device)
    for name, model in models.items():
        masks[name] = model(log_input(proj_mix)[:, None], frames, specs)
    estimates = {name: apply_mask(m, mix_stft[:, None], N_SAMPLES) for name, m in masks.items()}
    estimates[FLOOR] = mix[:, None].expand(-1, 2, -1)
    refs_np = refs.cpu().numpy()
    first = next(iter(models))
    for row, m in enumerate(chunk):
        a, b = pairs[m]
        length = max(clips.lengths[a], clips.lengths[b])
        for method, est in estimates.items():
            yield (m, method), refs_np[row], est[row].cpu().numpy(), length
        if m < cfg.wavs:
            _write_wavs(out / "separated", m, mix[row].cpu().numpy(), refs_np[row],
                        estimates[first][row].cpu().numpy(), length)
        if m == 0:
            _figure(out / "spectrograms.png", proj_mix[row], proj_sources[row, 0], masks[first][row, 0],
                    masks[IDEAL][row, 0], estimates[first][row, 0], first, clips.keys[a], length // HOP + 1)


def _write_wavs(folder: Path, m: int, mix: np.ndarray, refs: np.ndarray, ests: np.ndarray, length: int) -> None:
    write_wav(folder / f"{m}_mixture.wav", mix[:length])
    for k in range(2):
        write_wav(folder / f"{m}_{k}_reference.wav", refs[k, :length])
        write_wav(folder / f"{m}_{k}_estimate.wav", ests[k, :length])


def _figure(path: Path, mix, reference, mask, ideal, estimate, method: str, key: str, frames: int) -> None:
    """The panels of one source, cut to the frames of real audio."""
    est_proj = projected_magnitude(estimate)
    logs = [log_input(x)[:, :frames].cpu().numpy() for x in (mix, est_proj, reference)]
    masks = [m[:, :frames].cpu().numpy() for m in (mask, ideal)]
    save_mask_figure(path, [("mixture", logs[0], "log"), (f"mask ({method})", masks[0], "mask"),
                            (f"estimate ({method})", logs[1], "log"), ("reference", logs[2], "log"),
                            ("ideal ratio mask", masks[1], "mask")],
                     f"mixture 0, source 0 ({key}): log-frequency magnitude and masks")


def summarise(rows: list[dict], methods) -> dict[str, dict]:
    """Per method: mean and median of SDR, SIR, SAR over every (mixture, source), and their count."""
    out = {}
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        stats: dict = {"n": len(mine)}
        for name in METRICS:
            values = np.array([r[name] for r in mine], dtype=np.float64)
            finite = values[np.isfinite(values)]
            stats[name] = round(float(finite.mean()), 3) if finite.size else math.nan
            stats[f"{name}_median"] = round(float(np.median(finite)), 3) if finite.size else math.nan
        out[method] = stats
    return out


def _write(out: Path, report: SeparationReport, cfg: SeparationEvalConfig) -> dict[str, Path]:
    files = {"summary": out / "summary.json", "per_mixture": out / "per_mixture.csv"}
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, ["mixture", "source", "method", *METRICS])
    writer.writeheader()
    writer.writerows(report.rows)
    atomic_write(files["per_mixture"], text.getvalue())
    summary = {"methods": report.summaries, "models": report.methods,
               "mixtures": [{"mixture": m, "source_0": a, "source_1": b} for m, (a, b) in enumerate(report.pairs)],
               "silent_clips_skipped": report.silent,
               "settings": {"dataset": cfg.dataset, "split": cfg.split, "curriculum": cfg.curriculum,
                            "mixtures_asked": cfg.mixtures, "seed": cfg.seed}}
    atomic_write(files["summary"], json.dumps(summary, indent=2, default=str) + "\n")
    for name, path in (("wavs", out / "separated"), ("figure", out / "spectrograms.png")):
        if path.exists():
            files[name] = path
    return files


class _Scorer:
    """Runs bss_eval jobs in this process or in `workers` processes, keeping few jobs in flight."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None
        self.pending: list = []
        self.done: dict = {}

    def __enter__(self) -> "_Scorer":
        if self.workers > 1:
            import multiprocessing

            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, job: tuple) -> None:
        if self.pool is None:
            tag, scores = score_job(job)
            self.done[tag] = scores
        else:
            self.pending.append(self.pool.submit(score_job, job))

    def collect(self, keep: int) -> dict:
        """Results finished so far, waiting until at most `keep` jobs are still in flight."""
        while len(self.pending) > keep:
            tag, scores = self.pending.pop(0).result()
            self.done[tag] = scores
        done, self.done = self.done, {}
        return done
