"""`--compile`: the loop hands the task a torch.compile'd model (traced with the `aot_eager`
backend here: inductor's code generation takes about a minute on a CPU), trains to the same
weights as without it, and saves the plain model's weights."""

from __future__ import annotations

import pytest
import torch

from avcurr.errors import AvcurrError
from avcurr.train import TrainConfig, model_from_checkpoint, run_training
from avcurr.train.curriculum import CurriculumTask
from tests.cavl_fixtures import random_batches


class _Recording(CurriculumTask):
    def __init__(self, cfg):
        super().__init__(cfg, random_batches(batch=2, repeat=False))
        self.called_with: set[type] = set()

    def compute(self, model, batch, device):
        self.called_with.add(type(model))
        return super().compute(model, batch, device)


def _train(tmp_path, name: str, **kw):
    cfg = TrainConfig(run=tmp_path / name, model="tiny", batch_size=2, max_steps=2, device="cpu", threads=1,
                      log_every=1, **kw)
    task = _Recording(cfg.validate())
    run_training(task, cfg)
    return task, model_from_checkpoint(tmp_path / name / "c1" / "checkpoint.pt")[0]


def test_compile_reaches_the_model_and_trains_to_the_same_weights(tmp_path):
    compiled, weights = _train(tmp_path, "compiled", compile=True, compile_backend="aot_eager")
    assert [t.__name__ for t in compiled.called_with] == ["OptimizedModule"]
    plain, plain_weights = _train(tmp_path, "plain")
    assert [t.__name__ for t in plain.called_with] == ["CAVL"]
    for (name, a), (_, b) in zip(weights.state_dict().items(), plain_weights.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)


def test_an_unknown_compile_backend_is_refused(tmp_path):
    with pytest.raises(AvcurrError, match="torch.compile backend 'fastest'"):
        TrainConfig(run=tmp_path, max_steps=1, compile=True, compile_backend="fastest").validate()
