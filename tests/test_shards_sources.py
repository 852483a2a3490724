"""build-shards on real-world clips (through a `path` column) and on `avcurr synth` output; plain readers.

The real-world clips are ffmpeg-made stand-ins (tests/real_like_media.py) and, where `../shared/data`
exists, the real clips themselves: the same checks run on both."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest
import webdataset

from avcurr.shards.build import BuildConfig, build_shards
from avcurr.shards.verify import verify
from real_like_media import CLIPS, make_clips
from shards_fixtures import _once, shared_base, write_manifest


@pytest.fixture(scope="module", params=["generated", "shared"])
def real_root(request, tmp_path_factory):
    """Shards of five real-world clips, built once per session (shared by xdist workers): ffmpeg-made
    stand-ins with the same codecs, channels, sizes and lengths (always), and the real clips from
    `../shared/data/clips` (skipped, with the reason, when that folder is absent)."""
    real_folder = request.getfixturevalue("shared_data") / "clips" if request.param == "shared" else None
    base = shared_base(tmp_path_factory) / f"real-{request.param}"
    base.mkdir(parents=True, exist_ok=True)
    with _once(base / "shards") as first:
        if first:
            if real_folder is not None:
                paths = {real: real_folder / real for _, real, _, _ in CLIPS}
            else:
                paths = make_clips(base / "media")
            rows = [{"ytid": f"realclip{i:03d}", "start": start, "path": str(paths[real]),
                     "curriculum": f"c{1 + i % 2}", "n_sources": 1 + i % 2}
                    for i, (_, real, start, _) in enumerate(CLIPS)]
            manifest = write_manifest(base / "real.parquet", rows)
            summary = build_shards(BuildConfig(manifest=manifest, out=base / "shards", dataset="real",
                                               split="test", workers=2))
            (base / "statuses.json").write_text(json.dumps([summary.statuses, summary.samples]))
    return base / "shards", json.loads((base / "statuses.json").read_text())


def test_real_clips_build_and_verify(real_root):
    out, (statuses, samples) = real_root
    assert statuses == {"ok": 3, "short": 2} and samples == {"c1": 3, "c2": 2}
    assert verify(out).ok
    metas = {}
    for tar in out.glob("real/test/c*/*.tar"):
        with tarfile.open(tar) as handle:
            for m in handle.getmembers():
                if m.name.endswith(".json"):
                    meta = json.loads(handle.extractfile(m).read())
                    metas[meta["ytid"]] = meta
    assert metas["realclip000"]["n_valid_samples"] == pytest.approx(5.31 * 11025, rel=0.01)
    assert metas["realclip004"]["frame_times"] == [102.5, 105.0, 107.5]
    assert "path" not in metas["realclip000"]  # local paths do not leak into shards


def test_plain_webdataset_and_tarfile_read_every_shard(real_root):
    out, _ = real_root
    urls = sorted(str(p) for p in out.glob("real/test/c*/*.tar"))
    samples = list(webdataset.WebDataset(urls, shardshuffle=False).decode())
    assert len(samples) == 5
    for sample in samples:
        assert sample["spec.npy"].shape == (512, 432) and sample["spec.npy"].dtype == np.float16
        assert sample["json"]["key"] == sample["__key__"] and isinstance(sample["flac"], bytes)
    rgb = next(iter(webdataset.WebDataset(urls[:1], shardshuffle=False).decode("rgb8")))
    assert rgb["f0.jpg"].shape == (256, 256, 3)
    for url in urls:
        with tarfile.open(url) as handle:
            assert len(handle.getnames()) % 6 == 0 and all("/" not in n for n in handle.getnames())


def test_synth_curricula_shards_end_to_end(tmp_path):
    from avcurr.curricula import CurriculaConfig, build_curricula
    from avcurr.data import LoaderConfig, make_loader
    from avcurr.paths import bundled
    from avcurr.synth import SynthConfig, synthesize

    synthesize(SynthConfig(out=tmp_path / "syn", clips=6, size=128, fps=4, seed=3, max_sources=2, workers=2))
    manifest = tmp_path / "curricula.parquet"
    build_curricula(CurriculaConfig(segments=tmp_path / "syn/segments.csv",
                                    ontology=bundled("audioset", "ontology.json"), out=manifest))
    graded = pq.read_table(manifest).to_pylist()
    summary = build_shards(BuildConfig(manifest=manifest, media=tmp_path / "syn/media", out=tmp_path / "shards",
                                       dataset="synth", split="train", workers=2))
    with_curriculum = [r for r in graded if r["curriculum"]]
    assert summary.statuses["ok"] == len(with_curriculum) > 0 and not summary.failures
    assert summary.no_curriculum == len(graded) - len(with_curriculum)
    assert verify(tmp_path / "shards").ok
    curricula = tuple(sorted({r["curriculum"] for r in with_curriculum}))
    loader = make_loader(LoaderConfig(tmp_path / "shards", "synth", "train", curricula=curricula, batch_size=8))
    keys = [k for batch in loader for k in batch["key"]]
    assert sorted(keys) == sorted(f"{r['ytid']}_0" for r in with_curriculum)
    # the synthetic clips are loud: real spectra, not the log(1e-10) floor
    batch = next(iter(make_loader(LoaderConfig(tmp_path / "shards", "synth", "train", curricula=curricula))))
    assert float(batch["spec"].max()) > 0
