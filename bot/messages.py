"""The bot's own short texts (welcome, help, fallback) and the main menu, from the catalogue (keys ``core.*``)."""

from __future__ import annotations

from collections.abc import Iterable

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
