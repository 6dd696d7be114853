"""Test support: a detector fake with the ``Assessor`` shape, answering from a table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Assessed:
    level: str
    category: str | None
    language: str | None


class TableAssessor:
    """``assess(text)`` from ``table`` (text → (level, category, language)); anything else is ``none``/``und``."""

    def __init__(self, table: Mapping[str, tuple[str, str | None, str | None]] | None = None) -> None:
        self.table = dict(table or {})
        self.calls: list[str] = []

    def assess(self, text: str) -> Assessed:
        self.calls.append(text)
        level, category, language = self.table.get(text, ("none", None, None))
        return Assessed(level, category, language)
