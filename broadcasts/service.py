"""Operator entry points as plain async functions (``app/cli.py`` only parses arguments and calls these).

``civicbot subscribers seed``  → ``seed_subscribers``       ``civicbot broadcast send``   → ``send_broadcast``
``civicbot broadcast status``  → ``broadcast_status`` + ``format_status``
``civicbot serve worker``      → ``run_delivery_worker`` (next to the chat worker)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.redis_client import RedisClient
from bot.users import User, UserStore
from broadcasts.audience import AudienceQuery, AudienceSource
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.jobs import Deliverer, DeliveryJob, Priority
from broadcasts.line import LinePort
from broadcasts.quota import QuotaPolicy
from broadcasts.ratelimit import RedisRateLimiter
from broadcasts.store import JobStatus

MAX_TEXT = 5000

# (tenant, user_id, language, index) -> None; the composition root may wire alerts' subscription store here
Subscribe = Callable[[str, str, str, int], Awaitable[None]]


@dataclass
class DeliveryDeps:
    """What a delivery worker needs; built by ``app/bootstrap.py``."""

    redis: RedisClient
    line: LinePort
    users: UserStore
    audience: AudienceSource
    tenants: Sequence[str] | Callable[[], Sequence[str]]
    options: EngineOptions = field(default_factory=EngineOptions)
    rates: Mapping[str, float] | None = None  # overrides of ratelimit.DEFAULT_RATES (requests/s per channel)
    quota_policy: QuotaPolicy | None = None
    worker_name: str | None = None


async def run_delivery_worker(deps: DeliveryDeps, stop_event: asyncio.Event) -> None:
    """Run one delivery worker until ``stop_event`` is set (in-flight batches are left to be reclaimed)."""
    worker = DeliveryWorker(
        deps.redis,
        deps.line,
        deps.audience,
        deps.users,
        deps.tenants,
        limiter=RedisRateLimiter(deps.redis, deps.rates),
        quota_policy=deps.quota_policy,
        options=deps.options,
        name=deps.worker_name,
    )
    await worker.run(stop_event)


def synthetic_user_id(tenant: str, index: int) -> str:
    """LINE-shaped ("U" + 32 hex) and deterministic, so seeding twice does not add people."""
    return "U" + hashlib.md5(f"civicbot-synthetic:{tenant}:{index}".encode()).hexdigest()


async def seed_subscribers(
    users: UserStore,
    tenant: str,
    count: int,
    *,
    languages: Sequence[str] = ("ja",),
    subscribe: Subscribe | None = None,
    start: int = 0,
    concurrency: int = 64,
) -> int:
    """Create ``count`` synthetic friends (``synthetic=True``, display name 合成ユーザー) for load tests.

    Languages are assigned round-robin; ``subscribe`` (e.g. alerts' subscription store) is called per user.
    Returns the number of users written.
    """
    sem = asyncio.Semaphore(concurrency)
    now = time.time()

    async def subscribe_one(i: int, uid: str, lang: str) -> None:
        async with sem:
            await subscribe(tenant, uid, lang, i)  # type: ignore[misc]

    for lo in range(start, start + count, 5000):
        chunk = range(lo, min(lo + 5000, start + count))
        batch = [
            User(tenant=tenant, user_id=synthetic_user_id(tenant, i), language=languages[i % len(languages)],
                 display_name=f"合成ユーザー{i}", followed_at=now, synthetic=True)
            for i in chunk
        ]
        await users.import_many(batch)
        if subscribe is not None:
            await asyncio.gather(*(subscribe_one(i, u.user_id, u.language) for i, u in zip(chunk, batch)))
    return count


async def send_broadcast(
    deliverer: Deliverer,
    tenant: str,
    text: str,
    *,
    all_friends: bool = False,
    area: str | None = None,
    priority: Priority = "routine",
    title: str = "",
    source_id: str | None = None,
    translations: Mapping[str, str] | None = None,
) -> str:
    """Queue a text broadcast to every friend (``--all``) or to the subscribers of one area; returns the job id."""
    if all_friends == bool(area):
        raise ValueError("choose exactly one of --all or --area CODE")
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValueError(f"text must be 1 to {MAX_TEXT} characters")
    messages = {"ja": [{"type": "text", "text": text}]}
    for lang, body in (translations or {}).items():
        messages[lang] = [{"type": "text", "text": body}]
    job = DeliveryJob(
        tenant=tenant,
        audience=AudienceQuery(tenant=tenant, all_friends=all_friends, area_codes=(area,) if area else ()),
        messages=messages,
        priority=priority,
        kind="broadcast",
        title=title or text[:40],
        **({"source_id": source_id} if source_id else {}),
    )
    return await deliverer.submit(job)


async def broadcast_status(deliverer: RedisDeliverer, job_id: str) -> JobStatus | None:
    return await deliverer.status(job_id)


def format_status(status: JobStatus | None, *, as_json: bool = False) -> str:
    """What ``civicbot broadcast status`` prints."""
    if status is None:
        return "unknown job"
    data = status.as_dict()
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines = [
        f"job {status.job_id} ({status.priority}, {status.kind}) {status.state}",
        f"recipients {status.recipients}  sent {status.sent}  failed {status.failed}  blocked {status.blocked}"
        f"  held {status.held}  queued {status.queued}  cancelled {status.cancelled}",
        f"batches {status.batches_done}/{status.batches}{'' if status.planned else ' (audience still resolving)'}",
    ]
    if status.first_send_at:
        lines.append(f"first send +{status.first_send_at - status.created_at:.3f}s")
    if status.last_send_at:
        lines.append(f"last send +{status.last_send_at - status.created_at:.3f}s")
    if status.duration is not None:
        lines.append(f"duration {status.duration:.3f}s")
    if status.error:
        lines.append(f"error {status.error}")
    if status.failure_reasons:
        lines.append("reasons " + ", ".join(f"{k}={v}" for k, v in sorted(status.failure_reasons.items())))
    return "\n".join(lines)
