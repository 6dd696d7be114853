"""Adapters from the detectors that exist to this room's ``Assessor`` port.

``nlu.risk.RiskAssessor`` (three levels, language) fits the port as it is. Today's ``nlu.crisis`` detector answers a
crisis or None, with no level in between and no language: ``PresenceAssessor`` maps a hit to ``crisis`` and leaves
the language undetermined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class _Hit(Protocol):
    @property
    def category(self) -> str: ...


class PresenceDetector(Protocol):
    def assess(self, text: str) -> _Hit | None: ...


@dataclass(frozen=True)
class Assessed:
    level: str
    category: str | None
    language: str | None


class PresenceAssessor:
    def __init__(self, detector: PresenceDetector) -> None:
        self._detector = detector

    def assess(self, text: str) -> Assessed:
        hit = self._detector.assess(text)
        return Assessed("none", None, None) if hit is None else Assessed("crisis", hit.category, None)
