"""Localization rules: how the model is trained to cluster, and how the sound's maker is read out.

A rule has a training part and a readout part:

- train_extra_visual = m_t: training clusters each frame into k_v = k_a + m_t visual centres (the
  paper: 1, one centre for the background). With more, a silent object or a textured background
  gets a centre of its own, and eq. 4's nearest-centre alignment can pick the sounding object out;
- readout, with k_v = k_a + extra_visual visual centres at test time:
  - `assignment` (the paper's eq. 7): the assignment map of the visual centre nearest each audio
    centre;
  - `distance`: every visual location scored by its own distance to the audio centre (no visual
    clustering at all, so k_v plays no part; an attention map without the softmax);
  - `cross`: the soft assignment of every visual location to the audio centre across modalities,
    the audio centre standing in for its aligned visual centre among the other visual centres
    (is this location nearer the sound than the rest of the scene?);
- smooth = s > 1: each feature-grid location is then scored by the mean of its s x s
  neighbourhood, cells outside the frame counting as 0 (no evidence there): a lone location, or
  one at the frame's edge, whose own vector happens to lie near the audio centre no longer
  outscores the middle of an object.

The paper's rule trains with m_t = 1 and reads out with eq. 7, k_v = k_a + 1. A training run records
its rule in the checkpoint (`localization_rule`) and evaluation uses it; a checkpoint without the
record was trained as the paper says and gets the paper's rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from avcurr.errors import AvcurrError

READOUTS = ("assignment", "distance", "cross")
RULE_KEY = "localization_rule"


def _check_extra(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise AvcurrError(f"{what} must be an integer >= 1 (k_v = k_a + m), got {value!r}")


@dataclass(frozen=True)
class LocalizationRule:
    """readout: assignment | distance | cross; extra_visual: m in the readout's k_v = k_a + m;
    smooth: side of the neighbourhood averaged on the feature grid (odd, 1 = none);
    train_extra_visual: m_t in training's k_v = k_a + m_t."""

    readout: str = "assignment"
    extra_visual: int = 1
    smooth: int = 1
    train_extra_visual: int = 1

    def __post_init__(self) -> None:
        if self.readout not in READOUTS:
            raise AvcurrError(f"unknown readout {self.readout!r}; choose one of {', '.join(READOUTS)}")
        _check_extra(self.extra_visual, "extra visual centres")
        _check_extra(self.train_extra_visual, "extra visual centres in training")
        if not isinstance(self.smooth, int) or self.smooth < 1 or self.smooth % 2 == 0:
            raise AvcurrError(f"smoothing must be an odd number of cells >= 1, got {self.smooth!r}")

    def visual_centres(self, sources: int) -> int:
        """The readout's k_v for k_a = sources."""
        return sources + self.extra_visual

    def training_visual_centres(self, sources: int) -> int:
        """Training's k_v for k_a = sources."""
        return sources + self.train_extra_visual

    def same_readout(self, other: "LocalizationRule") -> bool:
        """Whether both read a trained model's maps the same way (the training part aside)."""
        return (self.readout, self.extra_visual, self.smooth) == (other.readout, other.extra_visual, other.smooth)

    @property
    def label(self) -> str:
        """Short name for tables, e.g. "cross, k_v = k_a + 1, 3x3 mean"."""
        smooth = f", {self.smooth}x{self.smooth} mean" if self.smooth > 1 else ""
        return f"{self.readout}, k_v = k_a + {self.extra_visual}{smooth}"

    @property
    def description(self) -> str:
        """The label with the training part, e.g. "cross, k_v = k_a + 1, 3x3 mean; trained with k_v = k_a + 3"."""
        return f"{self.label}; trained with k_v = k_a + {self.train_extra_visual}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LocalizationRule":
        try:
            return cls(readout=str(d["readout"]), extra_visual=int(d["extra_visual"]), smooth=int(d.get("smooth", 1)),
                       train_extra_visual=int(d.get("train_extra_visual", 1)))
        except (KeyError, TypeError, ValueError) as exc:
            raise AvcurrError(f"bad localization rule record {d!r}: {exc}") from None


PAPER_RULE = LocalizationRule("assignment", 1, 1, 1)
# The rule new training runs use and record, and evaluation applies: chosen by the measurements in
# pipelines/README.md ("Localization without being told how many objects are in view").
DEFAULT_RULE = LocalizationRule("cross", 1, 3, 3)


def rule_of_checkpoint(state: dict) -> tuple[LocalizationRule, bool]:
    """The rule a checkpoint's training recorded and True, or the paper's rule and False when the
    checkpoint predates the record."""
    record = state.get(RULE_KEY)
    if not record:
        return PAPER_RULE, False
    return LocalizationRule.from_dict(record), True


def with_parts(rule: LocalizationRule, readout: str | None = None, extra_visual: int | None = None,
               smooth: int | None = None, train_extra_visual: int | None = None) -> LocalizationRule:
    """`rule` with the parts that are given replaced."""
    return LocalizationRule(readout if readout is not None else rule.readout,
                            extra_visual if extra_visual is not None else rule.extra_visual,
                            smooth if smooth is not None else rule.smooth,
                            train_extra_visual if train_extra_visual is not None else rule.train_extra_visual)


def resolve_rule(state: dict, readout: str | None = None, extra_visual: int | None = None,
                 smooth: int | None = None) -> tuple[LocalizationRule, str]:
    """The rule to evaluate with: the checkpoint's (or the paper's when unrecorded), with any part
    of its readout overridden; and a sentence saying where it came from."""
    rule, recorded = rule_of_checkpoint(state)
    source = "recorded in the checkpoint" if recorded else "not recorded in the checkpoint: the paper's rule"
    if readout is not None or extra_visual is not None or smooth is not None:
        rule = with_parts(rule, readout, extra_visual, smooth)
        source = "readout given" + (" (the training part as recorded)" if recorded else "")
    return rule, source
