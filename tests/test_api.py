"""The public Python API: `avcurr.<name>` for every stage, imported lazily, and the README's example
run as it is written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import avcurr

REPO = Path(__file__).resolve().parents[1]


def test_import_avcurr_is_light():
    code = "import sys, avcurr; print(sorted(m for m in ('numpy', 'torch', 'pyarrow', 'rich') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_exported_name_resolves_to_its_stage():
    for name in avcurr.__all__:
        assert getattr(avcurr, name) is not None, name
    from avcurr.curricula import build_curricula
    from avcurr.localize import evaluate_localization
    from avcurr.train import train_stage

    assert avcurr.build_curricula is build_curricula and avcurr.train_stage is train_stage
    assert avcurr.evaluate_localization is evaluate_localization
    assert {"synthesize", "SynthConfig", "build_shards", "BuildConfig", "make_loader", "LoaderConfig", "TrainConfig",
            "LocalizationConfig", "CurriculaConfig", "download_audioset", "FetchConfig", "run_training", "TrainTask",
            "train_counter", "evaluate_counting", "evaluate_esc50", "synthesize_esc50", "train_separator",
            "evaluate_separation", "separate_video", "extract_features", "train_ave", "evaluate_ave", "ave_maps",
            "synthesize_ave", "localize_files"} <= set(dir(avcurr))
    from avcurr.ave import train_ave
    from avcurr.counting import train_counter
    from avcurr.separation import train_separator

    assert (avcurr.train_ave, avcurr.train_counter, avcurr.train_separator) == (train_ave, train_counter,
                                                                               train_separator)
    try:
        avcurr.no_such_stage
    except AttributeError as exc:
        assert "no_such_stage" in str(exc)
    else:
        raise AssertionError("an unknown name must be an AttributeError")


def test_configs_take_str_paths_and_default_to_the_bundled_lists(tmp_path, monkeypatch):
    monkeypatch.setenv("AVCURR_WORK", str(tmp_path / "work"))
    cfg = avcurr.CurriculaConfig()
    assert cfg.segments == avcurr.bundled("audioset", "balanced_train_segments.csv")
    assert cfg.ontology == avcurr.bundled("audioset", "ontology.json")
    assert cfg.out == tmp_path / "work" / "curricula" / "balanced_train_segments.parquet"
    named = avcurr.CurriculaConfig(segments="a/s.csv", out="b/o.parquet", policy="first")
    assert named.segments == Path("a/s.csv") and named.out == Path("b/o.parquet")
    assert named.policy is avcurr.Policy.FIRST
    assert avcurr.SynthConfig(out="w").out == Path("w")
    loc = avcurr.LocalizationConfig(checkpoint="c.pt", shards="s", annotations="a", out="o", curricula="c1, c2")
    assert loc.checkpoint == Path("c.pt") and loc.curricula == ("c1", "c2")
    try:
        avcurr.CurriculaConfig(policy="some")
    except avcurr.AvcurrError as exc:
        assert "unknown policy 'some'" in str(exc)
    else:
        raise AssertionError("a bad policy must be refused")


def test_the_readme_example_runs_as_written(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    curricula, shapes = result.stdout.strip().splitlines()[-2:]
    assert curricula == "[('c2', 6), ('c1', 2)]"  # as the README says: the world is fixed by its seed
    assert shapes.startswith("torch.Size([") and "1, 512, 432]) torch.Size([" in shapes and "3, 256, 256])" in shapes
    assert (tmp_path / "demo" / "shards" / "synth" / "train" / "index.parquet").is_file()
