"""The disaster room's texts: the core catalogue's ``disaster.*`` keys (``bot/locales/<lang>.yaml``), one fallback
rule (``bot.i18n``: ja-easy → ja; any other language → en → ja).

``tests/unit/disaster/test_disaster_texts.py`` and ``tests/unit/core/test_i18n.py`` check that every language has every
key.
"""

from __future__ import annotations

from bot import i18n

LANGS = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")

ATTRIBUTION = "出典：国土地理院 指定緊急避難場所データ"

CATALOGUE: dict[str, dict[str, str]] = {
    lang: {key[len("disaster.") :]: text for key, text in texts.items() if key.startswith("disaster.")}
    for lang, texts in i18n.catalogue().texts.items()
}


def t(key: str, lang: str = "ja", **kw: object) -> str:
    """The text for ``key`` in ``lang`` (the core fallback rule), formatted with ``kw``."""
    return i18n.t(f"disaster.{key}", lang, **kw)


def hazard_names(hazards: tuple[str, ...] | list[str], lang: str) -> str:
    sep = "、" if lang in ("ja", "ja-easy", "zh-Hans") else ", "
    return sep.join(t(f"hz.{h}", lang) for h in hazards)


def distance_label(metres: float) -> str:
    return f"{metres / 1000:.1f}km" if metres >= 1000 else f"{int(round(metres, -1))}m"
