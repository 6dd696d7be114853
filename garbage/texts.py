"""The garbage room's texts per language (ja, ja-easy, en, zh-Hans, ko, vi): one catalogue, one fallback rule.

The core catalogue's ``garbage.text.*`` and ``garbage.category.*`` keys (``bot/locales/<lang>.yaml``); the core
fallback rule (``bot.i18n``): ``ja-easy`` → ``ja``, the other languages → ``en`` → ``ja``.
Item names, notices and how-to texts come from the tenant's data (Japanese); the frame around them is translated,
and the common 5374 category labels have names in each language (``CATEGORY_NAMES``).
"""

from __future__ import annotations

from bot import i18n

TEXTS: dict[str, dict[str, str]] = i18n.catalogue().table("garbage.text")
CATEGORY_NAMES: dict[str, dict[str, str]] = i18n.catalogue().table("garbage.category")


def t(key: str, language: str = "ja", **kw: object) -> str:
    return i18n.t(f"garbage.text.{key}", language, **kw)


def category_name(label: str, language: str = "ja") -> str:
    names = CATEGORY_NAMES.get(label, {})
    if language == "ja" or not names:
        return label
    return names.get(language) or (label if language.startswith("ja") else names.get("en", label))


def join(labels: list[str] | tuple[str, ...], language: str = "ja") -> str:
    return t("list_sep", language).join(category_name(c, language) for c in labels)
