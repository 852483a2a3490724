"""`train_stage`: one curriculum stage, read top to bottom (nanoGPT style).

    set up model + optimiser (resume / stage k-1 / --init / scratch)
    for each batch: forward -> S_av for all pairs -> contrastive loss -> step
        every log_every steps: a metrics row; every ckpt_every steps: an atomic checkpoint
    final checkpoint, CSV, curves, summary
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import torch

from avcurr.atomic import atomic_write
from avcurr.errors import AvcurrError
from avcurr.models import CAVL, alignment_scores, clusters_for_stage, contrastive_loss, preset
from avcurr.train.checkpoint import NAME, check_same_model, load_checkpoint, save_checkpoint
from avcurr.train.config import TrainConfig
from avcurr.train.device import autocast, needs_scaler, pick_device, to_device
from avcurr.train.metrics import MetricsLog
from avcurr.train.progress import training_progress


@dataclass
class TrainSummary:
    stage: int
    steps: int
    samples: int
    started_from: str
    seconds: float
    samples_per_s: float
    last: dict
    checkpoint: Path
    metrics_csv: Path | None
    curves: Path | None
    stopped_by: str


def loader_batches(cfg: TrainConfig, step: int) -> Iterator[dict]:
    """Endless shuffled batches of the stage's shards; the seed moves with the step on resume, so a
    resumed run does not replay the order it already saw."""
    from avcurr.data import LoaderConfig, make_loader

    if cfg.shards is None:
        raise AvcurrError("--shards is required (the folder that holds <dataset>/<split>/c<k>/)")
    loader = LoaderConfig(root=Path(cfg.shards), dataset=cfg.dataset, split=cfg.split,
                          curricula=(f"c{cfg.stage}",), batch_size=cfg.batch_size,
                          shuffle_buffer=cfg.shuffle_buffer, num_workers=cfg.num_workers,
                          seed=cfg.seed + step, epochs=None, training=True, drop_last=True,
                          pin_memory=True)
    return iter(make_loader(loader))


def steps_per_epoch(cfg: TrainConfig) -> int:
    """Full batches in one pass over the stage's shards (from the shards' own stats)."""
    from avcurr.data import LoaderConfig, count_samples

    n = count_samples(LoaderConfig(root=Path(cfg.shards), dataset=cfg.dataset, split=cfg.split,
                                   curricula=(f"c{cfg.stage}",)))
    if n < cfg.batch_size:
        raise AvcurrError(f"c{cfg.stage} holds {n} samples, fewer than --batch-size {cfg.batch_size}")
    return n // cfg.batch_size


def _start(cfg: TrainConfig, model: CAVL, optimiser, device) -> tuple[dict | None, str]:
    """Resume this stage, or take weights from --init / stage k-1; say which."""
    mine = cfg.stage_dir() / NAME
    if mine.is_file():
        state = load_checkpoint(mine, device)
        check_same_model(state, model.cfg, mine)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimizer"])
        return state, f"resumed at step {state['step']}"
    source = Path(cfg.init) if cfg.init else cfg.stage_dir(cfg.stage - 1) / NAME
    if cfg.init or (cfg.stage > 1 and source.is_file()):
        state = load_checkpoint(source, device)
        check_same_model(state, model.cfg, source)
        model.load_state_dict(state["model"])
        return None, f"weights of {source}"
    return None, "scratch"


def _state(model, optimiser, cfg: TrainConfig, step: int, samples: int, lr: float) -> dict:
    return {"model_config": model.cfg.to_dict(), "model": model.state_dict(),
            "optimizer": optimiser.state_dict(), "stage": cfg.stage, "step": step, "samples": samples,
            "lr": lr, "torch_rng": torch.get_rng_state(),
            "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}}


def train_stage(cfg: TrainConfig, batches: Iterable[dict] | None = None) -> TrainSummary:
    """Train curriculum stage `cfg.stage`; `batches` replaces the shard loader (tests, other data)."""
    cfg.validate()
    device = pick_device(cfg.device)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = CAVL(preset(cfg.model)).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    lr = cfg.lr if cfg.lr is not None else model.cfg.lr_for_stage(cfg.stage)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    resumed, started_from = _start(cfg, model, optimiser, device)
    for group in optimiser.param_groups:  # a resumed optimiser would keep its saved lr otherwise
        group["lr"] = lr
    step = resumed["step"] if resumed else 0
    samples = resumed["samples"] if resumed else 0
    if resumed:
        torch.set_rng_state(resumed["torch_rng"].cpu())
    max_steps = cfg.max_steps
    per_epoch = None
    if cfg.epochs is not None:
        per_epoch = steps_per_epoch(cfg)
        max_steps = min(max_steps or math.inf, cfg.epochs * per_epoch)
    folder = cfg.stage_dir()
    log = MetricsLog(folder)
    log.truncate(step)
    k_a, k_v = clusters_for_stage(cfg.stage)
    scaler = torch.amp.GradScaler("cuda") if needs_scaler(device) else None
    stream = iter(batches) if batches is not None else loader_batches(cfg, step)
    ckpt = folder / NAME

    def checkpoint() -> None:
        save_checkpoint(ckpt, _state(model, optimiser, cfg, step, samples, lr))

    model.train()
    started = time.perf_counter()
    window = {"loss": 0.0, "pos_dist": 0.0, "neg_dist": 0.0, "accuracy": 0.0, "n": 0, "samples": 0,
              "t": started}
    last: dict = {}
    stopped_by = "max_steps"
    with training_progress(cfg.progress, cfg.stage, max_steps) as bar:
        while max_steps is None or step < max_steps:
            if cfg.max_seconds is not None and time.perf_counter() - started >= cfg.max_seconds:
                stopped_by = "max_seconds"
                break
            batch = next(stream, None)
            if batch is None:
                stopped_by = "data"
                break
            if len(batch["key"]) < 2:  # no negative pair in a batch of one
                continue
            spec, image = to_device(batch, device)

            # forward: clusters of both streams, S_av of every (audio i, image j) pair, eq. 5
            with autocast(device):
                out = model(spec, image, k_a, k_v)
            scores = alignment_scores(out.audio.centres, out.visual.centres)
            loss, stats = contrastive_loss(scores, model.cfg.margin)
            if not torch.isfinite(loss):
                raise AvcurrError(f"loss became {loss.item()} at step {step + 1}; lower --lr")

            optimiser.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
            else:
                loss.backward()
                optimiser.step()
            step += 1
            samples += spec.shape[0]

            window["loss"] += loss.item()
            for name, value in stats.items():
                window[name] += value.item()
            window["n"] += 1
            window["samples"] += spec.shape[0]
            if step % cfg.log_every == 0 or step == max_steps:
                last = _flush(window, step, samples, lr, model.cfg.margin, per_epoch, started)
                log.append(last)
                bar.show(step, last)
            if step % cfg.ckpt_every == 0:
                checkpoint()
                log.export()
    if window["n"]:
        last = _flush(window, step, samples, lr, model.cfg.margin, per_epoch, started)
        log.append(last)
    checkpoint()
    csv_path, curves = log.export()
    seconds = time.perf_counter() - started
    done = samples - (resumed["samples"] if resumed else 0)
    summary = TrainSummary(stage=cfg.stage, steps=step, samples=samples, started_from=started_from,
                           seconds=seconds, samples_per_s=done / seconds if seconds > 0 else 0.0,
                           last=last, checkpoint=ckpt, metrics_csv=csv_path, curves=curves,
                           stopped_by=stopped_by)
    atomic_write(folder / "summary.json", json.dumps(asdict(summary), default=str, indent=2) + "\n")
    return summary


def _flush(window: dict, step: int, samples: int, lr: float, margin: float, per_epoch, started) -> dict:
    """Average the window's statistics into one metrics row and reset the window."""
    n = max(window["n"], 1)
    now = time.perf_counter()
    row = {"step": step, "samples": samples,
           "epoch_fraction": step / per_epoch if per_epoch else None,
           "loss": window["loss"] / n, "pos_dist": window["pos_dist"] / n,
           "neg_dist": window["neg_dist"] / n, "accuracy": window["accuracy"] / n, "lr": lr,
           "samples_per_s": window["samples"] / max(now - window["t"], 1e-9),
           "seconds": now - started, "margin": margin}
    window.update(loss=0.0, pos_dist=0.0, neg_dist=0.0, accuracy=0.0, n=0, samples=0, t=now)
    return row
