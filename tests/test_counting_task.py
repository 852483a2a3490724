"""The counter network and its training task: shapes, schedule, --init, curricula mixed per sample."""

from __future__ import annotations

from collections import Counter as Tally

import pytest
import torch

from avcurr.counting import CounterTrainConfig, interleaved_batches, train_counter
from avcurr.counting.config import BASE_LR
from avcurr.counting.task import CounterTask
from avcurr.errors import AvcurrError
from avcurr.models import preset
from avcurr.models.counter import Counter, CounterConfig
from avcurr.train import TrainConfig, load_checkpoint, train_stage
from avcurr.train.metrics import MetricsLog
from tests.cavl_fixtures import cavl_world, random_batches  # noqa: F401 - session fixture


def _cfg(tmp_path, **kw) -> CounterTrainConfig:
    base = dict(run=tmp_path / "counter", model="tiny", batch_size=4, log_every=1, ckpt_every=50,
                device="cpu", threads=1, max_steps=2)
    return CounterTrainConfig(**{**base, **kw})


def _counted(batches, counts=(1, 2, 3, 4)):
    """Loader-style batches whose clips carry n_sources, cycling through `counts`."""
    for i, batch in enumerate(batches):
        n = len(batch["key"])
        yield {**batch, "meta": [{"n_sources": counts[(i + j) % len(counts)]} for j in range(n)]}


def test_counter_shapes_and_widths():
    tiny = Counter(CounterConfig(model=preset("tiny")))
    lam = tiny(torch.randn(3, 1, 512, 432) - 2)
    assert lam.shape == (3,) and bool((lam > 0).all())
    assert [m.out_features for m in tiny.head if isinstance(m, torch.nn.Linear)] == [64, 1]
    soft = Counter(CounterConfig(model=preset("tiny"), head="softmax"))
    assert soft(torch.randn(2, 1, 512, 432)).shape == (2, 5)
    assert CounterConfig(model=preset("paper")).widths == (512, 1)           # FC 512-512-1
    with pytest.raises(AvcurrError, match="--head"):
        CounterConfig(model=preset("tiny"), head="gaussian")


def test_training_on_a_fixed_batch_lowers_the_poisson_loss(tmp_path):
    summary = train_counter(_cfg(tmp_path, max_steps=12), _counted(random_batches(batch=4)))
    rows = MetricsLog(tmp_path / "counter").rows()
    late = sum(r["loss"] for r in rows[-6:]) / 6
    assert late < rows[0]["loss"] - 0.3, (rows[0]["loss"], late)
    state = load_checkpoint(tmp_path / "counter" / "checkpoint.pt", kind="counter")
    assert state["head"] == "poisson" and summary.started_from == "scratch"
    assert isinstance(state["optimizer"]["param_groups"][0]["momentum"], float)  # SGD with momentum
    assert state["optimizer"]["param_groups"][0]["momentum"] == 0.9
    assert {"acc_most_probable", "acc_nearest", "mean_lambda"} <= set(rows[-1])


def test_learning_rate_decays_per_completed_epoch(tmp_path):
    task = CounterTask(_cfg(tmp_path, shards="unused"))
    task._sizes = {"c1": 40, "c2": 24}                  # 64 samples: 16 steps of 4 per epoch
    assert [task.lr_at(s, BASE_LR) for s in (0, 15, 16, 32, 48)] == pytest.approx(
        [0.01, 0.01, 0.01 / 1.5, 0.01 / 2.0, 0.01 / 2.5])


def test_init_takes_the_audio_net_of_a_curriculum_checkpoint(tmp_path):
    train_stage(TrainConfig(run=tmp_path / "cavl", model="tiny", batch_size=4, max_steps=1, device="cpu",
                            threads=1), random_batches())
    ckpt = tmp_path / "cavl" / "c1" / "checkpoint.pt"
    cavl = load_checkpoint(ckpt)["model"]
    task = CounterTask(_cfg(tmp_path, init=ckpt))
    model = task.build_model()
    assert task.initialise(model, torch.device("cpu")).startswith("audio net of")
    for name, value in model.audio_net.state_dict().items():
        assert torch.equal(value, cavl[f"audio_net.{name}"]), name
    with pytest.raises(AvcurrError, match="pass --config tiny"):
        CounterTask(_cfg(tmp_path, init=ckpt, model="paper")).initialise(
            Counter(CounterConfig(model=preset("paper"))), torch.device("cpu"))


def test_interleaved_batches_mix_curricula_in_every_batch(cavl_world):
    from avcurr.counting.mixing import curricula_sizes

    found = curricula_sizes(cavl_world["shards"], "synth", "train", None)
    assert set(found) == {"c1", "c2"} and sum(found.values()) == 12
    stream = interleaved_batches(cavl_world["shards"], "synth", "train", found, batch_size=8, seed=3,
                                 shuffle_buffer=4)
    tallies = [Tally(m["curriculum"] for m in next(stream)["meta"]) for _ in range(6)]
    # one shard per curriculum: a plain loader would give runs of one curriculum; here each batch mixes
    assert all(len(t) == 2 for t in tallies), tallies
    total = sum(tallies, Tally())
    share = total["c1"] / sum(total.values())
    assert abs(share - found["c1"] / 12) < 0.2, (share, found)


def test_bad_counter_settings_are_clear_errors(tmp_path):
    with pytest.raises(AvcurrError, match="--shards is required"):
        train_counter(_cfg(tmp_path))
    with pytest.raises(AvcurrError, match="--init checkpoint not found"):
        train_counter(_cfg(tmp_path, init=tmp_path / "nope.pt"), random_batches())
    with pytest.raises(AvcurrError, match="no curriculum folders"):
        train_counter(_cfg(tmp_path, shards=tmp_path, dataset="synth"))
