"""Redis layout of the delivery engine: jobs, batches, progress, events. Every key of a tenant shares one hash tag.

``cb:{t}:broadcasts:``
  ``source:<source_id>`` → job id (idempotent submit)       ``job:<job_id>`` hash: spec, state, counters, times
  ``jobs`` zset of job ids by creation (admin listing)       ``active:<lane>`` zset of unfinished jobs per lane
  ``q:<lane>`` stream of jobs to plan                        ``b:<lane>`` stream of batches to send
  ``batch:<job_id>:<n>`` hash: lang, endpoint, to, retry key, state, outcome
  ``held`` zset of jobs with batches held for quota          ``heldb:<job_id>`` set of held batch numbers
  ``quota`` hash: last reading + local count                 ``events`` stream for admin UI/KPIs (quota warnings...)

State changes that must happen together (submit, commit a chunk of batches, finish a batch, hold, requeue) are Lua
scripts, so a crash between two writes cannot lose or double-count anything. Stream entries only *point* at batch
hashes; the batch hash's ``state`` is the truth, which makes redelivered entries harmless.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from redis.exceptions import ResponseError

from bot.redis_client import RedisClient
from broadcasts.audience import AudienceQuery
from broadcasts.jobs import DeliveryJob

LANES = ("emergency", "alert", "routine")  # highest priority first
GROUP = "delivery"
JOB_TTL = 30 * 24 * 3600  # job hash, source id: progress stays readable for a month
BATCH_TTL = 2 * 24 * 3600  # batch hashes (recipient lists) are big: kept past LINE's 24 h retry-key window only
EVENTS_MAXLEN = 10_000


def prefix(tenant: str) -> str:
    return f"cb:{{{tenant}}}:broadcasts"


def new_job_id(tenant: str) -> str:
    return f"{tenant}.{uuid.uuid4().hex[:20]}"


def tenant_of(job_id: str) -> str:
    tenant, sep, _ = job_id.partition(".")
    if not sep or not tenant:
        raise ValueError(f"not a delivery job id: {job_id!r}")
    return tenant


class Keys:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.p = prefix(tenant)

    def source(self, source_id: str) -> str:
        return f"{self.p}:source:{source_id}"

    def job(self, job_id: str) -> str:
        return f"{self.p}:job:{job_id}"

    def batch(self, job_id: str, n: int | str) -> str:
        return f"{self.p}:batch:{job_id}:{n}"

    def queue(self, lane: str) -> str:
        return f"{self.p}:q:{lane}"

    def batches(self, lane: str) -> str:
        return f"{self.p}:b:{lane}"

    def active(self, lane: str) -> str:
        return f"{self.p}:active:{lane}"

    def held_batches(self, job_id: str) -> str:
        return f"{self.p}:heldb:{job_id}"

    @property
    def jobs(self) -> str:
        return f"{self.p}:jobs"

    @property
    def held(self) -> str:
        return f"{self.p}:held"

    @property
    def quota(self) -> str:
        return f"{self.p}:quota"

    @property
    def events(self) -> str:
        return f"{self.p}:events"


def job_to_json(job: DeliveryJob) -> str:
    return json.dumps(asdict(job), ensure_ascii=False, separators=(",", ":"))


# Before AudienceQuery had record_as / replay_of, a job carried them as tagged categories: a job stored then (queued
# across an upgrade) is read into the fields, so its alert or 取消 still reaches its people.
_LEGACY_AUDIENCE_TAGS = {"@record:": "record_as", "@recipients:": "replay_of"}


def job_from_json(raw: str) -> DeliveryJob:
    data = json.loads(raw)
    aud = data.pop("audience")
    for name in ("area_codes", "categories", "languages"):
        aud[name] = tuple(aud.get(name) or ())
    plain = []
    for category in aud["categories"]:
        tag = next((t for t in _LEGACY_AUDIENCE_TAGS if category.startswith(t)), None)
        if tag is None:
            plain.append(category)
        else:
            aud[_LEGACY_AUDIENCE_TAGS[tag]] = category[len(tag) :]
    aud["categories"] = tuple(plain)
    if aud.get("center") is not None:
        aud["center"] = tuple(aud["center"])
    return DeliveryJob(audience=AudienceQuery(**aud), **data)


# KEYS: source, job, jobs, queue, active   ARGV: job_id, spec, priority, created_at, ttl, group
_SUBMIT = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
redis.call('HSET', KEYS[2], 'spec', ARGV[2], 'priority', ARGV[3], 'state', 'queued', 'created_at', ARGV[4],
  'batches', 0, 'recipients', 0, 'done_batches', 0, 'sent', 0, 'failed', 0, 'blocked', 0, 'cancelled', 0,
  'planned', 0)
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
redis.pcall('XGROUP', 'CREATE', KEYS[4], ARGV[6], '0', 'MKSTREAM')
redis.call('XADD', KEYS[4], '*', 'job', ARGV[1])
return ARGV[1]
"""

# Shared tail: finish the job when planning is complete and every batch is done.
# KEYS[2] job, KEYS[4] active zset; ARGV now at position `nowpos`; event stream in KEYS[5]
_COMPLETE = (
    """
local function server_now()
  local t = redis.call('TIME')
  return string.format('%%d.%%06d', t[1], t[2])
end
local function complete(jobkey, activekey, eventskey, job_id, now)
  local f = redis.call('HMGET', jobkey, 'planned', 'batches', 'done_batches', 'state')
  if f[1] == '1' and tonumber(f[2]) == tonumber(f[3]) and f[4] ~= 'done' and f[4] ~= 'cancelled' then
    redis.call('HSET', jobkey, 'state', 'done', 'finished_at', now)
    redis.call('ZREM', activekey, job_id)
    redis.call('XADD', eventskey, 'MAXLEN', '~', '%d', '*', 'type', 'job_done', 'job', job_id)
    return 1
  end
  if f[1] == '1' and tonumber(f[2]) == tonumber(f[3]) and f[4] == 'cancelled' then
    redis.call('HSET', jobkey, 'finished_at', now)
    redis.call('ZREM', activekey, job_id)
  end
  return 0
end
"""
    % EVENTS_MAXLEN
)

# Begin (or take over) planning. KEYS: job   ARGV: planner token, now
# Returns {state, batches} so a new planner knows where the previous one stopped.
_CLAIM_PLAN = """
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {'missing', '0'} end
if redis.call('HGET', KEYS[1], 'planned') == '1' then return {'planned', '0'} end
redis.call('HSET', KEYS[1], 'planner', ARGV[1])
if st == 'cancelled' then return {'cancelled', redis.call('HGET', KEYS[1], 'batches')} end
if st == 'queued' then redis.call('HSET', KEYS[1], 'state', 'sending', 'started_at', ARGV[2]) end
return {redis.call('HGET', KEYS[1], 'state'), redis.call('HGET', KEYS[1], 'batches')}
"""

# Commit a chunk of planned batches atomically, only if this planner still owns the job and no batch was added since.
# KEYS: job, batches stream, active zset(lane), events, queue stream
# ARGV: planner, first_n, count, final(0/1), now, lane_group, job_id, ttl, queue_entry_id,
#       then per batch: lang, endpoint, retry_key, recipients(csv), size
_COMMIT = (
    _COMPLETE
    + """
local f = redis.call('HMGET', KEYS[1], 'planner', 'batches')
if f[1] ~= ARGV[1] or tonumber(f[2]) ~= tonumber(ARGV[2]) then return -1 end
local count = tonumber(ARGV[3])
local first = tonumber(ARGV[2])
local total = 0
redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[6], '0', 'MKSTREAM')
local prefix = string.sub(KEYS[1], 1, string.len(KEYS[1]) - string.len('job:' .. ARGV[7]))
for i = 0, count - 1 do
  local base = 10 + i * 5
  local n = first + i
  local bkey = prefix .. 'batch:' .. ARGV[7] .. ':' .. n
  redis.call('HSET', bkey, 'lang', ARGV[base], 'ep', ARGV[base + 1], 'key', ARGV[base + 2], 'to', ARGV[base + 3],
    'size', ARGV[base + 4], 'state', 'pending', 'attempts', 0)
  redis.call('EXPIRE', bkey, ARGV[8])
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[7], 'n', n)
  total = total + tonumber(ARGV[base + 4])
end
redis.call('HINCRBY', KEYS[1], 'batches', count)
redis.call('HINCRBY', KEYS[1], 'recipients', total)
if ARGV[4] == '1' then
  ARGV[5] = server_now()
  redis.call('HSET', KEYS[1], 'planned', '1', 'planned_at', ARGV[5])
  if ARGV[9] ~= '' then
    redis.call('XACK', KEYS[5], ARGV[6], ARGV[9])
    redis.call('XDEL', KEYS[5], ARGV[9])
  end
  complete(KEYS[1], KEYS[3], KEYS[4], ARGV[7], ARGV[5])
end
return count
"""
)

# Record a batch's outcome exactly once and ack its stream entry.
# KEYS: batch, job, stream, active, events   ARGV: entry_id, outcome, count, reason, now, group, job_id
_FINISH = (
    _COMPLETE
    + """
local st = redis.call('HGET', KEYS[1], 'state')
local changed = 0
ARGV[5] = server_now()
if st and st ~= 'done' then
  changed = 1
  redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[2], 'reason', ARGV[4], 'finished_at', ARGV[5])
  redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
  redis.call('HINCRBY', KEYS[2], 'done_batches', 1)
  if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], 'reason:' .. ARGV[4], ARGV[3]) end
  if ARGV[2] == 'sent' then
    if not redis.call('HGET', KEYS[2], 'first_send_at') then redis.call('HSET', KEYS[2], 'first_send_at', ARGV[5]) end
    redis.call('HSET', KEYS[2], 'last_send_at', ARGV[5])
  end
end
if ARGV[1] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[6], ARGV[1])
  redis.call('XDEL', KEYS[3], ARGV[1])
end
if changed == 1 then complete(KEYS[2], KEYS[4], KEYS[5], ARGV[7], ARGV[5]) end
return changed
"""
)

# Put a batch back at the end of its lane (preempted by a higher lane). KEYS: batch, stream  ARGV: entry, group, job, n
_REQUEUE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'job', ARGV[3], 'n', ARGV[4])
return 1
"""

# Hold a routine batch for quota. KEYS: batch, stream, job, held zset, heldb set, events
# ARGV: entry, group, job_id, n, now, reason
_HOLD = (
    """
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'held')
redis.call('PERSIST', KEYS[1])  -- a job may stay held until next month
redis.call('SADD', KEYS[5], ARGV[4])
if redis.call('ZSCORE', KEYS[4], ARGV[3]) == false then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', '%d', '*', 'type', 'job_held', 'job', ARGV[3], 'reason', ARGV[6])
end
redis.call('HSET', KEYS[3], 'held_reason', ARGV[6])
local st = redis.call('HGET', KEYS[3], 'state')
if st == 'sending' or st == 'queued' then redis.call('HSET', KEYS[3], 'state', 'held') end
redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
return 1
"""
    % EVENTS_MAXLEN
)

# Resume a held job: every held batch back into its lane. KEYS: job, held zset, heldb set, stream, events
# ARGV: job_id, now, batch ttl
_RESUME = (
    """
local ns = redis.call('SMEMBERS', KEYS[3])
local prefix = string.sub(KEYS[1], 1, string.len(KEYS[1]) - string.len('job:' .. ARGV[1]))
for _, n in ipairs(ns) do
  local bkey = prefix .. 'batch:' .. ARGV[1] .. ':' .. n
  if redis.call('HGET', bkey, 'state') == 'held' then
    redis.call('HSET', bkey, 'state', 'pending')
    redis.call('EXPIRE', bkey, ARGV[3])
    redis.call('XADD', KEYS[4], '*', 'job', ARGV[1], 'n', n)
  end
end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') == 'held' then redis.call('HSET', KEYS[1], 'state', 'sending') end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', '%d', '*', 'type', 'job_resumed', 'job', ARGV[1])
return #ns
"""
    % EVENTS_MAXLEN
)


@dataclass(frozen=True)
class Batch:
    job_id: str
    n: int
    lang: str
    endpoint: str  # "multicast" | "push"
    to: tuple[str, ...]
    retry_key: str
    state: str
    attempts: int

    @classmethod
    def from_hash(cls, job_id: str, n: int, raw: dict[str, str]) -> Batch:
        """A batch from its stored hash (``lang ep to key state attempts``), in Redis or in memory alike."""
        return cls(
            job_id=job_id,
            n=int(n),
            lang=raw["lang"],
            endpoint=raw["ep"],
            to=tuple(raw["to"].split(",")) if raw["to"] else (),
            retry_key=raw["key"],
            state=raw["state"],
            attempts=int(raw.get("attempts", 0)),
        )


@dataclass
class JobStatus:
    """Progress and outcome of one delivery job, as the admin UI and KPIs read it. Counts are recipients."""

    job_id: str
    tenant: str
    kind: str
    title: str
    priority: str
    state: str  # queued | sending | held | done | cancelled
    planned: bool  # audience fully resolved into batches
    recipients: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    held: int
    batches: int
    batches_done: int
    created_at: float
    started_at: float | None
    first_send_at: float | None
    last_send_at: float | None
    finished_at: float | None
    reported_at: float | None
    failure_reasons: dict[str, int] = field(default_factory=dict)
    error: str = ""  # job-level problem, e.g. "audience_error" (the audience could not be resolved)

    @property
    def queued(self) -> int:
        """Recipients not yet settled (still to send, in flight or held)."""
        return max(0, self.recipients - self.sent - self.failed - self.blocked - self.cancelled)

    @property
    def duration(self) -> float | None:
        """Submission to last recipient; None while unfinished."""
        return None if self.finished_at is None else self.finished_at - self.created_at

    @property
    def latency_first(self) -> float | None:
        """Upstream report (e.g. JMA ReportDateTime) to the first recipient — the alert KPI."""
        if self.first_send_at is None:
            return None
        return self.first_send_at - (self.reported_at if self.reported_at is not None else self.created_at)

    @property
    def latency_last(self) -> float | None:
        """Upstream report to the last recipient (None while unfinished)."""
        if self.finished_at is None or self.last_send_at is None:
            return None
        return self.last_send_at - (self.reported_at if self.reported_at is not None else self.created_at)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["queued"] = self.queued
        data["duration"] = self.duration
        data["latency_first"] = self.latency_first
        data["latency_last"] = self.latency_last
        return data


def status_from(job_id: str, raw: dict[str, str], held_recipients: int) -> JobStatus:
    """A job's status from its hash fields (one layout for every store)."""
    spec = job_from_json(raw["spec"])
    return JobStatus(
        job_id=job_id,
        tenant=tenant_of(job_id),
        kind=spec.kind,
        title=spec.title,
        priority=raw.get("priority", spec.priority),
        state=raw.get("state", "queued"),
        planned=raw.get("planned") == "1",
        recipients=int(raw.get("recipients", 0)),
        sent=int(raw.get("sent", 0)),
        failed=int(raw.get("failed", 0)),
        blocked=int(raw.get("blocked", 0)),
        cancelled=int(raw.get("cancelled", 0)),
        held=held_recipients,
        batches=int(raw.get("batches", 0)),
        batches_done=int(raw.get("done_batches", 0)),
        created_at=float(raw["created_at"]),
        started_at=_f(raw.get("started_at")),
        first_send_at=_f(raw.get("first_send_at")),
        last_send_at=_f(raw.get("last_send_at")),
        finished_at=_f(raw.get("finished_at")),
        reported_at=spec.reported_at,
        failure_reasons={k_[7:]: int(v) for k_, v in raw.items() if k_.startswith("reason:")},
        error=raw.get("plan_error", ""),
    )


@dataclass(frozen=True)
class Entry:
    """One stream entry a worker took: a job to plan (``q:<lane>``) or a batch to send (``b:<lane>``)."""

    kind: str  # "plan" | "batch"
    tenant: str
    lane: str
    stream: str
    entry_id: str
    fields: dict


@dataclass(frozen=True)
class Read:
    """A read a worker asks for: new entries of one tenant's lane, of one kind."""

    kind: str  # "plan" | "batch"
    tenant: str
    lane: str
    count: int


@dataclass(frozen=True)
class Reads:
    """What ``read_new`` found, and the tenants whose consumer groups were missing (to be created again)."""

    entries: list[Entry]
    missing_groups: set[str]


def _stream(k: Keys, kind: str, lane: str) -> str:
    return k.queue(lane) if kind == "plan" else k.batches(lane)


def _no_group(exc: Exception) -> bool:
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


def _f(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


class DeliveryStore(Protocol):
    """Every read and write of the delivery engine and its quota guard: jobs, batches, the lane streams with their
    consumer groups, events and the quota ledger. ``RedisDeliveryStore`` (Lua scripts, streams) and
    ``broadcasts.memory_store.MemoryDeliveryStore`` (unit tests) implement it; one contract suite runs on both."""

    async def submit(self, job: DeliveryJob, *, now: float | None = None) -> str: ...
    async def job_spec(self, job_id: str) -> DeliveryJob | None: ...
    async def status(self, job_id: str) -> JobStatus | None: ...
    async def list_jobs(self, tenant: str, limit: int = 50) -> list[JobStatus]: ...
    async def cancel(self, job_id: str) -> bool: ...
    async def events(self, tenant: str, count: int = 100) -> list[dict]: ...
    async def add_event(self, tenant: str, **fields: str | int | float) -> None: ...
    async def job_state(self, job_id: str) -> str | None: ...
    async def count_error(self, job_id: str, n: int | None = None) -> int: ...
    async def note_plan_error(self, job_id: str, reason: str) -> None: ...
    async def claim_plan(self, job_id: str, planner: str) -> tuple[str, int]: ...
    async def planned_recipients(self, job_id: str, upto: int) -> set[str]: ...
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
    ) -> bool: ...
    async def batch(self, job_id: str, n: int) -> Batch | None: ...
    async def note_attempt(self, batch: Batch, status: int) -> None: ...
    async def finish(self, batch: Batch, lane: str, entry_id: str, outcome: str, count: int, reason: str = "") -> bool: ...
    async def requeue(self, batch: Batch, lane: str, entry_id: str) -> None: ...
    async def hold(self, batch: Batch, lane: str, entry_id: str, reason: str) -> None: ...
    async def held_jobs(self, tenant: str) -> list[str]: ...
    async def resume(self, job_id: str) -> int: ...
    async def ack(self, stream: str, entry_id: str) -> None: ...
    async def ensure_groups(self, tenant: str) -> None: ...
    async def active_counts(self, tenants: Sequence[str]) -> dict[str, tuple[int, ...]]: ...
    async def read_new(self, consumer: str, reads: Sequence[Read]) -> Reads: ...
    async def reclaim(self, consumer: str, kind: str, tenant: str, lane: str, idle_ms: int, count: int) -> list[Entry] | None: ...
    async def touch(self, consumer: str, entry: Entry) -> None: ...
    async def forget_consumers(self, tenant: str, keep: str, idle_ms: int) -> list[str]: ...
    async def quota(self, tenant: str) -> dict[str, str]: ...
    async def lock_quota_reading(self, tenant: str, seconds: int = 5) -> bool: ...
    async def record_quota_reading(self, tenant: str, limit: int | None, used: int, read_at: float) -> None: ...
    async def add_quota_sent(self, tenant: str, count: int) -> None: ...
    async def mark_quota_exhausted(self, tenant: str, at: float, local: int | None) -> None: ...
    async def quota_warned_once(self, tenant: str, month: str, percent: int) -> bool: ...


class RedisDeliveryStore:
    """All Redis reads and writes of the engine (one place that knows the layout)."""

    def __init__(self, client: RedisClient) -> None:
        self.r = client
        self._submit = client.register_script(_SUBMIT)
        self._claim_plan = client.register_script(_CLAIM_PLAN)
        self._commit = client.register_script(_COMMIT)
        self._finish = client.register_script(_FINISH)
        self._requeue = client.register_script(_REQUEUE)
        self._hold = client.register_script(_HOLD)
        self._resume = client.register_script(_RESUME)

    # --- jobs -------------------------------------------------------------------------------------------------
    async def submit(self, job: DeliveryJob, *, now: float | None = None) -> str:
        k = Keys(job.tenant)
        lane = job.priority if job.priority in LANES else "routine"
        job_id = new_job_id(job.tenant)
        return await self._submit(
            keys=[k.source(job.source_id), k.job(job_id), k.jobs, k.queue(lane), k.active(lane)],
            args=[job_id, job_to_json(job), lane, repr(now or time.time()), JOB_TTL, GROUP],
        )

    async def job_spec(self, job_id: str) -> DeliveryJob | None:
        raw = await self.r.hget(Keys(tenant_of(job_id)).job(job_id), "spec")
        return None if raw is None else job_from_json(raw)

    async def status(self, job_id: str) -> JobStatus | None:
        try:
            tenant = tenant_of(job_id)
        except ValueError:
            return None
        k = Keys(tenant)
        raw = await self.r.hgetall(k.job(job_id))
        if not raw:
            return None
        held = await self.r.scard(k.held_batches(job_id))
        held_recipients = 0
        if held:
            ns = await self.r.smembers(k.held_batches(job_id))
            sizes = await self._pipe_hget([k.batch(job_id, n) for n in ns], "size")
            held_recipients = sum(int(s or 0) for s in sizes)
        return status_from(job_id, raw, held_recipients)

    async def list_jobs(self, tenant: str, limit: int = 50) -> list[JobStatus]:
        ids = await self.r.zrevrange(Keys(tenant).jobs, 0, limit - 1)
        out = []
        for job_id in ids:
            st = await self.status(job_id)
            if st is not None:
                out.append(st)
        return out

    async def cancel(self, job_id: str) -> bool:
        """Stop a job: batches not yet sent are settled as ``cancelled``. False if unknown or already finished."""
        k = Keys(tenant_of(job_id))
        state = await self.r.hget(k.job(job_id), "state")
        if state in (None, "done", "cancelled"):
            return False
        await self.r.hset(k.job(job_id), "state", "cancelled")
        # held batches will never be re-queued: put them back so a worker settles them as cancelled
        lane = await self.r.hget(k.job(job_id), "priority") or "routine"
        await self._resume(
            keys=[k.job(job_id), k.held, k.held_batches(job_id), k.batches(lane), k.events],
            args=[job_id, repr(time.time()), BATCH_TTL],
        )
        return True

    async def events(self, tenant: str, count: int = 100) -> list[dict]:
        """Newest first: quota warnings, held/resumed/done jobs — for the admin UI and KPIs."""
        rows = await self.r.xrevrange(Keys(tenant).events, count=count)
        return [{"id": entry_id, **fields} for entry_id, fields in rows]

    async def add_event(self, tenant: str, **fields: str | int | float) -> None:
        await self.r.xadd(Keys(tenant).events, {k: str(v) for k, v in fields.items()}, maxlen=EVENTS_MAXLEN, approximate=True)

    # --- planning ---------------------------------------------------------------------------------------------
    async def claim_plan(self, job_id: str, planner: str) -> tuple[str, int]:
        k = Keys(tenant_of(job_id))
        state, batches = await self._claim_plan(keys=[k.job(job_id)], args=[planner, repr(time.time())])
        return state, int(batches)

    async def planned_recipients(self, job_id: str, upto: int) -> set[str]:
        """Everyone already in batches 0..upto-1 (a planner taking over skips them)."""
        k = Keys(tenant_of(job_id))
        tos = await self._pipe_hget([k.batch(job_id, n) for n in range(upto)], "to")
        return {uid for to in tos if to for uid in to.split(",")}

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
        """Append batches (lang, endpoint, retry_key, recipients); False if another planner owns the job now."""
        k = Keys(tenant_of(job_id))
        args: list = [
            planner,
            first_n,
            len(batches),
            "1" if final else "0",
            repr(time.time()),
            GROUP,
            job_id,
            BATCH_TTL,
            queue_entry,
        ]
        for lang, endpoint, key, to in batches:
            args += [lang, endpoint, key, ",".join(to), len(to)]
        res = await self._commit(keys=[k.job(job_id), k.batches(lane), k.active(lane), k.events, k.queue(lane)], args=args)
        return int(res) >= 0

    # --- batches ----------------------------------------------------------------------------------------------
    async def batch(self, job_id: str, n: int) -> Batch | None:
        raw = await self.r.hgetall(Keys(tenant_of(job_id)).batch(job_id, n))
        return Batch.from_hash(job_id, n, raw) if raw else None

    async def note_attempt(self, batch: Batch, status: int) -> None:
        k = Keys(tenant_of(batch.job_id))
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hincrby(k.batch(batch.job_id, batch.n), "attempts", 1)
            pipe.hset(k.batch(batch.job_id, batch.n), "last_status", status)
            await pipe.execute()

    async def finish(self, batch: Batch, lane: str, entry_id: str, outcome: str, count: int, reason: str = "") -> bool:
        k = Keys(tenant_of(batch.job_id))
        res = await self._finish(
            keys=[k.batch(batch.job_id, batch.n), k.job(batch.job_id), k.batches(lane), k.active(lane), k.events],
            args=[entry_id, outcome, count, reason, repr(time.time()), GROUP, batch.job_id],
        )
        return bool(res)

    async def requeue(self, batch: Batch, lane: str, entry_id: str) -> None:
        k = Keys(tenant_of(batch.job_id))
        await self._requeue(keys=[k.batch(batch.job_id, batch.n), k.batches(lane)], args=[entry_id, GROUP, batch.job_id, batch.n])

    async def hold(self, batch: Batch, lane: str, entry_id: str, reason: str) -> None:
        k = Keys(tenant_of(batch.job_id))
        await self._hold(
            keys=[
                k.batch(batch.job_id, batch.n),
                k.batches(lane),
                k.job(batch.job_id),
                k.held,
                k.held_batches(batch.job_id),
                k.events,
            ],
            args=[entry_id, GROUP, batch.job_id, batch.n, repr(time.time()), reason],
        )

    async def held_jobs(self, tenant: str) -> list[str]:
        return await self.r.zrange(Keys(tenant).held, 0, -1)

    async def resume(self, job_id: str) -> int:
        k = Keys(tenant_of(job_id))
        lane = await self.r.hget(k.job(job_id), "priority") or "routine"
        return int(
            await self._resume(
                keys=[k.job(job_id), k.held, k.held_batches(job_id), k.batches(lane), k.events],
                args=[job_id, repr(time.time()), BATCH_TTL],
            )
        )

    async def job_state(self, job_id: str) -> str | None:
        """queued | sending | held | done | cancelled, or None for an unknown job."""
        return await self.r.hget(Keys(tenant_of(job_id)).job(job_id), "state")

    async def count_error(self, job_id: str, n: int | None = None) -> int:
        """One more unexpected failure of batch ``n`` (or of planning the job, n None); returns the count so far."""
        k = Keys(tenant_of(job_id))
        if n is None:
            return int(await self.r.hincrby(k.job(job_id), "plan_errors", 1))
        return int(await self.r.hincrby(k.batch(job_id, n), "errors", 1))

    async def note_plan_error(self, job_id: str, reason: str) -> None:
        await self.r.hset(Keys(tenant_of(job_id)).job(job_id), "plan_error", reason)

    # --- streams and consumer groups (one group per lane stream; each worker process is a consumer) --------------
    async def ensure_groups(self, tenant: str) -> None:
        k = Keys(tenant)
        for lane in LANES:
            for stream in (k.queue(lane), k.batches(lane)):
                try:
                    await self.r.xgroup_create(stream, GROUP, id="0", mkstream=True)
                except ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise

    async def active_counts(self, tenants: Sequence[str]) -> dict[str, tuple[int, ...]]:
        """Per tenant, how many unfinished jobs each lane has (LANES order; one pipelined ZCARD per lane and tenant)."""
        async with self.r.pipeline(transaction=False) as pipe:
            for t in tenants:
                for lane in LANES:
                    pipe.zcard(Keys(t).active(lane))
            counts = await pipe.execute()
        per = len(LANES)
        return {t: tuple(int(c) for c in counts[i * per : (i + 1) * per]) for i, t in enumerate(tenants)}

    async def read_new(self, consumer: str, reads: Sequence[Read]) -> Reads:
        """New entries for ``consumer``, every read in one pipeline, in the order asked."""
        entries: list[Entry] = []
        missing: set[str] = set()
        if not reads:
            return Reads(entries, missing)
        async with self.r.pipeline(transaction=False) as pipe:
            for rd in reads:
                pipe.xreadgroup(GROUP, consumer, {_stream(Keys(rd.tenant), rd.kind, rd.lane): ">"}, count=rd.count)
            results = await pipe.execute(raise_on_error=False)
        for rd, res in zip(reads, results):
            if isinstance(res, Exception):
                if _no_group(res):
                    missing.add(rd.tenant)
                    continue
                raise res
            for stream, found in res or []:
                entries += [Entry(rd.kind, rd.tenant, rd.lane, stream, entry_id, fields) for entry_id, fields in found]
        return Reads(entries, missing)

    async def reclaim(self, consumer: str, kind: str, tenant: str, lane: str, idle_ms: int, count: int) -> list[Entry] | None:
        """Take over entries another consumer left pending longer than ``idle_ms`` (None: the group is missing)."""
        stream = _stream(Keys(tenant), kind, lane)
        try:
            res = await self.r.xautoclaim(stream, GROUP, consumer, idle_ms, start_id="0-0", count=count)
        except ResponseError as exc:
            if _no_group(exc):
                return None
            raise
        return [Entry(kind, tenant, lane, stream, entry_id, fields) for entry_id, fields in res[1] if fields is not None]

    async def touch(self, consumer: str, entry: Entry) -> None:
        """Reset the entry's idle time so nobody reclaims work that is merely slow."""
        await self.r.xclaim(entry.stream, GROUP, consumer, 0, [entry.entry_id], justid=True)

    async def forget_consumers(self, tenant: str, keep: str, idle_ms: int) -> list[str]:
        """Drop consumers (other than ``keep``) that hold nothing and were idle longer than ``idle_ms``."""
        k = Keys(tenant)
        gone: list[str] = []
        for lane in LANES:
            for stream in (k.queue(lane), k.batches(lane)):
                try:
                    consumers = await self.r.xinfo_consumers(stream, GROUP)
                except ResponseError:
                    continue
                for c in consumers:
                    if c["name"] != keep and int(c["pending"]) == 0 and int(c["idle"]) > idle_ms:
                        await self.r.xgroup_delconsumer(stream, GROUP, c["name"])
                        gone.append(c["name"])
        return gone

    # --- monthly quota ledger (broadcasts.quota.QuotaGuard) ----------------------------------------------------
    async def quota(self, tenant: str) -> dict[str, str]:
        """limit (-1 = unlimited), used (LINE's last reading), local (our sends since), read_at, exhausted."""
        return await self.r.hgetall(Keys(tenant).quota)

    async def lock_quota_reading(self, tenant: str, seconds: int = 5) -> bool:
        """True for the one caller that reads LINE's quota now (others keep the figures they have)."""
        return bool(await self.r.set(Keys(tenant).quota + ":lock", "1", nx=True, ex=seconds))

    async def record_quota_reading(self, tenant: str, limit: int | None, used: int, read_at: float) -> None:
        """A fresh reading replaces the local count and LINE's last "monthly limit" answer, and frees the lock."""
        key = Keys(tenant).quota
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"limit": -1 if limit is None else limit, "used": used, "local": 0, "read_at": repr(read_at)})
            pipe.hdel(key, "exhausted")
            pipe.delete(key + ":lock")
            await pipe.execute()

    async def add_quota_sent(self, tenant: str, count: int) -> None:
        await self.r.hincrby(Keys(tenant).quota, "local", count)

    async def mark_quota_exhausted(self, tenant: str, at: float, local: int | None) -> None:
        """LINE said "monthly limit" at ``at``; ``local`` (if given) makes the count reach the limit."""
        mapping: dict[str, str | int] = {"exhausted": repr(at)}
        if local is not None:
            mapping["local"] = local
        await self.r.hset(Keys(tenant).quota, mapping=mapping)

    async def quota_warned_once(self, tenant: str, month: str, percent: int) -> bool:
        """True the first time a threshold is crossed in a month (the flag lasts 40 days)."""
        flag = f"{Keys(tenant).quota}:warned:{month}:{percent}"
        return bool(await self.r.set(flag, "1", nx=True, ex=40 * 24 * 3600))

    async def ack(self, stream: str, entry_id: str) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.xack(stream, GROUP, entry_id)
            pipe.xdel(stream, entry_id)
            await pipe.execute()

    async def _pipe_hget(self, keys: list[str], field_: str) -> list[str | None]:
        out: list[str | None] = []
        for i in range(0, len(keys), 1000):
            async with self.r.pipeline(transaction=False) as pipe:
                for key in keys[i : i + 1000]:
                    pipe.hget(key, field_)
                out.extend(await pipe.execute())
        return out
