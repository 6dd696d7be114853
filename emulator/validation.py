"""Request-body validation the way LINE does it: line-bot-sdk's own models plus the limits the SDK leaves out.

A failure becomes LINE's error JSON: ``{"message": "The request body has N error(s)", "details": [{"message",
"property"}]}``; the property is LINE's JSON path (``messages[0].text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from linebot.v3 import messaging as sdk

MAX_MESSAGES = 5
MAX_TEXT_UTF16 = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_MULTICAST_TO = 500
MAX_ACTION_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_ACTION_TEXT = 300
MAX_ALT_TEXT = 400

REQUEST_MODELS: dict[str, Any] = {
    "reply": sdk.ReplyMessageRequest,
    "push": sdk.PushMessageRequest,
    "multicast": sdk.MulticastRequest,
    "narrowcast": sdk.NarrowcastRequest,
    "broadcast": sdk.BroadcastRequest,
    "loading": sdk.ShowLoadingAnimationRequest,
    "markAsRead": sdk.MarkMessagesAsReadRequest,
    "markAsReadByToken": sdk.MarkMessagesAsReadByTokenRequest,
    "richmenu": sdk.RichMenuRequest,
    "richmenuAlias": sdk.CreateRichMenuAliasRequest,
    "richmenuAliasUpdate": sdk.UpdateRichMenuAliasRequest,
    "richmenuBulkLink": sdk.RichMenuBulkLinkRequest,
    "richmenuBulkUnlink": sdk.RichMenuBulkUnlinkRequest,
    "richmenuBatch": sdk.RichMenuBatchRequest,
}
SENDS_MESSAGES = {"reply", "push", "multicast", "narrowcast", "broadcast"}


def utf16_len(text: str) -> int:
    """LINE counts text length in UTF-16 code units: an emoji outside the BMP counts as 2."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Invalid(Exception):
    """A 400 answer in LINE's shape."""

    message: str
    details: list[dict[str, str]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.details:
            out["details"] = self.details
        return out


def validate(endpoint: str, body: Any) -> None:
    """Raise ``Invalid`` when LINE would refuse this request body for ``endpoint``."""
    if not isinstance(body, dict):
        raise Invalid("The request body could not be parsed as JSON")
    details: list[dict[str, str]] = []
    if endpoint in SENDS_MESSAGES:
        details += _check_messages(body.get("messages"))
    if endpoint == "multicast":
        to = body.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_MULTICAST_TO:
            details.append(_detail(f"Size must be between 1 and {MAX_MULTICAST_TO}", "to"))
        elif not all(map(isinstance, to, repeat(str))) or "" in to:  # C loops: a 500-id check stays cheap
            details.append(_detail("must be an array of user IDs", "to"))
    if endpoint == "push" and not (isinstance(body.get("to"), str) and body["to"]):
        details.append(_detail("must be specified", "to"))
    if endpoint == "reply" and not (isinstance(body.get("replyToken"), str) and body["replyToken"]):
        details.append(_detail("must be specified", "replyToken"))
    if endpoint == "loading":
        seconds = body.get("loadingSeconds", 20)
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 5 <= seconds <= 60 or seconds % 5:
            details.append(_detail("must be a multiple of 5 between 5 and 60", "loadingSeconds"))
    if not details:
        if endpoint == "multicast":  # ``to`` passed the check above, stricter than the SDK's: spare it 500 validations
            body = {**body, "to": body["to"][:1]}
        details += _sdk_errors(REQUEST_MODELS[endpoint], body, "")
    if details:
        raise Invalid(f"The request body has {len(details)} error(s)", details)


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [_detail(f"Size must be between 1 and {MAX_MESSAGES}", "messages")]
    details: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, dict):
            details.append(_detail("must be a message object", path))
            continue
        if message.get("type") == "text":
            text = message.get("text")
            if not isinstance(text, str) or not 1 <= utf16_len(text) <= MAX_TEXT_UTF16:
                details.append(_detail(f"Length must be between 1 and {MAX_TEXT_UTF16}", f"{path}.text"))
        alt = message.get("altText")
        if isinstance(alt, str) and utf16_len(alt) > MAX_ALT_TEXT:
            details.append(_detail(f"Length must be between 0 and {MAX_ALT_TEXT}", f"{path}.altText"))
        quick = message.get("quickReply")
        if quick is not None:
            items = quick.get("items") if isinstance(quick, dict) else None
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
                details.append(_detail(f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}", f"{path}.quickReply.items"))
            else:
                for j, item in enumerate(items):
                    action = item.get("action") if isinstance(item, dict) else None
                    details += _check_action(action, f"{path}.quickReply.items[{j}].action")
        if not details:
            details += _sdk_errors(sdk.Message, message, path)
    return details


def _check_action(action: Any, path: str) -> list[dict[str, str]]:
    if not isinstance(action, dict):
        return [_detail("must be specified", path)]
    out = []
    label = action.get("label")
    if isinstance(label, str) and utf16_len(label) > MAX_ACTION_LABEL:
        out.append(_detail(f"Length must be between 0 and {MAX_ACTION_LABEL}", f"{path}.label"))
    if action.get("type") == "postback":
        data = action.get("data")
        if not isinstance(data, str) or utf16_len(data) > MAX_POSTBACK_DATA:
            out.append(_detail(f"Length must be between 0 and {MAX_POSTBACK_DATA}", f"{path}.data"))
    if action.get("type") == "message":
        text = action.get("text")
        if not isinstance(text, str) or not 1 <= utf16_len(text) <= MAX_ACTION_TEXT:
            out.append(_detail(f"Length must be between 1 and {MAX_ACTION_TEXT}", f"{path}.text"))
    return out


def _sdk_errors(model: Any, data: dict[str, Any], path: str) -> list[dict[str, str]]:
    """Run line-bot-sdk's model over the raw JSON and turn its (pydantic v1) errors into LINE details."""
    try:
        model.from_dict(data)
    except ValueError as exc:  # pydantic.v1 ValidationError is a ValueError; so is the discriminator lookup
        errors = getattr(exc, "errors", None)
        if callable(errors):
            return [_detail(_msg(e), _join(path, e.get("loc", ()))) for e in errors()]
        return [_detail(str(exc).split(".")[0], _join(path, ("type",)))]
    except (TypeError, AttributeError, KeyError) as exc:
        return [_detail(f"invalid value ({type(exc).__name__})", path or "body")]
    return []


def _msg(error: dict[str, Any]) -> str:
    if error.get("type") == "value_error.missing":
        return "must be specified"
    return str(error.get("msg", "invalid"))


def _join(path: str, loc: tuple) -> str:
    out = path
    for part in loc:
        if part == "__root__":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _detail(message: str, prop: str) -> dict[str, str]:
    return {"message": message, "property": prop}
