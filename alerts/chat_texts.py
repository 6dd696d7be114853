"""Texts of the subscription chat, read from the core catalogue (``bot/locales/<lang>.yaml``, keys ``alerts.*``).

The tables keep their ``{name: {language: text}}`` shape for ``alerts.chat``; :func:`pick` is the core fallback rule
(``bot.i18n.chain``: the language, ja-easy → ja, en, ja). Quick-reply labels stay ≤ 20 characters.
"""

from __future__ import annotations

from bot.i18n import catalogue
from bot.i18n import pick as pick

TEXTS: dict[str, dict[str, str]] = catalogue().table("alerts.text")
LABELS: dict[str, dict[str, str]] = catalogue().table("alerts.label")
CATEGORY_LABELS: dict[str, dict[str, str]] = catalogue().table("alerts.category")
THRESHOLD_LABELS: dict[str, dict[str, str]] = catalogue().table("alerts.threshold")
PLACE_NAMES: dict[str, dict[str, str]] = catalogue().table("alerts.place")
LIST_FIELDS: dict[str, dict[str, str]] = catalogue().table("alerts.field")
