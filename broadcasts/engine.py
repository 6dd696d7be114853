"""The delivery engine: submit jobs, and workers that plan them into batches and send the batches to LINE.

Flow: ``RedisDeliverer.submit`` puts the job on ``q:<lane>``. A worker planning it resolves the audience into
batches of ≤500 ids per language (single recipient → push), each with a retry key written *before* any attempt,
committed in atomic chunks onto ``b:<lane>``. Any worker sends batches: rate-limited per channel and endpoint, retried
with exponential backoff and jitter on 429/5xx/timeouts with the same retry key (a 409 is success), settled exactly
once by a Lua script. Consumer groups spread the work; entries of a dead worker are taken over with XAUTOCLAIM.
Lanes: a tenant's routine work waits while it has alert or emergency jobs running, alerts wait for emergencies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.redis_client import RedisClient, is_transient
from bot.users import UserStore
from broadcasts.audience import AudienceSource
from broadcasts.jobs import DeliveryJob
from broadcasts.line import LinePort, SendOutcome
from broadcasts.quota import QuotaGuard, QuotaPolicy
from broadcasts.ratelimit import RateLimiter, RedisRateLimiter, acquire
from broadcasts.store import LANES, Batch, DeliveryStore, Entry, JobStatus, Read, RedisDeliveryStore, tenant_of

log = logging.getLogger(__name__)

MAX_MULTICAST = 500
MAX_ERRORS = 5  # unexpected exceptions on one batch/plan before it is settled as failed


@dataclass(frozen=True)
class EngineOptions:
    batch_size: int = MAX_MULTICAST
    concurrency: int = 16  # batches in flight per worker process
    max_planners: int = 2  # jobs being resolved at once per worker
    plan_chunk: int = 20  # batches per atomic planning commit (the first batch of a job is committed alone)
    max_attempts: int = 12  # per batch, for 429/5xx/timeouts
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    monthly_limit_retry_seconds: float = 600.0  # emergencies/alerts keep trying a "monthly limit" 429 this long
    reclaim_idle_seconds: float = 60.0  # pending entries idle this long belong to a dead worker
    reclaim_idle_emergency_seconds: float = 15.0  # > HTTP timeout (10 s): a live worker touches its entry sooner
    reclaim_interval: float = 5.0
    resume_interval: float = 30.0  # how often held (quota) jobs are re-examined
    poll_min: float = 0.02
    poll_max: float = 0.2
    lane_cache_seconds: float = 0.05
    drain_seconds: float = 5.0  # on a clean stop, in-flight batches get this long to finish before being left to others
    forget_consumers_after: float = 3600.0  # a consumer with nothing pending, idle this long, is removed from groups


def _top(counts: tuple[int, ...]) -> int:
    """Index of the highest lane with unfinished jobs (len(LANES) when none)."""
    return next((li for li, c in enumerate(counts) if c), len(LANES))


def backoff_delay(attempt: int, opts: EngineOptions, rng: random.Random, retry_after: float | None = None) -> float:
    """Exponential with "equal jitter": half fixed, half random, so retrying workers spread out but still back off."""
    exp = min(opts.backoff_cap, opts.backoff_base * (2 ** max(0, attempt - 1)))
    delay = exp / 2 + rng.uniform(0, exp / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, opts.backoff_cap))
    return delay


class RedisDeliverer:
    """The ``Deliverer`` port over Redis Streams; also the read side (status, list, cancel, events) for admin/CLI."""

    def __init__(self, client: RedisClient) -> None:
        self.store: DeliveryStore = RedisDeliveryStore(client)

    async def submit(self, job: DeliveryJob) -> str:
        if "ja" not in job.messages:
            raise ValueError("a delivery job needs Japanese ('ja') messages as the fallback language")
        if any(not msgs or len(msgs) > 5 for msgs in job.messages.values()):
            raise ValueError("each language needs 1 to 5 LINE messages")
        return await self.store.submit(job)

    async def status(self, job_id: str) -> JobStatus | None:
        return await self.store.status(job_id)

    async def list_jobs(self, tenant: str, limit: int = 50) -> list[JobStatus]:
        return await self.store.list_jobs(tenant, limit)

    async def cancel(self, job_id: str) -> bool:
        return await self.store.cancel(job_id)

    async def events(self, tenant: str, count: int = 100) -> list[dict]:
        return await self.store.events(tenant, count)


Work = Entry  # a stream entry this worker took (broadcasts.store.Entry)


class DeliveryWorker:
    """One worker process's share of the delivery work (run many; they coordinate only through Redis)."""

    def __init__(
        self,
        client: RedisClient | None,
        line: LinePort,
        audience: AudienceSource,
        users: UserStore,
        tenants: Sequence[str] | Callable[[], Sequence[str]],
        *,
        limiter: RateLimiter | None = None,
        quota: QuotaGuard | None = None,
        quota_policy: QuotaPolicy | None = None,
        options: EngineOptions | None = None,
        name: str | None = None,
        rng: random.Random | None = None,
        store: DeliveryStore | None = None,
    ) -> None:
        if store is None or limiter is None:  # on Redis unless both are given (MemoryDeliveryStore in unit tests)
            if client is None:
                raise ValueError("without a Redis client, give the store and the rate limiter")
            store = store or RedisDeliveryStore(client)
            limiter = limiter or RedisRateLimiter(client)
        self.store: DeliveryStore = store
        self.limiter: RateLimiter = limiter
        self.line = line
        self.audience = audience
        self.users = users
        self._tenants = tenants
        self.quota = quota or QuotaGuard(self.store, line, quota_policy)
        self.opts = options or EngineOptions()
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.rng = rng or random.Random()
        self._jobs: dict[str, DeliveryJob] = {}
        self._lane_cache: dict[str, tuple[float, int]] = {}
        self._planning = 0
        self._groups_ready: set[str] = set()
        self._wake = asyncio.Event()  # set when this process planned new batches: fetch now instead of after a poll

    def tenants(self) -> list[str]:
        return list(self._tenants() if callable(self._tenants) else self._tenants)

    # --- main loop --------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task] = set()
        loop = asyncio.get_running_loop()
        next_reclaim = 0.0
        next_resume = loop.time() + self.opts.resume_interval
        poll = self.opts.poll_min
        stop_wait = asyncio.ensure_future(stop.wait())
        log.info("delivery worker started", extra={"worker": self.name})
        try:
            me = asyncio.current_task()
            while not stop.is_set():
                if me is not None and me.cancelling():
                    raise asyncio.CancelledError  # a library swallowed our cancellation: honour it anyway
                got: list[Work] = []
                try:
                    await self.ensure_groups()
                    free = self.opts.concurrency - len(tasks)
                    if free > 0 and loop.time() >= next_reclaim:
                        got += await self.reclaim(free)
                        next_reclaim = loop.time() + self.opts.reclaim_interval
                    if free - len(got) > 0:
                        got += await self.fetch(free - len(got))
                    if loop.time() >= next_resume:
                        await self.resume_held()
                        await self.forget_dead_consumers()
                        next_resume = loop.time() + self.opts.resume_interval
                except Exception as exc:
                    if me is not None and me.cancelling():
                        raise asyncio.CancelledError from exc  # redis-py can turn a cancellation into ConnectionError
                    if is_transient(exc):
                        log.warning("redis unavailable, retrying", extra={"worker": self.name, "error": type(exc).__name__})
                    else:  # never let one bad entry or script error kill the worker
                        log.exception("delivery worker loop error", extra={"worker": self.name})
                    self._groups_ready.clear()
                    await asyncio.wait([stop_wait], timeout=0.5)
                    continue
                for w in got:
                    task = asyncio.create_task(self._handle(w))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if got:
                    poll = self.opts.poll_min
                    if len(tasks) < self.opts.concurrency:
                        continue
                if len(tasks) >= self.opts.concurrency:
                    await asyncio.wait([stop_wait, *tasks], timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                else:
                    wake_wait = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait([stop_wait, wake_wait], timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                    wake_wait.cancel()
                if self._wake.is_set():
                    self._wake.clear()
                    poll = self.opts.poll_min
                elif not got:
                    poll = min(self.opts.poll_max, poll * 2)
        finally:
            stop_wait.cancel()
            if tasks and stop.is_set():
                await asyncio.wait(list(tasks), timeout=self.opts.drain_seconds)
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info("delivery worker stopped", extra={"worker": self.name})

    async def ensure_groups(self) -> None:
        missing = [t for t in self.tenants() if t not in self._groups_ready]
        for tenant in missing:
            await self.store.ensure_groups(tenant)
            self._groups_ready.add(tenant)

    async def _active_lanes(self, tenants: list[str]) -> dict[str, tuple[int, ...]]:
        """Per tenant, how many unfinished jobs each lane has; remembered briefly for ``_preempted``."""
        out = await self.store.active_counts(tenants)
        now = time.monotonic()
        for t, row in out.items():
            self._lane_cache[t] = (now, _top(row))
        return out

    async def fetch(self, free: int) -> list[Work]:
        """New entries, highest lane first. A tenant is read only in lanes where it has unfinished jobs, and not
        below its highest busy lane (idle tenants cost one ZCARD per lane per poll, not six stream reads)."""
        tenants = self.tenants()
        active = await self._active_lanes(tenants)
        out: list[Work] = []
        for li, lane in enumerate(LANES):
            want = free - len(out)
            if want <= 0:
                break
            eligible = [t for t in tenants if active[t][li] and _top(active[t]) == li]
            if not eligible:
                continue
            reads: list[Read] = []
            for t in eligible:
                reads.append(Read("batch", t, lane, want))
                if self._planning < self.opts.max_planners:
                    reads.append(Read("plan", t, lane, 1))
            found = await self.store.read_new(self.name, reads)
            self._groups_ready -= found.missing_groups
            for entry in found.entries:
                if entry.kind == "plan":
                    self._planning += 1
                out.append(entry)
        return out

    async def reclaim(self, free: int) -> list[Work]:
        """Take over entries a dead (or stuck) worker left pending longer than ``reclaim_idle_seconds``."""
        out: list[Work] = []
        for t in self.tenants():
            for lane in LANES:
                idle = self.opts.reclaim_idle_seconds
                if lane == "emergency":
                    idle = min(idle, self.opts.reclaim_idle_emergency_seconds)
                idle_ms = int(idle * 1000)
                for kind in ("plan", "batch"):
                    if len(out) >= free or (kind == "plan" and self._planning >= self.opts.max_planners):
                        continue
                    count = 1 if kind == "plan" else free - len(out)
                    taken = await self.store.reclaim(self.name, kind, t, lane, idle_ms, count)
                    if taken is None:
                        self._groups_ready.discard(t)
                        continue
                    for entry in taken:
                        if kind == "plan":
                            self._planning += 1
                        log.info(
                            "reclaimed entry", extra={"worker": self.name, "tenant": t, "entry": entry.entry_id, "kind": kind}
                        )
                        out.append(entry)
        return out

    async def forget_dead_consumers(self) -> None:
        """Every worker start adds a consumer name; drop the ones long gone that hold nothing."""
        limit_ms = int(self.opts.forget_consumers_after * 1000)
        for t in self.tenants():
            await self.store.forget_consumers(t, self.name, limit_ms)

    async def resume_held(self) -> None:
        """Re-queue jobs held for quota once routine sending fits again (a new month, or the limit was raised)."""
        for t in self.tenants():
            await self.quota.state(t)  # keeps the reading fresh and raises quota warnings even if only alerts go out
            for job_id in await self.store.held_jobs(t):
                state = await self.store.job_state(job_id)
                if state == "cancelled" or not await self.quota.should_hold(t, 1, "routine"):
                    n = await self.store.resume(job_id)
                    log.info("resumed held job", extra={"tenant": t, "job": job_id, "batches": n})

    async def _handle(self, w: Work) -> None:
        try:
            await self._work_through_failover(w)
        except asyncio.CancelledError:
            raise
        except Exception:
            # the entry stays pending: another worker (or this one) reclaims it after reclaim_idle_seconds
            log.exception("delivery work failed", extra={"worker": self.name, "tenant": w.tenant, "entry": w.entry_id})
            try:
                await self._poison_guard(w)
            except Exception:
                log.exception("poison guard failed", extra={"entry": w.entry_id})
        finally:
            if w.kind == "plan":
                self._planning -= 1

    async def _work_through_failover(self, w: Work) -> None:
        """Plan or send ``w``; while Redis is unreachable or failing over, do it again after a pause instead of
        leaving the entry for a reclaim 15–60 s later (or counting it towards the poison limit, which would settle
        500 recipients as failed). Both are safe to repeat: a planner taking over skips committed recipients, and
        a batch whose send reached LINE but whose settlement did not is re-sent with its retry key (409)."""
        delay = self.opts.backoff_base
        while True:
            try:
                if w.kind == "plan":
                    await self.plan(w)
                else:
                    await self.send(w)
                return
            except Exception as exc:
                me = asyncio.current_task()
                if me is not None and me.cancelling():
                    raise asyncio.CancelledError from exc  # redis-py can turn a cancellation into ConnectionError
                if not is_transient(exc):
                    raise
                log.warning(
                    "redis unavailable, retrying delivery work",
                    extra={"worker": self.name, "entry": w.entry_id, "error": f"{type(exc).__name__}: {exc}"[:200]},
                )
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)  # Redis back within a failover (≈ 1–3 s): do not wait minutes

    async def _poison_guard(self, w: Work) -> None:
        """Work that fails ``MAX_ERRORS`` times is settled as failed instead of being reclaimed forever."""
        job_id, n = w.fields.get("job"), w.fields.get("n")
        if not job_id or (w.kind == "batch" and n is None):
            await self.store.ack(w.stream, w.entry_id)  # malformed entry
            return
        if w.kind == "batch":
            batch = await self.store.batch(job_id, int(n))
            if batch is None:
                await self.store.ack(w.stream, w.entry_id)
            elif await self.store.count_error(job_id, int(n)) >= MAX_ERRORS:
                await self.store.finish(batch, w.lane, w.entry_id, "failed", len(batch.to), "internal_error")
        elif await self.store.count_error(job_id) >= MAX_ERRORS:
            # the audience cannot be resolved: close the plan with what was committed so the job can finish
            token = f"{self.name}:{uuid.uuid4().hex[:8]}"
            _, planned = await self.store.claim_plan(job_id, token)
            await self.store.note_plan_error(job_id, "audience_error")
            await self.store.commit(job_id, w.lane, token, planned, [], final=True, queue_entry=w.entry_id)

    async def _touch(self, w: Work) -> None:
        """Reset the entry's idle time so nobody reclaims work that is merely slow (long backoff, big audience)."""
        await self.store.touch(self.name, w)

    async def _job(self, job_id: str) -> DeliveryJob | None:
        job = self._jobs.get(job_id)
        if job is None:
            job = await self.store.job_spec(job_id)
            if job is not None:
                if len(self._jobs) > 1000:
                    self._jobs.clear()
                self._jobs[job_id] = job
        return job

    # --- planning ---------------------------------------------------------------------------------------------
    async def plan(self, w: Work) -> None:
        job_id = w.fields["job"]
        token = f"{self.name}:{uuid.uuid4().hex[:8]}"
        state, n = await self.store.claim_plan(job_id, token)
        if state in ("missing", "planned"):
            await self.store.ack(w.stream, w.entry_id)
            return
        job = await self._job(job_id)
        if state == "cancelled" or job is None:  # nothing more to resolve: close the plan so the job can finish
            await self.store.commit(job_id, w.lane, token, n, [], final=True, queue_entry=w.entry_id)
            return
        # a planner taking over skips everyone already in committed batches; the set also enforces "once per job"
        seen = await self.store.planned_recipients(job_id, n) if n else set()
        size = self.opts.batch_size
        buffers: dict[str, list[str]] = {}
        pending: list[tuple[str, str, str, list[str]]] = []
        chunk = 1  # the first batch goes out alone: first recipients get it as soon as 500 are resolved
        async for rcp in self.audience.resolve(job.audience):
            if rcp.user_id in seen:
                continue
            seen.add(rcp.user_id)
            lang = rcp.language if rcp.language in job.messages else "ja"
            buf = buffers.setdefault(lang, [])
            buf.append(rcp.user_id)
            if len(buf) >= size:
                pending.append((lang, "multicast", str(uuid.uuid4()), buf))
                buffers[lang] = []
                if len(pending) >= chunk:
                    if not await self.store.commit(job_id, w.lane, token, n, pending, final=False):
                        log.info("planning taken over", extra={"job": job_id, "worker": self.name})
                        return
                    n += len(pending)
                    pending = []
                    chunk = self.opts.plan_chunk
                    self._wake.set()
                    await self._touch(w)
        for lang, buf in buffers.items():
            if buf:
                pending.append((lang, "push" if len(buf) == 1 else "multicast", str(uuid.uuid4()), buf))
        if not await self.store.commit(job_id, w.lane, token, n, pending, final=True, queue_entry=w.entry_id):
            log.info("planning taken over", extra={"job": job_id, "worker": self.name})
            return
        self._wake.set()
        log.info("job planned", extra={"job": job_id, "batches": n + len(pending), "recipients": len(seen)})

    # --- sending ----------------------------------------------------------------------------------------------
    async def _preempted(self, tenant: str, lane: str) -> bool:
        li = LANES.index(lane)
        if li == 0:
            return False
        cached = self._lane_cache.get(tenant)
        if cached is None or time.monotonic() - cached[0] > self.opts.lane_cache_seconds:
            top = _top((await self._active_lanes([tenant]))[tenant])
        else:
            top = cached[1]
        return top < li

    async def send(self, w: Work) -> None:
        job_id, n = w.fields["job"], int(w.fields["n"])
        batch = await self.store.batch(job_id, n)
        if batch is None or batch.state != "pending":
            await self.store.ack(w.stream, w.entry_id)  # expired, settled, or held: nothing to send
            return
        job = await self._job(job_id)
        tenant = tenant_of(job_id)
        if job is None or await self.store.job_state(job_id) == "cancelled":
            await self.store.finish(batch, w.lane, w.entry_id, "cancelled", len(batch.to))
            return
        if await self.quota.should_hold(tenant, len(batch.to), w.lane):
            await self.store.hold(batch, w.lane, w.entry_id, "quota")
            log.info("batch held for quota", extra={"job": job_id, "batch": n})
            return
        messages = job.messages.get(batch.lang) or job.messages["ja"]
        attempt = batch.attempts
        monthly_since: float | None = None
        while True:
            if await self._preempted(tenant, w.lane):
                await self.store.requeue(batch, w.lane, w.entry_id)
                return
            if attempt or monthly_since is not None:  # a retry ("monthly limit" ones do not count as attempts)
                await self._touch(w)
            await acquire(self.limiter, tenant, batch.endpoint)
            outcome = await self._call(tenant, batch, messages)
            attempt += 1
            await self.store.note_attempt(batch, outcome.status)
            if outcome.accepted:
                await self.quota.note_sent(tenant, len(batch.to))
                await self.store.finish(batch, w.lane, w.entry_id, "sent", len(batch.to))
                return
            if batch.endpoint == "push" and outcome.status in (403, 404):
                await self.users.set_active(tenant, batch.to[0], False)
                await self.store.finish(batch, w.lane, w.entry_id, "blocked", 1, f"http_{outcome.status}")
                return
            if outcome.monthly_limit:
                await self.quota.note_exhausted(tenant)
                if w.lane == "routine":
                    await self.store.hold(batch, w.lane, w.entry_id, "monthly_limit")
                    return
                now = time.monotonic()
                monthly_since = monthly_since or now
                if now - monthly_since > self.opts.monthly_limit_retry_seconds:
                    await self.store.finish(batch, w.lane, w.entry_id, "failed", len(batch.to), "monthly_limit")
                    return
                attempt -= 1  # in-flight deliveries may free quota: keep trying, do not burn retry attempts
                await asyncio.sleep(backoff_delay(self.opts.max_attempts, self.opts, self.rng, outcome.retry_after))
                continue
            if outcome.retryable:
                if attempt >= self.opts.max_attempts:
                    reason = "timeout" if outcome.status == 0 else f"http_{outcome.status}"
                    await self.store.finish(batch, w.lane, w.entry_id, "failed", len(batch.to), f"gave_up_{reason}")
                    return
                await asyncio.sleep(backoff_delay(attempt, self.opts, self.rng, outcome.retry_after))
                continue
            await self.store.finish(batch, w.lane, w.entry_id, "failed", len(batch.to), f"http_{outcome.status}")
            log.warning(
                "batch rejected by LINE",
                extra={"job": job_id, "batch": n, "status": outcome.status, "message": outcome.message},
            )
            return

    async def _call(self, tenant: str, batch: Batch, messages: list[dict]) -> SendOutcome:
        try:
            if batch.endpoint == "push":
                return await self.line.push(tenant, batch.to[0], messages, batch.retry_key)
            return await self.line.multicast(tenant, batch.to, messages, batch.retry_key)
        except TimeoutError:
            return SendOutcome(0, "timeout")
