"""Read Rasa's YAML training data (nlu.yml) on the bot side, without rasa.

The fallback classifier trains from the very file Rasa trains from, so both paths know the same intents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

NLU_DIR = Path(__file__).resolve().parent
DEFAULT_NLU_YML = NLU_DIR / "data" / "nlu.yml"
ENTITIES_YML = NLU_DIR / "data" / "entities.yml"

_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")  # [茨木市](municipality) -> 茨木市


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


def strip_annotations(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text)


def _items(examples: str) -> list[str]:
    return [line.strip()[2:].strip() for line in examples.splitlines() if line.strip().startswith("- ")]


def load_examples(path: Path = DEFAULT_NLU_YML) -> list[Example]:
    """(text, intent) pairs from the ``- intent:`` blocks of a Rasa 3 NLU YAML file."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out: list[Example] = []
    for block in doc.get("nlu", []):
        if "intent" in block:
            out += [Example(strip_annotations(t), block["intent"]) for t in _items(block.get("examples", ""))]
    return out


def load_lookups_and_regexes(path: Path = ENTITIES_YML) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``lookup:`` and ``regex:`` blocks (name -> items) of a Rasa NLU YAML file."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    lookups: dict[str, list[str]] = {}
    regexes: dict[str, list[str]] = {}
    for block in doc.get("nlu", []):
        if "lookup" in block:
            lookups.setdefault(block["lookup"], []).extend(_items(block.get("examples", "")))
        elif "regex" in block:
            regexes.setdefault(block["regex"], []).extend(_items(block.get("examples", "")))
    return lookups, regexes
