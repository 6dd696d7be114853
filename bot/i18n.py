"""One message catalogue and one language-fallback rule for every room.

Catalogues live in ``bot/locales/<language>.yaml`` (one file per language, flat dotted keys ``<room>.<name>``;
texts use ``str.format`` fields such as ``{city}``).

The fallback rule (the only one; crisis replies are the one exception, see below):

1. the resident's language, if the tenant offers it (``languages`` in the tenants file) and the catalogue has the key;
2. ``ja-easy`` → ``ja`` (やさしい日本語 is an overlay on Japanese: keys it does not reword read as plain Japanese);
3. ``en``, if the tenant offers English;
4. ``ja`` (every tenant speaks Japanese, and every key exists in ``ja``).

Without a tenant (``offered=None``) every language counts as offered. The crisis layer
(``nlu/crisis_texts.yaml``) answers in the resident's own language even when the tenant does not offer it: a person in
crisis gets the widest help we have, not the tenant's menu languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).with_name("locales")
LANGUAGES: tuple[str, ...] = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")
OVERLAYS: dict[str, str] = {"ja-easy": "ja"}  # a language whose missing keys read as another one


def chain(language: str | None, offered: Iterable[str] | None = None) -> tuple[str, ...]:
    """The languages to try, best first, for a resident of a tenant offering ``offered``."""
    allowed = None if offered is None else set(offered) | {"ja"}
    out: list[str] = []
    for lang in (language or "ja", OVERLAYS.get(language or "", ""), "en", "ja"):
        if lang and (allowed is None or lang in allowed) and lang not in out:
            out.append(lang)
    return tuple(out)


def from_line(tag: str | None) -> str | None:
    """A LINE profile language (BCP 47, e.g. ``vi``, ``en-US``, ``zh-Hans``, ``zh-TW``) as a product language code:
    a catalogue language when there is one, else the primary subtag (the crisis layer speaks more languages)."""
    if not tag:
        return None
    if tag in LANGUAGES:
        return tag
    primary = tag.split("-")[0].lower()
    return "zh-Hans" if primary == "zh" else primary


def resolve(language: str | None, offered: Iterable[str] | None = None) -> str:
    """The language a resident is answered in: the first of :func:`chain`."""
    return chain(language, offered)[0]


def pick(table: Mapping[str, str], language: str | None, offered: Iterable[str] | None = None) -> str:
    """The entry of a ``{language: text}`` table along :func:`chain` (for tables that are data, e.g. hotlines)."""
    for lang in chain(language, offered):
        if table.get(lang):
            return table[lang]
    return ""


class Catalogue:
    """All catalogue files of a directory, loaded once."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self.texts: dict[str, dict[str, str]] = {}
        for path in sorted(directory.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            self.texts[path.stem] = {str(k): str(v) for k, v in _flatten(data).items()}
        if "ja" not in self.texts:
            raise ValueError(f"no ja catalogue in {directory}")

    @property
    def keys(self) -> set[str]:
        return set(self.texts["ja"])

    def missing(self, language: str) -> set[str]:
        """Keys a language cannot answer by itself (an overlay may rely on its base language)."""
        have = set(self.texts.get(language, {}))
        if language in OVERLAYS:
            have |= set(self.texts.get(OVERLAYS[language], {}))
        return self.keys - have

    def get(self, key: str, language: str | None, offered: Iterable[str] | None = None, **fields: Any) -> str:
        for lang in chain(language, offered):
            found = self.texts.get(lang, {}).get(key)
            if found is not None:
                return found.format(**fields) if fields else found
        raise KeyError(f"no text {key!r} in the catalogue")

    def table(self, prefix: str) -> dict[str, dict[str, str]]:
        """``{name: {language: text}}`` for the keys under ``prefix.`` (for rooms that keep per-language tables)."""
        out: dict[str, dict[str, str]] = {}
        head = prefix + "."
        for lang, texts in self.texts.items():
            for key, value in texts.items():
                if key.startswith(head):
                    out.setdefault(key[len(head) :], {})[lang] = value
        return out


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


@cache
def catalogue() -> Catalogue:
    """The product's catalogue (read once per process)."""
    return Catalogue()


def t(key: str, language: str | None, offered: Iterable[str] | None = None, **fields: Any) -> str:
    """The text ``key`` for a resident speaking ``language`` of a tenant offering ``offered``."""
    return catalogue().get(key, language, tuple(offered) if offered is not None else None, **fields)
