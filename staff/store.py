"""StaffStore port: accounts, sessions, login-failure counters and the audit log, with Memory and Redis adapters.

Redis keys (tenant in braces = cluster hash tag, so one tenant's staff data lives on one shard):
``cb:{t}:staff:account:<username>`` (hash), ``cb:{t}:staff:accounts`` (set), ``cb:{t}:staff:session:<sid>`` (hash,
expires), ``cb:{t}:staff:fail:<key>`` (counter with TTL), ``cb:{t}:staff:gate:<key>`` (login gate: attempts and the
time of the next allowed one, with TTL), ``cb:{t}:staff:device:<token>`` (a browser that signed in before: username,
with TTL), ``cb:{t}:staff:audit`` (stream, append-only, capped at ``AUDIT_MAXLEN``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from typing import Protocol

from bot.redis_client import RedisClient, connect
from staff.model import AuditEntry, Session, StaffAccount

AUDIT_MAXLEN = 200_000  # per tenant: years of staff actions; a flood (or a bug) cannot fill Redis with it


def delay_for(attempts: int, free: int, base: float, cap: float) -> float:
    """Seconds until the next attempt is allowed after ``attempts`` unsuccessful ones: none for the first ``free``,
    then doubling from ``base`` up to ``cap`` (an attacker is slowed to one guess per ``cap``; the owner waits at most
    ``cap``, never a fixed lock-out)."""
    return 0.0 if attempts < free else min(cap, base * 2 ** (attempts - free))


class StaffStore(Protocol):
    async def get_account(self, tenant: str, username: str) -> StaffAccount | None: ...
    async def save_account(self, account: StaffAccount) -> None: ...
    async def list_accounts(self, tenant: str) -> list[StaffAccount]: ...

    async def save_session(self, session: Session, ttl_seconds: int) -> None: ...
    async def get_session(self, tenant: str, session_id: str) -> Session | None: ...
    async def touch_session(self, tenant: str, session_id: str, last_seen: float, ttl_seconds: int) -> None: ...
    async def delete_session(self, tenant: str, session_id: str) -> None: ...

    async def add_failure(self, tenant: str, key: str, window_seconds: int, now: float) -> int:
        """Count one failed login for ``key`` (username or address) and return the count within the window."""
        ...

    async def failures(self, tenant: str, key: str, now: float) -> int: ...
    async def clear_failures(self, tenant: str, key: str) -> None: ...

    async def gate_enter(self, tenant: str, key: str, now: float, free: int, base: float, cap: float) -> float:
        """Atomically: 0.0 and one more attempt recorded when ``key`` may try now, otherwise the seconds to wait (and
        nothing recorded). Counted *before* the password is checked, so parallel guesses cannot slip past."""
        ...

    async def gate_refund(self, tenant: str, key: str, free: int) -> None:
        """Take back one recorded attempt (it succeeded); below ``free`` attempts the wait is lifted."""
        ...

    async def gate_reset(self, tenant: str, key: str) -> None: ...

    async def save_device(self, tenant: str, token: str, username: str, ttl_seconds: int) -> None:
        """Remember a browser that signed in as ``username`` (its own login gate, see ``staff.service.login``)."""
        ...

    async def device_owner(self, tenant: str, token: str) -> str | None: ...

    async def append_audit(self, entry: AuditEntry) -> None: ...
    async def audit_log(self, tenant: str, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        ...


class MemoryStaffStore:
    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str], StaffAccount] = {}
        self._sessions: dict[tuple[str, str], tuple[Session, float]] = {}  # (session, expires_at)
        self._fails: dict[tuple[str, str], tuple[int, float]] = {}  # (count, window ends)
        self._gates: dict[tuple[str, str], tuple[int, float]] = {}  # (attempts, next allowed at)
        self._devices: dict[tuple[str, str], tuple[str, float]] = {}  # (username, expires at)
        self._audit: dict[str, list[AuditEntry]] = {}

    async def get_account(self, tenant: str, username: str) -> StaffAccount | None:
        acc = self._accounts.get((tenant, username))
        return None if acc is None else replace(acc)

    async def save_account(self, account: StaffAccount) -> None:
        self._accounts[(account.tenant, account.username)] = replace(account)

    async def list_accounts(self, tenant: str) -> list[StaffAccount]:
        return [replace(a) for (t, _), a in sorted(self._accounts.items()) if t == tenant]

    async def save_session(self, session: Session, ttl_seconds: int) -> None:
        self._sessions[(session.tenant, session.id)] = (replace(session), time.time() + ttl_seconds)

    async def get_session(self, tenant: str, session_id: str) -> Session | None:
        found = self._sessions.get((tenant, session_id))
        if found is None or found[1] < time.time():
            return None
        return replace(found[0])

    async def touch_session(self, tenant: str, session_id: str, last_seen: float, ttl_seconds: int) -> None:
        found = self._sessions.get((tenant, session_id))
        if found is not None:
            found[0].last_seen = last_seen
            self._sessions[(tenant, session_id)] = (found[0], time.time() + ttl_seconds)

    async def delete_session(self, tenant: str, session_id: str) -> None:
        self._sessions.pop((tenant, session_id), None)

    async def add_failure(self, tenant: str, key: str, window_seconds: int, now: float) -> int:
        count, ends = self._fails.get((tenant, key), (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_seconds
        self._fails[(tenant, key)] = (count + 1, ends)
        return count + 1

    async def failures(self, tenant: str, key: str, now: float) -> int:
        count, ends = self._fails.get((tenant, key), (0, 0.0))
        return count if ends > now else 0

    async def clear_failures(self, tenant: str, key: str) -> None:
        self._fails.pop((tenant, key), None)

    async def gate_enter(self, tenant: str, key: str, now: float, free: int, base: float, cap: float) -> float:
        n, nxt = self._gates.get((tenant, key), (0, 0.0))
        if nxt > now:
            return nxt - now
        n += 1
        self._gates[(tenant, key)] = (n, now + delay_for(n, free, base, cap))
        return 0.0

    async def gate_refund(self, tenant: str, key: str, free: int) -> None:
        n, nxt = self._gates.get((tenant, key), (0, 0.0))
        n = max(0, n - 1)
        self._gates[(tenant, key)] = (n, nxt if n >= free else 0.0)

    async def gate_reset(self, tenant: str, key: str) -> None:
        self._gates.pop((tenant, key), None)

    async def save_device(self, tenant: str, token: str, username: str, ttl_seconds: int) -> None:
        self._devices[(tenant, token)] = (username, time.time() + ttl_seconds)

    async def device_owner(self, tenant: str, token: str) -> str | None:
        found = self._devices.get((tenant, token))
        return found[0] if found and found[1] > time.time() else None

    async def append_audit(self, entry: AuditEntry) -> None:
        entries = self._audit.setdefault(entry.tenant, [])
        entries.append(replace(entry, detail=dict(entry.detail)))
        del entries[:-AUDIT_MAXLEN]

    async def audit_log(self, tenant: str, limit: int = 100) -> list[AuditEntry]:
        return [replace(e) for e in reversed(self._audit.get(tenant, [])[-limit:])]


# KEYS[1] gate hash; ARGV now, free, base, cap, ttl. Returns the wait in seconds as a string ("0" = go, recorded).
_GATE_ENTER = """
local now = tonumber(ARGV[1])
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if nxt > now then return tostring(nxt - now) end
n = n + 1
local free, base, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local d = 0
if n >= free then d = math.min(cap, base * 2 ^ (n - free)) end
redis.call('HSET', KEYS[1], 'n', n, 'next', tostring(now + d))
redis.call('EXPIRE', KEYS[1], ARGV[5])
return '0'
"""
# KEYS[1] gate hash; ARGV free
_GATE_REFUND = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n <= 0 then return 0 end
n = n - 1
redis.call('HSET', KEYS[1], 'n', n)
if n < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'next', '0') end
return n
"""
GATE_TTL = 24 * 3600  # attempts are forgotten a day after the last one


class RedisStaffStore:
    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._gate_enter = client.register_script(_GATE_ENTER)
        self._gate_refund = client.register_script(_GATE_REFUND)

    @classmethod
    def from_url(cls, url: str) -> RedisStaffStore:
        return cls(connect(url))

    @staticmethod
    def _k(tenant: str, name: str) -> str:
        return f"cb:{{{tenant}}}:staff:{name}"

    async def get_account(self, tenant: str, username: str) -> StaffAccount | None:
        raw = await self._r.hgetall(self._k(tenant, f"account:{username}"))
        if not raw:
            return None
        return StaffAccount(
            tenant=tenant,
            username=username,
            role=raw["role"],
            password_hash=raw["password_hash"],
            display_name=raw.get("display_name", ""),
            active=raw.get("active", "1") == "1",
            created_at=float(raw.get("created_at", 0)),
            demo=raw.get("demo", "0") == "1",
            session_epoch=int(raw.get("session_epoch", 0)),
            totp_secret=raw.get("totp_secret", ""),
            totp_last_step=int(raw.get("totp_last_step", 0)),
            recovery_hashes=tuple(json.loads(raw.get("recovery_hashes") or "[]")),
        )

    async def save_account(self, account: StaffAccount) -> None:
        mapping = {
            "role": account.role,
            "password_hash": account.password_hash,
            "display_name": account.display_name,
            "active": "1" if account.active else "0",
            "created_at": repr(account.created_at),
            "demo": "1" if account.demo else "0",
            "session_epoch": str(account.session_epoch),
            "totp_secret": account.totp_secret,
            "totp_last_step": str(account.totp_last_step),
            "recovery_hashes": json.dumps(list(account.recovery_hashes)),
        }
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k(account.tenant, f"account:{account.username}"), mapping=mapping)
            pipe.sadd(self._k(account.tenant, "accounts"), account.username)
            await pipe.execute()

    async def list_accounts(self, tenant: str) -> list[StaffAccount]:
        names = sorted(await self._r.smembers(self._k(tenant, "accounts")))
        out = []
        for name in names:
            acc = await self.get_account(tenant, name)
            if acc is not None:
                out.append(acc)
        return out

    async def save_session(self, session: Session, ttl_seconds: int) -> None:
        key = self._k(session.tenant, f"session:{session.id}")
        mapping = {k: (repr(v) if isinstance(v, float) else str(v)) for k, v in asdict(session).items()}
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, ttl_seconds)
            await pipe.execute()

    async def get_session(self, tenant: str, session_id: str) -> Session | None:
        raw = await self._r.hgetall(self._k(tenant, f"session:{session_id}"))
        if not raw or raw.get("tenant") != tenant:
            return None
        return Session(
            id=raw["id"],
            tenant=raw["tenant"],
            username=raw["username"],
            role=raw["role"],
            csrf=raw["csrf"],
            created_at=float(raw["created_at"]),
            last_seen=float(raw["last_seen"]),
            display_name=raw.get("display_name", ""),
            epoch=int(raw.get("epoch", 0)),
            stage=raw.get("stage", ""),
            next=raw.get("next", ""),
            mfa_secret=raw.get("mfa_secret", ""),
        )

    async def touch_session(self, tenant: str, session_id: str, last_seen: float, ttl_seconds: int) -> None:
        key = self._k(tenant, f"session:{session_id}")
        # only touch a live session: HSET on a deleted key would resurrect a half session
        if await self._r.exists(key):
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(key, "last_seen", repr(last_seen))
                pipe.expire(key, ttl_seconds)
                await pipe.execute()

    async def delete_session(self, tenant: str, session_id: str) -> None:
        await self._r.delete(self._k(tenant, f"session:{session_id}"))

    async def add_failure(self, tenant: str, key: str, window_seconds: int, now: float) -> int:
        k = self._k(tenant, f"fail:{key}")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def failures(self, tenant: str, key: str, now: float) -> int:
        return int(await self._r.get(self._k(tenant, f"fail:{key}")) or 0)

    async def clear_failures(self, tenant: str, key: str) -> None:
        await self._r.delete(self._k(tenant, f"fail:{key}"))

    async def gate_enter(self, tenant: str, key: str, now: float, free: int, base: float, cap: float) -> float:
        wait = await self._gate_enter(keys=[self._k(tenant, f"gate:{key}")], args=[repr(now), free, repr(base), repr(cap), GATE_TTL])
        return float(wait)

    async def gate_refund(self, tenant: str, key: str, free: int) -> None:
        await self._gate_refund(keys=[self._k(tenant, f"gate:{key}")], args=[free])

    async def gate_reset(self, tenant: str, key: str) -> None:
        await self._r.delete(self._k(tenant, f"gate:{key}"))

    async def save_device(self, tenant: str, token: str, username: str, ttl_seconds: int) -> None:
        await self._r.set(self._k(tenant, f"device:{token}"), username, ex=ttl_seconds)

    async def device_owner(self, tenant: str, token: str) -> str | None:
        return await self._r.get(self._k(tenant, f"device:{token}"))

    async def append_audit(self, entry: AuditEntry) -> None:
        await self._r.xadd(
            self._k(entry.tenant, "audit"),
            {
                "ts": repr(entry.ts),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "detail": json.dumps(entry.detail, ensure_ascii=False),
            },
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )

    async def audit_log(self, tenant: str, limit: int = 100) -> list[AuditEntry]:
        rows = await self._r.xrevrange(self._k(tenant, "audit"), count=limit)
        return [
            AuditEntry(
                tenant=tenant,
                actor=f["actor"],
                action=f["action"],
                target=f.get("target", ""),
                detail=json.loads(f.get("detail") or "{}"),
                ts=float(f["ts"]),
            )
            for _, f in rows
        ]
