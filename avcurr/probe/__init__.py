"""The ESC-50 linear probe of a learned audio representation (curriculum paper §4.3.2, SPEC §6):
`evaluate_esc50(Esc50ProbeConfig(...))`; `load_esc50` decodes a folder once for several probes."""

from avcurr.probe.audio import Esc50Set, decode_audio, load_esc50, read_metadata
from avcurr.probe.evaluate import Esc50ProbeConfig, Esc50Report, evaluate_esc50
from avcurr.probe.linear import ProbeResult, cross_validate

__all__ = ["Esc50ProbeConfig", "Esc50Report", "Esc50Set", "ProbeResult", "cross_validate", "decode_audio",
           "evaluate_esc50", "load_esc50", "read_metadata"]
