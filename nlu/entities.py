"""In-process entity extraction for the fallback path: municipalities (with codes), place words and dates.

Reads the same lookup tables and regexes Rasa's RegexEntityExtractor uses (nlu/data/entities.yml), so a Rasa outage
does not lose the 「茨木市の避難所」 part of a question.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from nlu.geo import find_municipalities
from nlu.rasa_components.textfold import fold
from nlu.training_data import ENTITIES_YML, load_lookups_and_regexes


class EntityExtractor:
    def __init__(self, entities_yml: Path = ENTITIES_YML) -> None:
        lookups, regexes = load_lookups_and_regexes(entities_yml)
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for name, items in lookups.items():
            alts = sorted((fold(i) for i in items), key=len, reverse=True)
            self._patterns.append((name, re.compile("|".join(re.escape(a) for a in alts))))
        for name, items in regexes.items():
            for item in items:
                self._patterns.append((name, re.compile(item)))

    def extract(self, text: str) -> list[dict]:
        """Entities over the folded text (NFKC + hiragana: same length as the input for Japanese text)."""
        folded = fold(text)
        found = find_municipalities(text)
        taken = [(e["start"], e["end"]) for e in found]
        for name, pattern in self._patterns:
            for m in pattern.finditer(folded):
                if any(m.start() < end and start < m.end() for start, end in taken):
                    continue  # 大阪駅 inside 大阪市... or a place inside a municipality name: keep the first
                found.append({"entity": name, "value": m.group(0), "start": m.start(), "end": m.end(),
                              "extractor": "civicbot.entities"})
                taken.append((m.start(), m.end()))
        return sorted(found, key=lambda e: e["start"])


@lru_cache(maxsize=1)
def default_extractor() -> EntityExtractor:
    return EntityExtractor()
