"""Feed the public KPIs from finished delivery jobs: alerts (with latency: JMA report → last recipient), staff
broadcasts and garbage reminders, each counted by its job kind. Report status notices are left to the reports room.

Runs in the scheduler. Each finished job is recorded exactly once (a marker set per tenant), whatever the number of
scheduler restarts; jobs still sending are looked at again next time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

DeliveryClass = Literal["alert", "broadcast", "reminder", "report_notice"]


class JobLister(Protocol):
    async def list_jobs(self, tenant: str, limit: int = 50) -> list[Any]: ...


def delivery_class(kind: str) -> DeliveryClass | None:
    """What a delivery job's ``kind`` counts as; None for a kind nobody declared (counted as nothing, not as an alert)."""
    if kind == "broadcast":
        return "broadcast"
    if kind.startswith("garbage:"):  # "garbage:reminder"
        return "reminder"
    if kind.startswith("reports:"):  # "reports:status"
        return "report_notice"
    if kind.startswith("jma:") or kind == "police":
        return "alert"
    return None


async def record_finished_jobs(
    deliverer: JobLister,
    kpi: Any,
    first_time: Callable[[str, str], Awaitable[bool]],
    tenants: Iterable[str],
    limit: int = 200,
) -> int:
    """Record KPIs of jobs that are done; ``first_time(tenant, job_id)`` is True only once per job."""
    recorded = 0
    for tenant in tenants:
        for job in await deliverer.list_jobs(tenant, limit):
            if job.state != "done" or not await first_time(tenant, job.job_id):
                continue
            what = delivery_class(job.kind)
            if what == "broadcast":
                await kpi.broadcast_sent(tenant, job.sent)
            elif what == "reminder":
                await kpi.reminder_sent(tenant, job.sent)
            elif what == "alert":  # "jma:VPWW55", "jma:VPWW55:cancel", "police"
                kind = job.kind.split(":", 1)[-1] if job.kind.startswith("jma:") else job.kind
                latency = job.latency_last if job.latency_last is not None else (job.duration or 0.0)
                await kpi.alert_delivered(tenant, kind, job.sent, latency)
            elif what == "report_notice":  # a report's status notice: the reports room counts its own figures
                continue
            else:
                log.warning("delivery job of unknown kind not counted", extra={"tenant": tenant, "kind": job.kind[:40]})
                continue
            recorded += 1
    return recorded


def redis_marker(client) -> Callable[[str, str], Awaitable[bool]]:
    async def first_time(tenant: str, job_id: str) -> bool:
        key = f"cb:{{{tenant}}}:kpi:jobs-recorded"
        added = await client.sadd(key, job_id)
        await client.expire(key, 400 * 24 * 3600)
        return bool(added)

    return first_time


def memory_marker() -> Callable[[str, str], Awaitable[bool]]:
    seen: set[tuple[str, str]] = set()

    async def first_time(tenant: str, job_id: str) -> bool:
        if (tenant, job_id) in seen:
            return False
        seen.add((tenant, job_id))
        return True

    return first_time
