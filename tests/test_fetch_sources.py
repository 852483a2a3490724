"""Dataset modules: bundled lists into fetch jobs and manifests; archives unpacked safely."""

from __future__ import annotations

import io
import tarfile
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from PIL import Image

from avcurr.errors import AvcurrError
from avcurr.fetch import FetchConfig
from avcurr.sources.audioset import audioset_jobs, audioset_list
from avcurr.sources.ave import ave_events, download_ave, read_events
from avcurr.sources.esc50 import prepare_esc50
from avcurr.sources.flickr import flickr_test_ids, prepare_flickr
from avcurr.sources.music import download_music, music_videos
from avcurr.sources.remote import download_file
from http_mirror import Mirror, make_video


def _wav_bytes(seconds=0.2, rate=8000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(int(seconds * rate), dtype=np.float32), rate, format="WAV")
    return buffer.getvalue()


def _jpg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


BOXES_XML = b"<annotation><object><bbox><xmin>1</xmin></bbox></object><bbox/></annotation>"


def _zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _tar(path, files: dict[str, bytes], symlink: str | None = None):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return path


def test_audioset_jobs_from_the_bundled_list():
    jobs = audioset_jobs(audioset_list("balanced", None, None), limit=3)
    assert [j.key for j in jobs][0] == "--PJHxphWEs_30000"
    assert (jobs[0].start, jobs[0].end) == (30.0, 40.0) and len(jobs) == 3
    assert jobs[0].url("https://www.youtube.com/watch?v={ytid}").endswith("v=--PJHxphWEs")


def test_download_file_is_atomic_and_reports_http_errors(tmp_path):
    with Mirror(content_type="text/csv") as mirror:
        mirror.add("list.csv", b"a,b\n")
        got = download_file(f"http://127.0.0.1:{mirror.port}/list.csv", tmp_path / "list.csv")
        assert got.read_bytes() == b"a,b\n"
        with pytest.raises(AvcurrError, match="cannot download .*gone.csv: Not Found"):
            download_file(f"http://127.0.0.1:{mirror.port}/gone.csv", tmp_path / "gone.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.csv"]


def test_music_lists_and_whole_video_fetch(tmp_path):
    duet = music_videos("duet")
    assert len(duet) == 149 and all(len(instruments) == 2 for _, instruments in duet)
    assert len(music_videos("music21")) == 1164
    solo = music_videos("solo")
    data = make_video(tmp_path / "v.mp4", 3)
    with Mirror() as mirror:
        for ytid, _ in solo[:2]:
            mirror.add(f"{ytid}.mp4", data)
        config = FetchConfig(out=tmp_path / "out", url_template=mirror.url_template, progress=False)
        summary = download_music("solo", config, limit=2)
    assert summary.ok == 2
    rows = pq.read_table(tmp_path / "out" / "music_solo.parquet").to_pylist()
    assert [r["key"] for r in rows] == [f"{y}_0" for y, _ in solo[:2]]
    assert rows[0]["instruments"] == solo[0][1] and rows[0]["status"] == "ok"
    assert (tmp_path / "out" / rows[0]["path"]).is_file()


def test_ave_per_second_labels_splits_and_fetch(tmp_path):
    events = read_events(__import__("avcurr.paths").paths.bundled("ave", "Annotations.txt"))
    assert len(events) == 4143
    bell = next(e for e in events if e.ytid == "MH3m4AwEcRY")
    assert bell.second_labels() == ["background"] * 6 + ["Church bell"] * 2 + ["background"] * 2
    splits = [s for _, s in ave_events("all")]
    assert (splits.count("train"), splits.count("val"), splits.count("test")) == (3339, 402, 402)
    first = ave_events("all")[:2]
    data = make_video(tmp_path / "v.mp4", 10, size=64)
    with Mirror() as mirror:
        for event, _ in first:
            mirror.add(f"{event.ytid}.mp4", data)
        config = FetchConfig(out=tmp_path / "out", url_template=mirror.url_template, progress=False,
                             cut="copy")
        summary, manifest, unplaced = download_ave(config, "all", offsets="zero", limit=2)
    assert summary.ok == 2 and unplaced == 0
    rows = pq.read_table(manifest).to_pylist()
    assert len(rows) == 2 and all(len(r["labels"]) == 10 and r["status"] == "ok" for r in rows)
    assert rows[0]["key"] == f"{first[0][0].ytid}_0" and rows[0]["labels"] == first[0][0].second_labels()


def _flickr_files(ids):
    files = {f"Flickr/frames/{ids[0]}.jpg": _jpg_bytes(), f"Flickr/audio/{ids[0]}.wav": _wav_bytes(),
             f"Flickr/annotations/{ids[0]}.xml": BOXES_XML,
             f"Flickr/frames/{ids[1]}.jpg": _jpg_bytes(), f"Flickr/annotations/{ids[1]}.xml": BOXES_XML,
             "Flickr/README.txt": b"not media"}
    return files


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_flickr_archive_is_normalised_against_the_test_list(tmp_path, kind):
    ids = flickr_test_ids()
    assert len(ids) == 250 and ids[0] == "2432219254"
    build = _zip if kind == "zip" else _tar
    archive = build(tmp_path / f"flickr.{kind}", _flickr_files(ids))
    result = prepare_flickr(archive, tmp_path / "out")
    assert result.complete == 1 and result.incomplete == (ids[1],)
    assert len(result.missing) == 248 and ids[2] in result.missing
    assert result.ignored == 1
    rows = {r["id"]: r for r in pq.read_table(result.manifest).to_pylist()}
    assert rows[ids[0]]["frame"] == f"flickr/frames/{ids[0]}.jpg" and rows[ids[0]]["n_boxes"] == 2
    assert (tmp_path / "out" / rows[ids[0]]["audio"]).read_bytes() == _wav_bytes()
    assert rows[ids[1]]["audio"] is None and not rows[ids[1]]["complete"]


@pytest.mark.parametrize("kind", ["zip", "tar", "tar-symlink"])
def test_archives_with_traversal_or_links_are_refused_whole(tmp_path, kind):
    ids = flickr_test_ids()
    files = _flickr_files(ids)
    if kind == "tar-symlink":
        archive = _tar(tmp_path / "evil.tar.gz", files, symlink=f"Flickr/frames/{ids[2]}.jpg")
    else:
        files["Flickr/../../evil.xml"] = b"<x/>"
        archive = (_zip if kind == "zip" else _tar)(tmp_path / f"evil.{kind}", files)
    out = tmp_path / "deep" / "out"
    with pytest.raises(AvcurrError, match="refusing the archive"):
        prepare_flickr(archive, out)
    assert not out.exists() and not (tmp_path / "evil.xml").exists()


def _esc50_csv(rows):
    header = "filename,fold,target,category,esc10,src_file,take\n"
    return (header + "".join(f"{r}\n" for r in rows)).encode()


def test_esc50_zip_into_manifest_with_folds_and_classes(tmp_path):
    rows = ["1-100032-A-0.wav,1,0,dog,True,100032,A", "1-100038-A-14.wav,1,14,chirping_birds,False,100038,A",
            "5-9032-A-0.wav,5,0,dog,True,9032,A"]
    archive = _zip(tmp_path / "ESC-50-master.zip", {
        "ESC-50-master/meta/esc50.csv": _esc50_csv(rows),
        "ESC-50-master/audio/1-100032-A-0.wav": _wav_bytes(),
        "ESC-50-master/audio/1-100038-A-14.wav": _wav_bytes(),
        "ESC-50-master/README.md": b"readme"})
    result = prepare_esc50(archive, tmp_path / "out")
    assert (result.clips, result.present, result.missing, result.metadata) == (3, 2, ("5-9032-A-0.wav",), "archive")
    table = pq.read_table(result.manifest).to_pylist()
    assert [(r["fold"], r["target"], r["category"], r["esc10"]) for r in table] == [
        (1, 0, "dog", True), (1, 14, "chirping_birds", False), (5, 0, "dog", True)]
    assert sf.info(str(tmp_path / "out" / table[0]["path"])).samplerate == 8000


def test_esc50_without_metadata_uses_the_bundled_list_and_refuses_traversal(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"ESC-50-master/audio/1-100032-A-0.wav": _wav_bytes()})
    result = prepare_esc50(archive, tmp_path / "out")
    assert (result.clips, result.present, result.metadata) == (2000, 1, "bundled")
    folds = pq.read_table(result.manifest, columns=["fold"]).column("fold").to_pylist()
    assert sorted(set(folds)) == [1, 2, 3, 4, 5] and folds.count(1) == 400
    evil = _zip(tmp_path / "evil.zip", {"ESC-50-master/audio/../../../x.wav": _wav_bytes()})
    with pytest.raises(AvcurrError, match="unsafe member"):
        prepare_esc50(evil, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
