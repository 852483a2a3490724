"""The output folder of a synthetic world: its marker, and what `--overwrite` may remove.

`synth.json` records the settings of the world in the folder. Synth writes only into an empty
folder or a folder whose marker it can read; anything else is refused. Replacing a world with
other settings (`overwrite`) removes exactly the files that the recorded world consists of (its
clips' media, truth, stems and Flickr files, the collection lists, unfinished temporary files of
those) and folders left empty by that; whatever else the folder holds stays.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Iterable

from avcurr.atomic import atomic_write, stale_temps, temp_files
from avcurr.errors import AvcurrError
from avcurr.keys import clip_key
from avcurr.synth.clip import paths_of
from avcurr.synth.config import SynthConfig
from avcurr.synth.formats import COLLECTIONS
from avcurr.synth.scene import synthetic_ytid

MARKER = "synth.json"
_STEM_FILE = re.compile(r"^(\d+_[a-z]+|background)\.wav$")
_FOLDERS = ("media", "truth", "stems", "flickr/annotations", "flickr/frames", "flickr", "music", "ave")


def recorded_world(out: Path) -> SynthConfig | None:
    """The world whose settings `out/synth.json` records, or None if there is no readable marker."""
    try:
        settings = json.loads((out / MARKER).read_text(encoding="utf-8"))
        return SynthConfig(out=out, **settings).validate()
    except (OSError, ValueError, TypeError, AvcurrError):  # absent, not JSON, not our fields or values
        return None


def prepare_out(cfg: SynthConfig, overwrite: bool) -> None:
    """Make `cfg.out` ready for the world `cfg`: keep the same world, replace an older synth world
    on `overwrite` (its own files only), refuse a folder that is not a synth world."""
    out, marker = cfg.out, cfg.out / MARKER
    if out.exists() and not out.is_dir():
        raise AvcurrError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        old = recorded_world(out)
        if old is None:
            raise AvcurrError(f"{out} is not empty and is not an avcurr synth world (no readable {MARKER}); "
                              f"synth never writes into or clears such a folder: choose an empty or new --out")
        if old.world() == cfg.world():
            return
        if not overwrite:
            raise AvcurrError(f"{out} holds a synthetic world with other settings; use --overwrite to replace "
                              f"it or choose another --out")
        remove_world(old)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(marker, json.dumps(cfg.world(), indent=2) + "\n")


def _key(world: SynthConfig, index: int) -> str:
    return clip_key(synthetic_ytid(world.seed, index), 0.0)


def _owned_files(world: SynthConfig) -> set[Path]:
    """Every file path the world's clips and lists are written to (whether present or not)."""
    out = world.out
    owned = {out / rel for rel in COLLECTIONS.values()} | {out / MARKER}
    for index in range(world.clips):
        paths = paths_of(_key(world, index))
        owned.update(out / paths[name] for name in ("media", "truth", "flickr_xml", "flickr_frame"))
    return owned


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def remove_stale_temps(world: SynthConfig, indexes: list[int]) -> None:
    """Remove temporary files that a killed run left for the world's lists and the clips `indexes`
    (the unfinished ones); a temporary file of a process still running is left alone."""
    out = world.out
    keys = {_key(world, i) for i in indexes}
    stems_of = [out / paths_of(key)["stems"] for key in keys]
    lists = {Path(rel).name for rel in COLLECTIONS.values()} | {MARKER}

    def clip_file(name: str) -> bool:
        return name.split(".")[0] in keys

    clip_folders = ("media", "truth", "flickr/annotations", "flickr/frames")
    temps = [t for rel in clip_folders for t in stale_temps(out / rel, clip_file)]
    temps += [t for rel in (".", "flickr", "music", "ave") for t in stale_temps(out / rel, lists.__contains__)]
    temps += [t for folder in stems_of for t in stale_temps(folder, lambda name: bool(_STEM_FILE.match(name)))]
    for file in temps:
        _remove(file)


def remove_world(world: SynthConfig) -> None:
    """Remove the files of `world` from its folder, and folders that this leaves empty."""
    out = world.out
    owned = _owned_files(world)
    folders = {out / rel for rel in _FOLDERS}
    for index in range(world.clips):
        stems = out / paths_of(_key(world, index))["stems"]
        if stems.is_dir():
            folders.add(stems)
            for file, _ in temp_files(stems, lambda name: bool(_STEM_FILE.match(name))):
                _remove(file)
            for file in stems.iterdir():
                if _STEM_FILE.match(file.name):
                    _remove(file)
    for path in owned:
        _remove(path)
    for folder in {p.parent for p in owned}:  # unfinished writes of our own files
        for file, _ in temp_files(folder, lambda name, folder=folder: folder / name in owned):
            _remove(file)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):  # deepest first
        try:
            folder.rmdir()
        except OSError:  # absent, or holds something that is not ours: it stays
            pass


def claim_folder(out: Path, marker: str, settings: dict, owned_files: Callable[[dict], Iterable[Path]],
                 kind: str, overwrite: bool) -> None:
    """Make `out` the folder of a generated set of `kind` (an AVE world, a synthetic ESC-50 set)
    whose settings `marker` records: the same settings are kept (a rerun finishes the set); another
    set of this kind, proven by its marker, is replaced on `overwrite` (`owned_files(old settings)`
    only, then the folders that leaves empty); a folder that is not empty and holds no readable
    marker of this kind is never written into or cleared, `overwrite` or not."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AvcurrError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        try:
            old = json.loads((out / marker).read_text(encoding="utf-8"))
            owned = set(owned_files(old)) if isinstance(old, dict) else None
        except (OSError, ValueError, TypeError, KeyError, AvcurrError):  # absent, not JSON, not ours
            owned = None
        if owned is None:
            raise AvcurrError(f"{out} is not empty and is not an avcurr {kind} (no readable {marker}); it is "
                              f"never written into or cleared: choose an empty or new --out")
        if old == settings:
            return
        if not overwrite:
            raise AvcurrError(f"{out} holds an avcurr {kind} with other settings; use --overwrite to replace "
                              f"it or choose another --out")
        for path in owned:
            _remove(path)
        for folder in sorted({p.parent for p in owned}, key=lambda p: len(p.parts), reverse=True):
            for file, _ in temp_files(folder, lambda name, folder=folder: folder / name in owned):
                _remove(file)
            if folder != out:
                try:
                    folder.rmdir()
                except OSError:  # holds something that is not ours: it stays
                    pass
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / marker, json.dumps(settings, indent=2) + "\n")
