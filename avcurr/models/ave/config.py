"""Settings of the AVE event-localization models: one frozen dataclass for ours and the baseline.

The paper ("See the Sound, Hear the Pixels", §3) leaves the widths open; they are pinned here.
The data's sizes (segments T, grid H x W, visual channels d_v, audio width d_a, classes C) are not
settings: `with_data` copies them in from the features, so any grid and width works.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from avcurr.errors import AvcurrError

MODELS = ("ours", "ave-baseline", "ave-dmrn")
STREAMS = ("both", "audio", "visual")
FUSIONS = ("avfb", "lstm", "mfb", "mul", "add", "concat", "none")
SWAB_POOLS = ("mean+max", "mean", "max", "none")
# Table 1's rows as (streams, fusion); the fused ones take --fusion (AVFB by default).
MODALITIES = {"audio": ("audio", "none"), "visual": ("visual", "none"),
              "assisted-visual": ("visual", None), "audio+visual": ("both", "none"),
              "audio+assisted": ("both", None)}
SPATIAL_FUSIONS = ("avfb", "mfb")  # the fusions that attend over the S regions (lambda_t)


@dataclass(frozen=True)
class AveModelConfig:
    """One AVE model.

    model: "ours" (AVFB + LSTMs + SWAB + aggregation, §3.2-3.6), "ave-baseline" (AVE-ECCV18's
      audio-guided visual attention + bi-LSTMs + concatenation, their A+V-att) or "ave-dmrn" (the
      same with their dual multimodal residual fusion, one block).
    streams: "both", "audio" (audio LSTM only) or "visual" (visual LSTM only; with a fusion it is
      the paper's "audio-assisted visual" row).
    fusion: how the visual stream gets its audio: "avfb" (LSTM fusion + MFB attention, eq. 7),
      "lstm" (LF_t alone, eq. 1), "mfb" (MF_t alone, eqs. 3-6), "mul" / "add" (l_v * l_a, l_v + l_a),
      "concat" (FC over [l_v, l_a]), "none" (globally average-pooled visual features).
    swab: SWAB's global pooling over segments (eq. 9): "mean+max", "mean", "max"; "none" skips
      SWAB (Table 3's "AVFB" row).
    aggregation: eq. 12's sim_t concatenated with h_v, h_a, s_v, s_a; off: the classifier reads the
      streams' last features ([s_v, s_a] with SWAB, [h_v, h_a] without).

    Pinned widths (the paper does not give them): embed_dim d_e = 128 (the common space of l_v,
    l_a); lstm_hidden = 128 per direction, bidirectional as AVE-ECCV18's temporal LSTMs (eq. 8);
    MFB factor q = 5 (MFB's own default k) and output p = 128; swab_dim = 128 (the width of g and
    P_t in eq. 9); classifier_hidden = 64 (a hidden FC before the C-way softmax, AVE-ECCV18's 64);
    baseline_att = 64 (the baseline's attention width; theirs is 49). The LSTM of AVFB's fusion has
    d_v hidden units so that IF_t = LF_t + MF_t (eq. 7) adds vectors of one width.

    swab_rescale: s_t = T alpha_t h_t instead of eq. 11's alpha_t h_t. The weights still sum to 1
    over the T segments (a uniform alpha leaves h_t as it is); only the constant scale changes.
    Without it s_t is about T times smaller than h_t, and a model whose classifier reads only s_t
    trains far slower: on the synthetic AVE world the visual-only model sat at the all-background
    floor after 300 steps (train accuracy 0.51) and the audio-only one varied from 0.71 to 0.94
    over seeds; with it they reach 0.93 and 1.00 (the full model is unchanged, 0.97).
    """

    model: str = "ours"
    streams: str = "both"
    fusion: str = "avfb"
    swab: str = "mean+max"
    aggregation: bool = True
    embed_dim: int = 128
    lstm_hidden: int = 128
    bidirectional: bool = True
    mfb_factor: int = 5
    mfb_out: int = 128
    swab_dim: int = 128
    swab_rescale: bool = True
    classifier_hidden: int = 64
    baseline_att: int = 64
    # From the data (0 until `with_data`):
    segments: int = 0
    grid: tuple = (0, 0)
    visual_dim: int = 0
    audio_dim: int = 0
    classes: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "grid", tuple(self.grid))
        for name, allowed in (("model", MODELS), ("streams", STREAMS), ("fusion", FUSIONS), ("swab", SWAB_POOLS)):
            value = getattr(self, name)
            if value not in allowed:
                raise AvcurrError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        for name in ("embed_dim", "lstm_hidden", "mfb_factor", "mfb_out", "swab_dim", "baseline_att"):
            if getattr(self, name) < 1:
                raise AvcurrError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.classifier_hidden < 0:
            raise AvcurrError(f"classifier_hidden must be 0 (one FC) or more, got {self.classifier_hidden}")
        if self.streams == "audio" and self.fusion != "none":
            object.__setattr__(self, "fusion", "none")  # the audio stream alone has nothing to fuse
        if self.streams != "both" and self.aggregation:
            object.__setattr__(self, "aggregation", False)  # eq. 12 needs both streams

    @property
    def n_regions(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def lstm_out(self) -> int:
        return self.lstm_hidden * (2 if self.bidirectional else 1)

    @property
    def has_spatial_attention(self) -> bool:
        """Whether the model computes a map over the S regions (AVFB/MFB, or the baseline's)."""
        if self.model != "ours":
            return True
        return self.streams != "audio" and self.fusion in SPATIAL_FUSIONS

    def with_data(self, segments: int, grid: tuple[int, int], visual_dim: int, audio_dim: int,
                  classes: int) -> "AveModelConfig":
        """This configuration sized for features of T segments, an H x W grid of d_v channels,
        d_a-wide audio vectors and C classes (background included)."""
        if segments < 1 or min(grid) < 1 or visual_dim < 1 or audio_dim < 1 or classes < 2:
            raise AvcurrError(f"features of impossible sizes: T={segments}, grid={tuple(grid)}, "
                              f"d_v={visual_dim}, d_a={audio_dim}, C={classes}")
        return replace(self, segments=segments, grid=tuple(grid), visual_dim=visual_dim,
                       audio_dim=audio_dim, classes=classes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["grid"] = list(d["grid"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AveModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})

    def describe(self) -> str:
        """A short name for tables, e.g. "ours (both, avfb, swab mean+max, agg)"."""
        if self.model != "ours":
            return self.model
        parts = [self.streams, self.fusion, f"swab {self.swab}"] + (["agg"] if self.aggregation else [])
        return f"ours ({', '.join(parts)})"


def modality_settings(modality: str, fusion: str = "avfb") -> tuple[str, str]:
    """(streams, fusion) of one of Table 1's rows; `fusion` is used by the fused ones."""
    try:
        streams, fixed = MODALITIES[modality]
    except KeyError:
        raise AvcurrError(f"unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}") from None
    if fixed is None and fusion == "none":
        raise AvcurrError(f"modality {modality} fuses audio into the visual stream; --fusion none is "
                          "modality audio+visual (or visual)")
    return streams, fixed if fixed is not None else fusion
