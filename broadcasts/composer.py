"""The staff broadcast composer's domain: drafts, two-person approval, scheduling, cancel.

A draft becomes a ``DeliveryJob`` (source id ``composer:<draft id>``, so releasing twice — two schedulers, a double
click — still sends once). A broadcast to *everyone* of a tenant (all friends, or no area chosen) needs a second staff
member's approval before it goes anywhere. Scheduled drafts live in a sorted set; ``dispatch_due`` (run every few
seconds by APScheduler, see ``start_scheduler``) releases those whose time has come, so a restart loses nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.redis_client import RedisClient
from broadcasts.audience import AudienceQuery, AudienceSource
from broadcasts.jobs import Deliverer, DeliveryJob

MAX_TEXT = 5000
STATES = ("awaiting_approval", "scheduled", "sent", "cancelled")


class ComposerError(ValueError):
    """A draft that cannot be created or changed as asked (the message is shown to staff, in Japanese)."""


AREAS_WITHOUT_APPROVAL = 3  # a ward and its neighbours; more areas is "most of the prefecture" in practice


def needs_approval(all_friends: bool, area_codes: Sequence[str]) -> bool:
    """A second person approves a broadcast to everyone: all friends, no area (= every area), or many areas — ticking
    every area box must not be a way around the approval."""
    return all_friends or not area_codes or len(set(area_codes)) > AREAS_WITHOUT_APPROVAL


@dataclass(frozen=True)
class Draft:
    id: str
    tenant: str
    text: str
    created_by: str
    created_at: float
    link_url: str = ""
    image_url: str = ""
    area_codes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    all_friends: bool = False
    send_at: float | None = None  # None = as soon as allowed
    state: str = "scheduled"
    audience_size: int = 0
    approved_by: str = ""
    cancelled_by: str = ""
    job_id: str = ""
    sent_at: float | None = None

    @property
    def needs_approval(self) -> bool:
        return needs_approval(self.all_friends, self.area_codes)

    def query(self) -> AudienceQuery:
        return AudienceQuery(
            tenant=self.tenant,
            area_codes=self.area_codes,
            categories=self.categories,
            languages=self.languages,
            all_friends=self.all_friends,
        )

    def messages(self) -> dict[str, list[dict]]:
        text = self.text if not self.link_url else f"{self.text}\n{self.link_url}"
        msgs: list[dict] = [{"type": "text", "text": text}]
        if self.image_url:
            msgs.append({"type": "image", "originalContentUrl": self.image_url, "previewImageUrl": self.image_url})
        return {"ja": msgs}

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Draft:
        data = json.loads(raw)
        for name in ("area_codes", "categories", "languages"):
            data[name] = tuple(data.get(name) or ())
        return cls(**data)


class DraftStore(Protocol):
    async def get(self, tenant: str, draft_id: str) -> Draft | None: ...
    async def save(self, draft: Draft) -> None: ...
    async def recent(self, tenant: str, limit: int = 50) -> list[Draft]: ...
    async def due(self, tenant: str, now: float) -> list[Draft]: ...


class MemoryDraftStore:
    def __init__(self) -> None:
        self._drafts: dict[tuple[str, str], Draft] = {}

    async def get(self, tenant: str, draft_id: str) -> Draft | None:
        return self._drafts.get((tenant, draft_id))

    async def save(self, draft: Draft) -> None:
        self._drafts[(draft.tenant, draft.id)] = draft

    async def recent(self, tenant: str, limit: int = 50) -> list[Draft]:
        mine = [d for (t, _), d in self._drafts.items() if t == tenant]
        return sorted(mine, key=lambda d: d.created_at, reverse=True)[:limit]

    async def due(self, tenant: str, now: float) -> list[Draft]:
        return sorted(
            (d for (t, _), d in self._drafts.items() if t == tenant and d.state == "scheduled" and (d.send_at or 0) <= now),
            key=lambda d: d.send_at or 0,
        )


class RedisDraftStore:
    """``cb:{t}:broadcasts:draft:<id>`` JSON, ``…:drafts`` zset by creation, ``…:scheduled`` zset by send time."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client

    @staticmethod
    def _p(tenant: str) -> str:
        return f"cb:{{{tenant}}}:broadcasts"

    async def get(self, tenant: str, draft_id: str) -> Draft | None:
        raw = await self._r.get(f"{self._p(tenant)}:draft:{draft_id}")
        return None if raw is None else Draft.from_json(raw)

    async def save(self, draft: Draft) -> None:
        p = self._p(draft.tenant)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(f"{p}:draft:{draft.id}", draft.to_json())
            pipe.zadd(f"{p}:drafts", {draft.id: draft.created_at})
            if draft.state == "scheduled":
                pipe.zadd(f"{p}:scheduled", {draft.id: draft.send_at or 0})
            else:
                pipe.zrem(f"{p}:scheduled", draft.id)
            await pipe.execute()

    async def recent(self, tenant: str, limit: int = 50) -> list[Draft]:
        ids = await self._r.zrevrange(f"{self._p(tenant)}:drafts", 0, limit - 1)
        return [d for d in [await self.get(tenant, i) for i in ids] if d is not None]

    async def due(self, tenant: str, now: float) -> list[Draft]:
        ids = await self._r.zrangebyscore(f"{self._p(tenant)}:scheduled", "-inf", now)
        drafts = [await self.get(tenant, i) for i in ids]
        return [d for d in drafts if d is not None and d.state == "scheduled"]


async def audience_size(audience: AudienceSource, query: AudienceQuery) -> int:
    """How many people a query reaches right now (what staff see before sending)."""
    n = 0
    async for _ in audience.resolve(query):
        n += 1
    return n


def _check_url(url: str, what: str) -> str:
    url = url.strip()
    if url and (not url.startswith("https://") or len(url) > 2000 or any(c.isspace() for c in url)):
        raise ComposerError(f"{what}は https:// で始まるURLにしてください。")
    return url


async def compose(
    drafts: DraftStore,
    deliverer: Deliverer,
    audience: AudienceSource,
    *,
    tenant: str,
    by: str,
    text: str,
    link_url: str = "",
    image_url: str = "",
    area_codes: Sequence[str] = (),
    categories: Sequence[str] = (),
    languages: Sequence[str] = (),
    all_friends: bool = False,
    send_at: float | None = None,
    now: float | None = None,
) -> Draft:
    """Create a draft and move it as far as allowed: sent now, scheduled, or waiting for a second person."""
    now = time.time() if now is None else now
    text = text.strip()
    if not text:
        raise ComposerError("本文を入力してください。")
    if len(text) > MAX_TEXT:
        raise ComposerError(f"本文は{MAX_TEXT}文字以内にしてください。")
    if send_at is not None and send_at < now - 60:
        raise ComposerError("配信日時が過去になっています。")
    draft = Draft(
        id=uuid.uuid4().hex[:12],
        tenant=tenant,
        text=text,
        created_by=by,
        created_at=now,
        link_url=_check_url(link_url, "リンク"),
        image_url=_check_url(image_url, "画像"),
        area_codes=tuple(dict.fromkeys(a.strip() for a in area_codes if a.strip())),
        categories=tuple(categories),
        languages=tuple(languages),
        all_friends=all_friends,
        send_at=send_at,
    )
    draft = replace(draft, audience_size=await audience_size(audience, draft.query()))
    if draft.needs_approval:
        draft = replace(draft, state="awaiting_approval")
        await drafts.save(draft)
        return draft
    return await _schedule_or_send(drafts, deliverer, replace(draft, state="scheduled"), now)


async def _schedule_or_send(drafts: DraftStore, deliverer: Deliverer, draft: Draft, now: float) -> Draft:
    if draft.send_at is not None and draft.send_at > now:
        draft = replace(draft, state="scheduled")
        await drafts.save(draft)
        return draft
    return await release(drafts, deliverer, draft, now)


async def release(drafts: DraftStore, deliverer: Deliverer, draft: Draft, now: float | None = None) -> Draft:
    """Hand the draft to the delivery engine (idempotent: the job's source id is the draft id)."""
    job = DeliveryJob(
        tenant=draft.tenant,
        audience=draft.query(),
        messages=draft.messages(),
        priority="routine",
        kind="broadcast",
        source_id=f"composer:{draft.id}",
        title=draft.text[:40],
    )
    job_id = await deliverer.submit(job)
    sent = replace(draft, state="sent", job_id=job_id, sent_at=time.time() if now is None else now)
    await drafts.save(sent)
    return sent


async def approve(drafts: DraftStore, deliverer: Deliverer, tenant: str, draft_id: str, by: str, now: float | None = None) -> Draft:
    now = time.time() if now is None else now
    draft = await drafts.get(tenant, draft_id)
    if draft is None:
        raise ComposerError("配信が見つかりません。")
    if draft.state != "awaiting_approval":
        raise ComposerError("この配信は承認待ちではありません。")
    if by == draft.created_by:
        raise ComposerError("作成した本人は承認できません。別の職員が承認してください。")
    return await _schedule_or_send(drafts, deliverer, replace(draft, approved_by=by), now)


async def cancel(
    drafts: DraftStore, tenant: str, draft_id: str, by: str, cancel_job: Callable[[str], object] | None = None
) -> Draft:
    """Cancel a draft waiting for approval or its time; a sent one is stopped through ``cancel_job`` if given."""
    draft = await drafts.get(tenant, draft_id)
    if draft is None:
        raise ComposerError("配信が見つかりません。")
    if draft.state in ("awaiting_approval", "scheduled"):
        draft = replace(draft, state="cancelled", cancelled_by=by)
        await drafts.save(draft)
        return draft
    if draft.state == "sent" and cancel_job is not None and draft.job_id:
        result = cancel_job(draft.job_id)
        if hasattr(result, "__await__"):
            result = await result  # type: ignore[misc]
        if result:
            draft = replace(draft, state="cancelled", cancelled_by=by)
            await drafts.save(draft)
            return draft
    raise ComposerError("この配信は取り消せません。")


async def dispatch_due(drafts: DraftStore, deliverer: Deliverer, tenants: Sequence[str], now: float | None = None) -> int:
    """Release every scheduled draft whose time has come; returns how many."""
    now = time.time() if now is None else now
    n = 0
    for tenant in tenants:
        for draft in await drafts.due(tenant, now):
            await release(drafts, deliverer, draft, now)
            n += 1
    return n


def start_scheduler(drafts: DraftStore, deliverer: Deliverer, tenants: Sequence[str], interval_seconds: float = 5.0):
    """An APScheduler ``AsyncIOScheduler`` running ``dispatch_due`` every few seconds (call ``.shutdown()`` on exit)."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        dispatch_due, "interval", seconds=interval_seconds, args=[drafts, deliverer, list(tenants)], max_instances=1, coalesce=True
    )
    scheduler.start()
    return scheduler


@dataclass
class ComposerChoices:
    """What the form offers: (code, label) pairs given by the composition root (alerts knows areas/categories)."""

    areas: Sequence[tuple[str, str]] = ()
    categories: Sequence[tuple[str, str]] = ()
    languages: Sequence[tuple[str, str]] = field(
        default_factory=lambda: [("ja", "日本語"), ("ja-easy", "やさしい日本語"), ("en", "English"), ("zh-Hans", "中文"), ("ko", "한국어"), ("vi", "Tiếng Việt")]
    )
