"""Texts of the reports room: the core catalogue's ``reports.*`` keys (``bot/locales/<lang>.yaml``).

Fallback rule (the core's, ``bot.i18n``): a missing ``ja-easy`` entry falls back to ``ja``, any other missing language
to ``en``, then ``ja``. Quick-reply labels stay within LINE's 20 characters.
"""

from __future__ import annotations

from bot import i18n

LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")

TEXTS: dict[str, dict[str, str]] = i18n.catalogue().table("reports")


def t(key: str, language: str = "ja", **kw: object) -> str:
    """The catalogue text for ``language`` with the core fallback rule, formatted with ``kw``."""
    return i18n.t(f"reports.{key}", language, **kw)
