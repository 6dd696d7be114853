"""JMA 防災情報XML: parsing (``alerts.jma.parser``). Feeds live in ``alerts.feeds``, decisions in ``alerts.service``."""

from alerts.jma.parser import HostileXMLError, Telegram, TelegramError, parse_file, parse_telegram

__all__ = ["HostileXMLError", "Telegram", "TelegramError", "parse_file", "parse_telegram"]
