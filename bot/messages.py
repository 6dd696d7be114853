"""The bot's own short texts (welcome, help, fallback) per language. Rooms keep their own texts."""

from __future__ import annotations

from bot.chat import Message, postback_data, qr_message, qr_postback, text

_T = {
    "welcome": {
        "ja": "{city}の公式LINEです。友だち追加ありがとうございます。\n"
        "市のよくある質問にお答えし、相談窓口へのご案内、防災・防犯情報のお知らせをします。\n"
        "【個人情報について】送っていただいた内容は、回答と相談対応のためにだけ使い、法令に基づく場合を除き第三者に提供しません。"
        "緊急のときは 110番・119番 に電話してください。",
        "en": "This is the official LINE account of {city}. Thank you for adding us.\n"
        "We answer common questions, guide you to consultation services and send disaster and safety alerts.\n"
        "[Privacy] What you send is used only to answer and support you. In an emergency call 110 (police) or 119 (ambulance/fire).",
    },
    "not_yet": {
        "ja": "ごめんなさい、そのご質問にはまだお答えできません。下のボタンから選ぶか、言葉を変えて送ってみてください。",
        "en": "Sorry, I can't answer that yet. Please choose below or try different words.",
    },
    "help": {
        "ja": "できること：\n・市のよくある質問に答えます（例：「粗大ごみの出し方」）\n・相談窓口をご案内します\n"
        "・防災・防犯のお知らせを登録できます\n・「人と話したい」で職員につなぎます",
        "en": "I can answer common questions, guide you to consultation services, send alerts you register for, "
        'and connect you to a person (send "talk to a person").',
    },
    "greeting": {"ja": "こんにちは。{city}のLINEです。ご用件をどうぞ。", "en": "Hello! This is {city}. How can I help?"},
    "thanks": {
        "ja": "どういたしまして。ほかにもご用があれば、いつでも送ってください。",
        "en": "You're welcome. Message us any time.",
    },
    "unsupported": {
        "ja": "申し訳ありません。文字か位置情報でお送りください。",
        "en": "Sorry, please send text or a location.",
    },
}

_QR = {
    "ja": [
        ("よくある質問", "よくある質問"),
        ("相談したい", "相談したい"),
        ("通知の登録", "防災・防犯通知の登録"),
        ("人と話したい", "人と話したい"),
    ],
    "en": [
        ("FAQ", "FAQ"),
        ("Consultation", "I want to consult"),
        ("Alerts", "Register for alerts"),
        ("Talk to a person", "talk to a person"),
    ],
}


def t(key: str, language: str = "ja", **kw: str) -> str:
    table = _T[key]
    return table.get(language, table["ja"] if language.startswith("ja") or language not in table else table["en"]).format(**kw)


def main_menu(language: str = "ja") -> list[Message]:
    items = _QR[language if language in _QR else ("ja" if language.startswith("ja") else "en")]
    out = [qr_message(label, msg) for label, msg in items]
    out[2] = qr_postback(items[2][0], postback_data("alerts", "menu"), display_text=items[2][1])
    return out


def menu_text(key: str, language: str = "ja", **kw: str) -> Message:
    return text(t(key, language, **kw), main_menu(language))
