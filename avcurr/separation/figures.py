"""Pictures and sounds of one evaluated mixture: spectrogram panels (PNG) and WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avcurr.atomic import atomic_output
from avcurr.audio.spectrogram import SAMPLE_RATE
from avcurr.plots import _pyplot, save_figure


def write_wav(path: Path, wave: np.ndarray) -> Path:
    """Mono 11025 Hz float WAV, written atomically (float: a mixture of two loud clips may pass 1.0)."""
    import soundfile as sf

    with atomic_output(Path(path)) as tmp:
        sf.write(tmp, np.asarray(wave, np.float32), SAMPLE_RATE, subtype="FLOAT", format="WAV")
    return Path(path)


def save_mask_figure(path: Path, panels: list[tuple[str, np.ndarray, str]], title: str) -> Path:
    """One row of panels (title, 512 x T array, kind): kind "log" draws a log magnitude (dB-like
    colour scale shared by all such panels), "mask" a mask in [0, 1]."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.4), dpi=100, squeeze=False)
    logs = [p[1] for p in panels if p[2] == "log"]
    top = max(float(np.max(x)) for x in logs) if logs else 0.0
    for ax, (name, data, kind) in zip(axes[0], panels):
        if kind == "log":
            image = ax.imshow(data, origin="lower", aspect="auto", cmap="magma", vmin=top - 12, vmax=top)
        else:
            image = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("frame")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    axes[0][0].set_ylabel("log-frequency row")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
