"""Test helpers: LINE webhook bodies and signatures, tenants."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid

from pydantic import SecretStr

from bot.config import Tenant


def tenant(tid: str = "demo", secret: str = "demo-secret", token: str = "demo-token", **kw) -> Tenant:
    return Tenant(
        id=tid,
        display_name=kw.pop("display_name", "デモ市"),
        lg_code=kw.pop("lg_code", "271004"),
        channel_secret=SecretStr(secret),
        channel_token=SecretStr(token),
        **kw,
    )


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def text_event(user: str = "U" + "1" * 32, text: str = "こんにちは", event_id: str | None = None, redelivery: bool = False, ts_ms: int | None = None) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": ts_ms if ts_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": text, "quoteToken": "q"},
    }


def follow_event(user: str = "U" + "1" * 32) -> dict:
    e = text_event(user)
    e["type"] = "follow"
    e.pop("message")
    e["follow"] = {"isUnblocked": False}
    return e


def unfollow_event(user: str = "U" + "1" * 32) -> dict:
    e = text_event(user)
    e["type"] = "unfollow"
    e.pop("message")
    e.pop("replyToken")
    return e


def body(*events: dict) -> bytes:
    return json.dumps({"destination": "Uxxxxxxxx", "events": list(events)}, ensure_ascii=False).encode()


def write_legacy_subscriber(pipe, tenant: str, sub, gazetteer, *, active: bool = True) -> None:
    """What the layout before bitmaps (LAYOUT_VERSION 2) wrote for one resident: keys per user and id sets."""
    from alerts.subscriptions import index_entries, point_entries

    k = f"cb:{{{tenant}}}:alerts:"
    pipe.set(f"{k}sub:{sub.user_id}", sub.to_json())
    for key, cat in index_entries(sub, gazetteer):
        pipe.sadd(f"{k}m:{key}:{cat}", sub.user_id)
    for (cat, member), (lat, lng) in point_entries(sub).items():
        pipe.geoadd(f"{k}geo:{cat}", (lng, lat, member))
    pipe.sadd(f"{k}lang:{sub.language}", sub.user_id)
    pipe.hset(f"{k}profile", sub.user_id, f"{sub.language}|")
    pipe.sadd(f"{k}users", sub.user_id)
    pipe.hset(f"cb:{{{tenant}}}:user:{sub.user_id}", mapping={
        "active": "1" if active else "0", "language": sub.language, "display_name": "", "followed_at": "1.0",
        "updated_at": "2.0", "synthetic": "0"})
    if active:
        pipe.sadd(f"cb:{{{tenant}}}:users:active", sub.user_id)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token a staff page's form carries."""
    return _CSRF.search(html).group(1)


async def staff_login(client, tenant: str, username: str, password: str, *, next_path: str) -> None:
    """Sign in through the staff login form with an aiohttp test client (cookies kept), second factor included;
    expects to land on ``next_path``."""
    from staff.testing import complete_login

    token = csrf_token(await (await client.get("/staff/login")).text())
    resp = await client.post("/staff/login", allow_redirects=False, data={
        "tenant": tenant, "username": username, "password": password, "csrf_token": token, "next": next_path})
    assert resp.status == 303
    assert await complete_login(client, resp.headers["Location"], tenant, username) == next_path


class ManualClock:
    """A clock the test sets and advances by hand (``clock.now`` = seconds since the epoch); pass it where code
    takes a ``clock`` callable."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
