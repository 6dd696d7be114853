"""The FAQ room's texts per language (ja, ja-easy = やさしい日本語, en, zh-Hans, ko, vi).

The texts are the core catalogue's ``faq.*`` keys (``bot/locales/<lang>.yaml``) with the core's one fallback rule
(``bot.i18n``: the resident's language, ja-easy → ja, English, Japanese).
"""

from __future__ import annotations

from bot import i18n

LANGUAGE_NAMES = {"ja": "日本語", "ja-easy": "やさしい にほんご", "en": "English", "zh-Hans": "简体中文",
                  "ko": "한국어", "vi": "Tiếng Việt"}


def t(key: str, language: str = "ja", **kw: str) -> str:
    return i18n.t(f"faq.{key}", language, **kw)
