"""What chat handlers see and return. Handlers in every room speak this vocabulary.

A handler receives an ``Incoming`` (one resident event, already normalized) and returns a list of LINE message
objects as plain dicts in LINE API JSON (``{"type": "text", "text": ..., "quickReply": {...}}``), or ``None`` when
the event is not for it. The router sends them (reply token first, push with a retry key when it has expired).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from bot.config import Tenant

Message = dict[str, Any]  # one LINE message object (or quick-reply item) in LINE API JSON

EventKind = Literal["text", "postback", "location", "follow", "unfollow", "image", "sticker", "other"]


@dataclass
class Incoming:
    tenant: Tenant
    user_id: str
    kind: EventKind
    webhook_event_id: str
    timestamp_ms: int
    reply_token: str | None = None
    text: str | None = None  # message text (kind == "text")
    postback: dict[str, str] = field(default_factory=dict)  # parsed postback data (querystring), kind == "postback"
    postback_params: dict[str, Any] = field(default_factory=dict)  # datetime picker params etc.
    location: tuple[float, float] | None = None  # (lat, lng), kind == "location"
    address: str | None = None
    message_id: str | None = None
    language: str = "ja"  # the resident's chosen language
    raw: dict[str, Any] = field(default_factory=dict)  # the webhook event as received


def postback_data(room: str, action: str, **params: str) -> str:
    """Postback data convention: ``room=alerts&action=add_place&...`` (max 300 chars in LINE)."""
    data = urlencode({"room": room, "action": action, **params})
    if len(data) > 300:
        raise ValueError("postback data longer than LINE's 300 characters")
    return data


def parse_postback(data: str) -> dict[str, str]:
    return dict(parse_qsl(data, keep_blank_values=True))


def text(message: str, quick_replies: list[Message] | None = None) -> Message:
    """A LINE text message (trimmed to LINE's 5,000 characters) with optional quick-reply items."""
    msg: dict[str, Any] = {"type": "text", "text": message[:5000]}
    if quick_replies:
        msg["quickReply"] = {"items": quick_replies[:13]}
    return msg


def qr_message(label: str, text_: str | None = None) -> Message:
    """Quick reply that sends a text message (label ≤ 20 chars)."""
    return {"type": "action", "action": {"type": "message", "label": label[:20], "text": text_ or label}}


def qr_postback(label: str, data: str, display_text: str | None = None) -> Message:
    action: dict[str, Any] = {"type": "postback", "label": label[:20], "data": data}
    if display_text:
        action["displayText"] = display_text
    return {"type": "action", "action": action}


def qr_location(label: str = "位置情報を送る") -> Message:
    return {"type": "action", "action": {"type": "location", "label": label[:20]}}
