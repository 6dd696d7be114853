"""The bot's own short texts (welcome, help, fallback) and the main menu, from the catalogue (keys ``core.*``), and
what the texts its buttons send mean."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from bot import i18n
from bot.chat import Message, postback_data, qr_message, qr_postback, text


def t(key: str, language: str = "ja", offered: Iterable[str] | None = None, **kw: str) -> str:
    return i18n.t(f"core.{key}", language, offered, **kw)


def main_menu(language: str = "ja", offered: Iterable[str] | None = None) -> list[Message]:
    def item(name: str) -> tuple[str, str]:
        return t(f"menu.{name}_label", language, offered), t(f"menu.{name}_text", language, offered)

    out = [qr_message(*item(name)) for name in ("faq", "consult")]
    label, shown = item("alerts")
    out.append(qr_postback(label, postback_data("alerts", "menu"), display_text=shown))
    out.append(qr_message(*item("person")))
    return out


def menu_text(key: str, language: str = "ja", offered: Iterable[str] | None = None, **kw: str) -> Message:
    return text(t(key, language, offered, **kw), main_menu(language, offered))


# Catalogue keys of the texts the bot's quick-reply buttons send as the resident's message (each in the resident's
# language) → the intent the router gives them. The router reads them before the NLU (which knows Japanese only), in
# every language of the catalogue, so a tapped button — or the same words typed — always does what it says.
BUTTON_INTENTS: dict[str, str] = {
    "core.menu.faq_text": "help",
    "core.menu.consult_text": "talk_to_human",
    "core.menu.person_text": "talk_to_human",
    "faq.consult_text": "talk_to_human",
    "faq.person_text": "talk_to_human",
    "handoff.menu_text": "help",
}
_EDGES = re.compile(r"^[\s\"'「『“]+|[\s\"'」』”。．.!！?？]+$")


def _fold(value: str) -> str:
    return _EDGES.sub("", unicodedata.normalize("NFKC", value).casefold())


@cache
def _button_texts() -> dict[str, str]:
    texts = i18n.catalogue().texts
    out: dict[str, str] = {}
    for key, intent in BUTTON_INTENTS.items():
        for language in sorted(texts):
            if key in texts[language]:
                out.setdefault(_fold(texts[language][key]), intent)
    return out


def button_intent(message: str) -> str | None:
    """The intent of a text one of the bot's buttons sends (any catalogue language; case, width and surrounding
    punctuation aside), None for anything else."""
    return _button_texts().get(_fold(message or ""))
