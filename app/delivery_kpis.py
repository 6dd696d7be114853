"""Feed the public KPIs from finished delivery jobs: alert latency (JMA report → last recipient) and broadcasts.

Runs in the scheduler. Each finished job is recorded exactly once (a marker set per tenant), whatever the number of
scheduler restarts; jobs still sending are looked at again next time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol


class JobLister(Protocol):
    async def list_jobs(self, tenant: str, limit: int = 50) -> list[Any]: ...


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
            if job.kind.startswith("reports:"):  # a report's status notice: the reports room counts its own figures
                continue
            if job.kind == "broadcast":
                await kpi.broadcast_sent(tenant, job.sent)
            else:  # "jma:VPWW55", "police", ...
                kind = job.kind.split(":", 1)[-1] if job.kind.startswith("jma:") else job.kind
                latency = job.latency_last if job.latency_last is not None else (job.duration or 0.0)
                await kpi.alert_delivered(tenant, kind, job.sent, latency)
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
