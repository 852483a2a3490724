"""Localization rules: how many visual centres to cluster into, and which map marks the sound's maker.

A rule is (readout, extra_visual, smooth): k_v = k_a + extra_visual visual centres, and

- `assignment` (the paper's eq. 7): the assignment map of the visual centre nearest each audio centre;
- `distance`: every visual location scored by its own distance to the audio centre (no visual
  clustering at all, so k_v plays no part);
- `cross`: the assignment of every visual location to the audio centre across modalities, the audio
  centre standing in for its aligned visual centre among the other visual centres;

then, with smooth = s > 1, each feature-grid location is scored by the mean of its s x s
neighbourhood, cells outside the frame counting as 0 (no evidence there): a lone location, or one
at the frame's edge, whose own vector happens to lie near the audio centre no longer outscores
the middle of an object.

The paper's rule is (`assignment`, 1, 1). A training run records its rule in the checkpoint
(`localization_rule`) and evaluation uses it; a checkpoint without the record gets the paper's rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from avcurr.errors import AvcurrError

READOUTS = ("assignment", "distance", "cross")
RULE_KEY = "localization_rule"


@dataclass(frozen=True)
class LocalizationRule:
    """readout: assignment | distance | cross; extra_visual: m in k_v = k_a + m (>= 1); smooth:
    side of the neighbourhood averaged on the feature grid (odd, 1 = none)."""

    readout: str = "assignment"
    extra_visual: int = 1
    smooth: int = 1

    def __post_init__(self) -> None:
        if self.readout not in READOUTS:
            raise AvcurrError(f"unknown readout {self.readout!r}; choose one of {', '.join(READOUTS)}")
        if not isinstance(self.extra_visual, int) or self.extra_visual < 1:
            raise AvcurrError(f"extra visual centres must be an integer >= 1 (k_v = k_a + m), got {self.extra_visual!r}")
        if not isinstance(self.smooth, int) or self.smooth < 1 or self.smooth % 2 == 0:
            raise AvcurrError(f"smoothing must be an odd number of cells >= 1, got {self.smooth!r}")

    def visual_centres(self, sources: int) -> int:
        """k_v for k_a = sources."""
        return sources + self.extra_visual

    @property
    def label(self) -> str:
        """Short name for tables, e.g. "cross, k_v = k_a + 3, 3x3 mean"."""
        smooth = f", {self.smooth}x{self.smooth} mean" if self.smooth > 1 else ""
        return f"{self.readout}, k_v = k_a + {self.extra_visual}{smooth}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LocalizationRule":
        try:
            return cls(readout=str(d["readout"]), extra_visual=int(d["extra_visual"]), smooth=int(d.get("smooth", 1)))
        except (KeyError, TypeError, ValueError) as exc:
            raise AvcurrError(f"bad localization rule record {d!r}: {exc}") from None


PAPER_RULE = LocalizationRule("assignment", 1)
# The rule new training runs record and evaluation applies (chosen by the measurements in
# pipelines/README.md, "Localization without being told how many objects are visible").
DEFAULT_RULE = LocalizationRule("distance", 1)


def rule_of_checkpoint(state: dict) -> tuple[LocalizationRule, bool]:
    """The rule a checkpoint's training recorded and True, or the paper's rule and False when the
    checkpoint predates the record."""
    record = state.get(RULE_KEY)
    if not record:
        return PAPER_RULE, False
    return LocalizationRule.from_dict(record), True


def with_parts(rule: LocalizationRule, readout: str | None = None, extra_visual: int | None = None,
               smooth: int | None = None) -> LocalizationRule:
    """`rule` with the parts that are given replaced."""
    return LocalizationRule(readout if readout is not None else rule.readout,
                            extra_visual if extra_visual is not None else rule.extra_visual,
                            smooth if smooth is not None else rule.smooth)


def resolve_rule(state: dict, readout: str | None = None, extra_visual: int | None = None,
                 smooth: int | None = None) -> tuple[LocalizationRule, str]:
    """The rule to evaluate with: the checkpoint's (or the paper's when unrecorded), with any of
    its parts overridden; and a sentence saying where it came from."""
    rule, recorded = rule_of_checkpoint(state)
    source = "recorded in the checkpoint" if recorded else "not recorded in the checkpoint: the paper's rule"
    if readout is not None or extra_visual is not None or smooth is not None:
        rule = with_parts(rule, readout, extra_visual, smooth)
        source = "given"
    return rule, source
