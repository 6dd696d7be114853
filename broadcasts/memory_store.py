"""The delivery store in memory: the same behaviour as ``RedisDeliveryStore`` (its Lua scripts and streams with one
consumer group per lane), for unit tests of the engine without Redis. One process, one event loop; no expiry.

Streams keep entries in order with a pending-entries list per consumer group, so "read new", "take over what a dead
consumer left idle", "touch" and "ack" behave as XREADGROUP / XAUTOCLAIM / XCLAIM / XACK+XDEL do.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from broadcasts.jobs import DeliveryJob
from broadcasts.store import (
    GROUP,
    LANES,
    Batch,
    Entry,
    JobStatus,
    Keys,
    Read,
    Reads,
    job_from_json,
    job_to_json,
    new_job_id,
    status_from,
    tenant_of,
)

_COUNTERS = ("batches", "recipients", "done_batches", "sent", "failed", "blocked", "cancelled")


@dataclass
class _Group:
    last: int = 0  # sequence of the last entry delivered to the group
    pending: dict[int, tuple[str, float]] = field(default_factory=dict)  # seq → (consumer, delivered at, ms)
    seen: dict[str, float] = field(default_factory=dict)  # consumer → last active (ms)


@dataclass
class _Stream:
    entries: dict[int, dict[str, str]] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)


def _ms() -> float:
    return time.monotonic() * 1000


def _entry_id(seq: int) -> str:
    return f"{seq}-0"


def _seq(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class MemoryDeliveryStore:
    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._streams: dict[str, _Stream] = {}
        self._sources: dict[str, str] = {}
        self._jobs: dict[str, dict[str, str]] = {}
        self._order: dict[str, list[tuple[float, str]]] = {}  # tenant → (created, job id)
        self._active: dict[str, dict[str, float]] = {}  # active:<lane> key → job id → created
        self._batches: dict[str, dict[str, str]] = {}
        self._held: dict[str, dict[str, float]] = {}  # tenant → job id → since
        self._held_batches: dict[str, set[str]] = {}
        self._events: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self._quota: dict[str, dict[str, str]] = {}
        self._flags: set[str] = set()

    # --- streams ----------------------------------------------------------------------------------------------
    def _stream(self, key: str) -> _Stream:
        return self._streams.setdefault(key, _Stream())

    def _add(self, key: str, fields: dict[str, str]) -> None:
        self._stream(key).entries[next(self._seq)] = fields
        self._stream(key).groups.setdefault(GROUP, _Group())  # XGROUP CREATE … MKSTREAM in the scripts

    def _ack(self, key: str, entry_id: str) -> None:
        stream = self._stream(key)
        seq = _seq(entry_id)
        for group in stream.groups.values():
            group.pending.pop(seq, None)
        stream.entries.pop(seq, None)

    def _event(self, tenant: str, **fields: str) -> None:
        self._events.setdefault(tenant, []).append((_entry_id(next(self._seq)), fields))

    # --- jobs -------------------------------------------------------------------------------------------------
    def _job(self, job_id: str) -> dict[str, str] | None:
        return self._jobs.get(job_id)

    def _incr(self, h: dict[str, str], name: str, by: int = 1) -> int:
        h[name] = str(int(h.get(name, 0)) + by)
        return int(h[name])

    async def submit(self, job: DeliveryJob, *, now: float | None = None) -> str:
        k = Keys(job.tenant)
        lane = job.priority if job.priority in LANES else "routine"
        existing = self._sources.get(k.source(job.source_id))
        if existing is not None:
            return existing
        job_id = new_job_id(job.tenant)
        created = now or time.time()
        self._sources[k.source(job.source_id)] = job_id
        self._jobs[job_id] = {
            "spec": job_to_json(job),
            "priority": lane,
            "state": "queued",
            "created_at": repr(created),
            "planned": "0",
        }
        self._jobs[job_id].update({c: "0" for c in _COUNTERS})
        self._order.setdefault(job.tenant, []).append((created, job_id))
        self._active.setdefault(k.active(lane), {})[job_id] = created
        self._add(k.queue(lane), {"job": job_id})
        return job_id

    async def job_spec(self, job_id: str) -> DeliveryJob | None:
        h = self._job(job_id)
        return None if h is None else job_from_json(h["spec"])

    async def status(self, job_id: str) -> JobStatus | None:
        try:
            tenant_of(job_id)
        except ValueError:
            return None
        h = self._job(job_id)
        if h is None:
            return None
        held = sum(
            int(self._batches.get(Keys(tenant_of(job_id)).batch(job_id, n), {}).get("size", 0))
            for n in self._held_batches.get(job_id, ())
        )
        return status_from(job_id, dict(h), held)

    async def list_jobs(self, tenant: str, limit: int = 50) -> list[JobStatus]:
        out = []
        for _, job_id in sorted(self._order.get(tenant, []), reverse=True)[:limit]:
            st = await self.status(job_id)
            if st is not None:
                out.append(st)
        return out

    async def cancel(self, job_id: str) -> bool:
        h = self._job(job_id)
        if h is None or h.get("state") in ("done", "cancelled"):
            return False
        h["state"] = "cancelled"
        await self.resume(job_id)  # held batches go back so a worker settles them as cancelled
        return True

    async def events(self, tenant: str, count: int = 100) -> list[dict]:
        return [{"id": entry_id, **fields} for entry_id, fields in reversed(self._events.get(tenant, [])[-count:])]

    async def add_event(self, tenant: str, **fields: str | int | float) -> None:
        self._event(tenant, **{k: str(v) for k, v in fields.items()})

    async def job_state(self, job_id: str) -> str | None:
        h = self._job(job_id)
        return None if h is None else h.get("state")

    async def count_error(self, job_id: str, n: int | None = None) -> int:
        if n is None:
            return self._incr(self._jobs.setdefault(job_id, {}), "plan_errors")
        return self._incr(self._batches.setdefault(Keys(tenant_of(job_id)).batch(job_id, n), {}), "errors")

    async def note_plan_error(self, job_id: str, reason: str) -> None:
        self._jobs.setdefault(job_id, {})["plan_error"] = reason

    # --- planning ---------------------------------------------------------------------------------------------
    async def claim_plan(self, job_id: str, planner: str) -> tuple[str, int]:
        h = self._job(job_id)
        if h is None or "state" not in h:
            return "missing", 0
        if h.get("planned") == "1":
            return "planned", 0
        h["planner"] = planner
        if h["state"] == "queued":
            h["state"], h["started_at"] = "sending", repr(time.time())
        return h["state"], int(h.get("batches", 0))

    async def planned_recipients(self, job_id: str, upto: int) -> set[str]:
        k = Keys(tenant_of(job_id))
        tos = [self._batches.get(k.batch(job_id, n), {}).get("to") for n in range(upto)]
        return {uid for to in tos if to for uid in to.split(",")}

    def _complete(self, job_id: str, lane: str) -> None:
        h = self._jobs[job_id]
        if h.get("planned") != "1" or int(h.get("batches", 0)) != int(h.get("done_batches", 0)):
            return
        now = repr(time.time())
        active = self._active.get(Keys(tenant_of(job_id)).active(lane), {})
        if h.get("state") not in ("done", "cancelled"):
            h["state"], h["finished_at"] = "done", now
            active.pop(job_id, None)
            self._event(tenant_of(job_id), type="job_done", job=job_id)
        elif h.get("state") == "cancelled":
            h["finished_at"] = now
            active.pop(job_id, None)

    async def commit(
        self,
        job_id: str,
        lane: str,
        planner: str,
        first_n: int,
        batches: list[tuple[str, str, str, list[str]]],
        *,
        final: bool,
        queue_entry: str = "",
    ) -> bool:
        h = self._jobs[job_id]
        if h.get("planner") != planner or int(h.get("batches", 0)) != first_n:
            return False
        k = Keys(tenant_of(job_id))
        total = 0
        for i, (lang, endpoint, key, to) in enumerate(batches):
            n = first_n + i
            self._batches[k.batch(job_id, n)] = {
                "lang": lang,
                "ep": endpoint,
                "key": key,
                "to": ",".join(to),
                "size": str(len(to)),
                "state": "pending",
                "attempts": "0",
            }
            self._add(k.batches(lane), {"job": job_id, "n": str(n)})
            total += len(to)
        self._incr(h, "batches", len(batches))
        self._incr(h, "recipients", total)
        if final:
            h["planned"], h["planned_at"] = "1", repr(time.time())
            if queue_entry:
                self._ack(k.queue(lane), queue_entry)
            self._complete(job_id, lane)
        return True

    # --- batches ----------------------------------------------------------------------------------------------
    async def batch(self, job_id: str, n: int) -> Batch | None:
        raw = self._batches.get(Keys(tenant_of(job_id)).batch(job_id, n))
        if not raw or "state" not in raw:
            return None
        return Batch.from_hash(job_id, n, raw)

    async def note_attempt(self, batch: Batch, status: int) -> None:
        raw = self._batches[Keys(tenant_of(batch.job_id)).batch(batch.job_id, batch.n)]
        self._incr(raw, "attempts")
        raw["last_status"] = str(status)

    async def finish(self, batch: Batch, lane: str, entry_id: str, outcome: str, count: int, reason: str = "") -> bool:
        k = Keys(tenant_of(batch.job_id))
        raw = self._batches.get(k.batch(batch.job_id, batch.n), {})
        changed = bool(raw.get("state")) and raw.get("state") != "done"
        if changed:
            now = repr(time.time())
            raw.update({"state": "done", "outcome": outcome, "reason": reason, "finished_at": now})
            h = self._jobs[batch.job_id]
            self._incr(h, outcome, count)
            self._incr(h, "done_batches")
            if reason:
                self._incr(h, f"reason:{reason}", count)
            if outcome == "sent":
                h.setdefault("first_send_at", now)
                h["last_send_at"] = now
        if entry_id:
            self._ack(k.batches(lane), entry_id)
        if changed:
            self._complete(batch.job_id, lane)
        return changed

    async def requeue(self, batch: Batch, lane: str, entry_id: str) -> None:
        k = Keys(tenant_of(batch.job_id))
        if self._batches.get(k.batch(batch.job_id, batch.n), {}).get("state") != "pending":
            return
        self._ack(k.batches(lane), entry_id)
        self._add(k.batches(lane), {"job": batch.job_id, "n": str(batch.n)})

    async def hold(self, batch: Batch, lane: str, entry_id: str, reason: str) -> None:
        tenant = tenant_of(batch.job_id)
        k = Keys(tenant)
        raw = self._batches.get(k.batch(batch.job_id, batch.n), {})
        if raw.get("state") != "pending":
            return
        raw["state"] = "held"
        self._held_batches.setdefault(batch.job_id, set()).add(str(batch.n))
        held = self._held.setdefault(tenant, {})
        if batch.job_id not in held:
            held[batch.job_id] = time.time()
            self._event(tenant, type="job_held", job=batch.job_id, reason=reason)
        h = self._jobs[batch.job_id]
        h["held_reason"] = reason
        if h.get("state") in ("sending", "queued"):
            h["state"] = "held"
        self._ack(k.batches(lane), entry_id)

    async def held_jobs(self, tenant: str) -> list[str]:
        return [job_id for job_id, _ in sorted(self._held.get(tenant, {}).items(), key=lambda kv: (kv[1], kv[0]))]

    async def resume(self, job_id: str) -> int:
        tenant = tenant_of(job_id)
        k = Keys(tenant)
        h = self._jobs.get(job_id, {})
        lane = h.get("priority") or "routine"
        ns = self._held_batches.pop(job_id, set())
        for n in ns:
            raw = self._batches.get(k.batch(job_id, n), {})
            if raw.get("state") == "held":
                raw["state"] = "pending"
                self._add(k.batches(lane), {"job": job_id, "n": n})
        self._held.get(tenant, {}).pop(job_id, None)
        if h.get("state") == "held":
            h["state"] = "sending"
        self._event(tenant, type="job_resumed", job=job_id)
        return len(ns)

    async def ack(self, stream: str, entry_id: str) -> None:
        self._ack(stream, entry_id)

    # --- streams and consumer groups --------------------------------------------------------------------------
    async def ensure_groups(self, tenant: str) -> None:
        k = Keys(tenant)
        for lane in LANES:
            for key in (k.queue(lane), k.batches(lane)):
                self._stream(key).groups.setdefault(GROUP, _Group())

    async def active_counts(self, tenants: Sequence[str]) -> dict[str, tuple[int, ...]]:
        return {t: tuple(len(self._active.get(Keys(t).active(lane), {})) for lane in LANES) for t in tenants}

    async def read_new(self, consumer: str, reads: Sequence[Read]) -> Reads:
        entries: list[Entry] = []
        missing: set[str] = set()
        for rd in reads:
            k = Keys(rd.tenant)
            key = k.queue(rd.lane) if rd.kind == "plan" else k.batches(rd.lane)
            stream = self._streams.get(key)
            group = stream.groups.get(GROUP) if stream else None
            if stream is None or group is None:
                missing.add(rd.tenant)
                continue
            now = _ms()
            group.seen[consumer] = now
            for seq in [s for s in stream.entries if s > group.last][: rd.count]:
                group.last = seq
                group.pending[seq] = (consumer, now)
                entries.append(Entry(rd.kind, rd.tenant, rd.lane, key, _entry_id(seq), dict(stream.entries[seq])))
        return Reads(entries, missing)

    async def reclaim(self, consumer: str, kind: str, tenant: str, lane: str, idle_ms: int, count: int) -> list[Entry] | None:
        k = Keys(tenant)
        key = k.queue(lane) if kind == "plan" else k.batches(lane)
        stream = self._streams.get(key)
        group = stream.groups.get(GROUP) if stream else None
        if stream is None or group is None:
            return None
        now = _ms()
        group.seen[consumer] = now
        out: list[Entry] = []
        for seq, (_, since) in sorted(group.pending.items()):
            if len(out) >= count:
                break
            if now - since < idle_ms:
                continue
            if seq not in stream.entries:  # deleted meanwhile: XAUTOCLAIM drops it from the pending list
                group.pending.pop(seq)
                continue
            group.pending[seq] = (consumer, now)
            out.append(Entry(kind, tenant, lane, key, _entry_id(seq), dict(stream.entries[seq])))
        return out

    async def touch(self, consumer: str, entry: Entry) -> None:
        group = self._stream(entry.stream).groups.get(GROUP)
        seq = _seq(entry.entry_id)
        if group is not None and seq in group.pending:
            group.pending[seq] = (consumer, _ms())
            group.seen[consumer] = _ms()

    async def forget_consumers(self, tenant: str, keep: str, idle_ms: int) -> list[str]:
        k = Keys(tenant)
        gone: list[str] = []
        now = _ms()
        for lane in LANES:
            for key in (k.queue(lane), k.batches(lane)):
                group = self._streams[key].groups.get(GROUP) if key in self._streams else None
                if group is None:
                    continue
                holding = {c for c, _ in group.pending.values()}
                for name, seen in list(group.seen.items()):
                    if name != keep and name not in holding and now - seen > idle_ms:
                        del group.seen[name]
                        gone.append(name)
        return gone

    # --- monthly quota ledger ---------------------------------------------------------------------------------
    async def quota(self, tenant: str) -> dict[str, str]:
        return dict(self._quota.get(tenant, {}))

    async def lock_quota_reading(self, tenant: str, seconds: int = 5) -> bool:
        flag = f"{tenant}:lock"
        if flag in self._flags:
            return False
        self._flags.add(flag)
        return True

    async def record_quota_reading(self, tenant: str, limit: int | None, used: int, read_at: float) -> None:
        q = self._quota.setdefault(tenant, {})
        q.update({"limit": str(-1 if limit is None else limit), "used": str(used), "local": "0", "read_at": repr(read_at)})
        q.pop("exhausted", None)
        self._flags.discard(f"{tenant}:lock")

    async def add_quota_sent(self, tenant: str, count: int) -> None:
        self._incr(self._quota.setdefault(tenant, {}), "local", count)

    async def mark_quota_exhausted(self, tenant: str, at: float, local: int | None) -> None:
        q = self._quota.setdefault(tenant, {})
        q["exhausted"] = repr(at)
        if local is not None:
            q["local"] = str(local)

    async def quota_warned_once(self, tenant: str, month: str, percent: int) -> bool:
        flag = f"{tenant}:warned:{month}:{percent}"
        if flag in self._flags:
            return False
        self._flags.add(flag)
        return True
