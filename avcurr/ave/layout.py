"""The official AVE feature layout (YapengTian/AVE-ECCV18, `dataloader.py`), read and written exactly.

    visual_feature.h5   N x T x H x W x d_v   (official: N x 10 x 7 x 7 x 512, VGG19 pool5)
    audio_feature.h5    N x T x d_a           (official: N x 10 x 128, VGGish)
    labels.h5           N x T x C             one-hot per segment, background last (official C = 29)
    {train,val,test}_order.h5                 indices into N
each dataset under the key `avadataset`, the orders under `order`. AVE-ECCV18's weak setting adds
background-only videos to training: `visual_feature_noisy.h5`, `audio_feature_noisy.h5` (same
shapes) and `labels_noisy.h5` (N' x C, one video-level one-hot each), also under `avadataset`.

Files avcurr adds beside them when it extracts features (optional when reading): `categories.txt`
(the C - 1 event names, in class order) and `index.csv` (which video each row holds).
Any T, grid, d_v, d_a and C are accepted; shapes are checked against each other.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avcurr.atomic import atomic_output, atomic_write
from avcurr.errors import AvcurrError

KEY = "avadataset"
ORDER_KEY = "order"
VISUAL, AUDIO, LABELS = "visual_feature.h5", "audio_feature.h5", "labels.h5"
NOISY = {"visual": "visual_feature_noisy.h5", "audio": "audio_feature_noisy.h5", "labels": "labels_noisy.h5"}
SPLITS = ("train", "val", "test")
CATEGORIES, INDEX = "categories.txt", "index.csv"
INDEX_FIELDS = ("row", "video_id", "category", "start", "end", "split")
BACKGROUND = "background"
IN_MEMORY_BYTES = 2 << 30   # visual features up to this size are read into memory; larger stay on disk


def order_file(split: str) -> str:
    return f"{split}_order.h5"


def _h5():
    import h5py  # lazy: only the AVE commands need it

    return h5py


def open_dataset(path: Path, key: str = KEY):
    """(open h5py.File, its dataset `key`); one clear line for a missing file or key."""
    h5py = _h5()
    if not Path(path).is_file():
        raise AvcurrError(f"missing feature file {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise AvcurrError(f"cannot read {path} as HDF5: {exc}") from None
    if key not in handle:
        keys = ", ".join(sorted(handle.keys())) or "none"
        handle.close()
        raise AvcurrError(f"{path} has no dataset {key!r} (it holds: {keys})")
    return handle, handle[key]


def read_array(path: Path, key: str = KEY) -> np.ndarray:
    handle, data = open_dataset(path, key)
    with handle:
        return data[()]


def check_one_hot(labels: np.ndarray, what: str) -> None:
    """Every row (last axis) holds one 1 and zeros elsewhere; else one line naming the first bad row."""
    flat = labels.reshape(-1, labels.shape[-1])
    ok = np.all((flat == 0) | (flat == 1), axis=1) & (flat.sum(1) == 1)
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        where = np.unravel_index(bad, labels.shape[:-1])
        raise AvcurrError(f"{what}: row {tuple(int(i) for i in where)} is not one-hot "
                          f"(values {np.round(flat[bad], 3).tolist()[:8]}{'...' if flat.shape[1] > 8 else ''})")


def read_order(path: Path, n: int) -> np.ndarray:
    """A split's indices into the N videos (whole numbers in 0..N-1)."""
    raw = np.asarray(read_array(path, ORDER_KEY)).reshape(-1)
    if raw.size and (not np.all(np.isfinite(raw)) or not np.all(raw == np.round(raw))):
        raise AvcurrError(f"{path}: order holds values that are not whole numbers")
    order = raw.astype(np.int64)
    if order.size and (order.min() < 0 or order.max() >= n):
        raise AvcurrError(f"{path}: order index {int(order.max() if order.max() >= n else order.min())} "
                          f"is outside the {n} videos")
    return order


@dataclass
class NoisyVideos:
    """Background-only videos of the weak setting: audio N' x T x d_a, visual N' x T x H x W x d_v,
    video-level labels N' x C."""

    audio: np.ndarray
    visual: np.ndarray
    labels: np.ndarray


@dataclass
class AveFeatures:
    """A feature folder in the official layout, checked. Audio, labels and orders are in memory;
    the visual features too unless they exceed IN_MEMORY_BYTES (then read per batch from disk)."""

    folder: Path
    audio: np.ndarray
    visual: object                     # np.ndarray, or an open h5py dataset
    labels: np.ndarray
    orders: dict[str, np.ndarray]
    categories: list[str]
    index: list[dict] = field(default_factory=list)
    noisy: NoisyVideos | None = None
    _handles: list = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        return self.labels.shape[0]

    @property
    def segments(self) -> int:
        return self.labels.shape[1]

    @property
    def classes(self) -> int:
        return self.labels.shape[2]

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(int(v) for v in self.visual.shape[2:4])

    @property
    def visual_dim(self) -> int:
        return int(self.visual.shape[4])

    @property
    def audio_dim(self) -> int:
        return int(self.audio.shape[2])

    def sizes(self) -> dict:
        """The data sizes a model is built for (AveModelConfig.with_data's arguments)."""
        return {"segments": self.segments, "grid": self.grid, "visual_dim": self.visual_dim,
                "audio_dim": self.audio_dim, "classes": self.classes}

    def split(self, name: str) -> np.ndarray:
        if name not in self.orders:
            raise AvcurrError(f"{self.folder} has no {order_file(name)} (splits there: "
                              f"{', '.join(self.orders) or 'none'})")
        return self.orders[name]

    def take(self, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(audio, visual, labels) of the given rows, float32, in the given order."""
        rows = np.asarray(rows, np.int64)
        if rows.size == 0:
            visual = np.zeros((0, *self.visual.shape[1:]), np.float32)
        elif isinstance(self.visual, np.ndarray):
            visual = self.visual[rows]
        else:  # h5py reads increasing, unique indices only
            unique, inverse = np.unique(rows, return_inverse=True)
            visual = self.visual[unique.tolist()][inverse]
        return (self.audio[rows].astype(np.float32), np.asarray(visual, np.float32),
                self.labels[rows].astype(np.float32))

    def close(self) -> None:
        for handle in self._handles:
            handle.close()
        self._handles.clear()


def read_categories(folder: Path, classes: int) -> list[str]:
    """Class names: categories.txt's events then background. Without one, the bundled AVE list when
    there are 28 events (the official files' class order is that list's), else generic names."""
    path = Path(folder) / CATEGORIES
    if not path.is_file():
        from avcurr.paths import bundled

        path = bundled("ave", CATEGORIES)
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return names + [BACKGROUND] if len(names) == classes - 1 else \
            [f"class {i}" for i in range(classes - 1)] + [BACKGROUND]
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != classes - 1:
        raise AvcurrError(f"{path} names {len(names)} events but the labels have {classes - 1} (+ background)")
    return names + [BACKGROUND]


def read_index(folder: Path) -> list[dict]:
    path = Path(folder) / INDEX
    if not path.is_file():
        return []
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _check_shapes(folder: Path, audio, visual, labels) -> None:
    if visual.ndim != 5:
        raise AvcurrError(f"{folder / VISUAL}: expected N x T x H x W x C visual features, got shape {visual.shape}")
    if audio.ndim != 3:
        raise AvcurrError(f"{folder / AUDIO}: expected N x T x D audio features, got shape {audio.shape}")
    if labels.ndim != 3:
        raise AvcurrError(f"{folder / LABELS}: expected N x T x C labels, got shape {labels.shape}")
    if not visual.shape[:2] == audio.shape[:2] == labels.shape[:2]:
        raise AvcurrError(f"shapes disagree in {folder}: visual {visual.shape}, audio {audio.shape}, "
                          f"labels {labels.shape} (N and T must match)")
    if labels.shape[2] < 2:
        raise AvcurrError(f"{folder / LABELS}: {labels.shape[2]} classes; need events plus background")


def _read_noisy(folder: Path, audio, visual, labels) -> NoisyVideos | None:
    present = {name: (folder / file).is_file() for name, file in NOISY.items()}
    if not any(present.values()):
        return None
    if not all(present.values()):
        missing = ", ".join(NOISY[n] for n, p in present.items() if not p)
        raise AvcurrError(f"{folder} holds some of the weak setting's background videos but not {missing}")
    noisy = NoisyVideos(*(read_array(folder / NOISY[n]) for n in ("audio", "visual", "labels")))
    if noisy.visual.shape[1:] != visual.shape[1:] or noisy.audio.shape[1:] != audio.shape[1:] \
            or noisy.labels.shape[1:] != labels.shape[2:] or not \
            noisy.visual.shape[0] == noisy.audio.shape[0] == noisy.labels.shape[0]:
        raise AvcurrError(f"background videos in {folder} do not match the main features: visual "
                          f"{noisy.visual.shape}, audio {noisy.audio.shape}, labels {noisy.labels.shape}")
    check_one_hot(noisy.labels, str(folder / NOISY["labels"]))
    return noisy


def read_features(folder: Path, in_memory_bytes: int = IN_MEMORY_BYTES) -> AveFeatures:
    """Open and check a feature folder (the official layout; see the module's docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AvcurrError(f"feature folder not found: {folder}")
    audio, labels = read_array(folder / AUDIO), read_array(folder / LABELS)
    handle, visual = open_dataset(folder / VISUAL)
    handles = [handle]
    try:
        _check_shapes(folder, audio, visual, labels)
        check_one_hot(labels, str(folder / LABELS))
        if visual.size * 4 <= in_memory_bytes:
            visual = visual[()]
            handle.close()
            handles = []
        orders = {s: read_order(folder / order_file(s), labels.shape[0]) for s in SPLITS
                  if (folder / order_file(s)).is_file()}
        if not orders:
            raise AvcurrError(f"{folder} has no {order_file('train')}, {order_file('val')} or {order_file('test')}")
        return AveFeatures(folder=folder, audio=audio, visual=visual, labels=labels, orders=orders,
                           categories=read_categories(folder, labels.shape[2]), index=read_index(folder),
                           noisy=_read_noisy(folder, audio, visual, labels), _handles=handles)
    except BaseException:
        for h in handles:
            h.close()
        raise


# ---- writing -------------------------------------------------------------------------------

def write_array(path: Path, data: np.ndarray, key: str = KEY) -> Path:
    """One HDF5 file holding `data` under `key`, written atomically."""
    h5py = _h5()
    with atomic_output(Path(path)) as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.create_dataset(key, data=data)
    return Path(path)


def write_orders(folder: Path, orders: dict[str, np.ndarray]) -> None:
    for split, rows in orders.items():
        write_array(Path(folder) / order_file(split), np.asarray(rows, np.int64), ORDER_KEY)


def write_categories(folder: Path, events: list[str]) -> None:
    atomic_write(Path(folder) / CATEGORIES, "".join(f"{name}\n" for name in events))


def write_index(folder: Path, rows: list[dict]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, INDEX_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(Path(folder) / INDEX, text.getvalue())


def write_features(folder: Path, audio: np.ndarray, visual: np.ndarray, labels: np.ndarray,
                   orders: dict[str, np.ndarray], events: list[str] | None = None,
                   index: list[dict] | None = None, noisy: NoisyVideos | None = None) -> Path:
    """Write a whole feature folder from arrays (small sets and tests; extraction streams rows)."""
    folder = Path(folder)
    write_array(folder / AUDIO, np.asarray(audio, np.float32))
    write_array(folder / VISUAL, np.asarray(visual, np.float32))
    write_array(folder / LABELS, np.asarray(labels, np.float32))
    write_orders(folder, orders)
    if noisy is not None:
        write_array(folder / NOISY["audio"], np.asarray(noisy.audio, np.float32))
        write_array(folder / NOISY["visual"], np.asarray(noisy.visual, np.float32))
        write_array(folder / NOISY["labels"], np.asarray(noisy.labels, np.float32))
    if events is not None:
        write_categories(folder, events)
    if index is not None:
        write_index(folder, index)
    return folder
