"""Readiness: ``/readyz`` = Redis reachable, Rasa reachable or the fallback classifier active, feeds polled recently.

``readiness(probes)`` is a plain async function returning ``(http_status, details)``; each probe is an async callable
returning ``(ok, detail)``. Probes run concurrently, each with a timeout, and a probe that raises counts as failed —
so one hung dependency makes the answer "not ready" quickly instead of hanging the load balancer's check.

Feed polls are recorded by the scheduler process and read by the web process, so their last success lives in Redis
(``FeedStatus`` port, key ``cb:{ops}:ops:feeds``) rather than in a process-local gauge.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web

from bot.redis_client import RedisClient

log = logging.getLogger("civicbot.health")
ProbeResult = tuple[bool, str]


def bearer_ok(request: web.Request, token: str | None) -> bool:
    """``Authorization: Bearer <token>`` matches the configured operations token (never when none is configured)."""
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
Probe = Callable[[], Awaitable[ProbeResult]]


async def readiness(probes: Mapping[str, Probe], timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    async def run(probe: Probe) -> ProbeResult:
        try:
            return await asyncio.wait_for(probe(), timeout)
        except TimeoutError:
            return False, f"no answer within {timeout:g}s"
        except Exception as exc:  # noqa: BLE001 — any failure is "not ready", with its kind as the detail
            # the message may name internal hosts and ports: it goes to the log, the answer carries only the kind
            log.warning("readiness probe failed", extra={"error": repr(exc)[:300]})
            return False, type(exc).__name__

    names = list(probes)
    results = await asyncio.gather(*(run(probes[n]) for n in names))
    checks = {n: {"ok": ok, "detail": detail} for n, (ok, detail) in zip(names, results, strict=True)}
    ready = all(ok for ok, _ in results)
    return (200 if ready else 503), {"status": "ready" if ready else "not ready", "checks": checks}


def readyz_handler(
    probes: Mapping[str, Probe] | Callable[[web.Request], Mapping[str, Probe]], timeout: float = 2.0, *, token: str | None = None, public: bool = False
):
    """``GET /readyz``. ``probes`` may be a callable of the request, for probes built from app state at startup.

    ``public=True`` (the web port facing the internet): everyone gets the status code and ``{"status": ...}``; the
    per-check details only come with the operations token (``Authorization: Bearer``)."""

    async def handler(request: web.Request) -> web.Response:
        status, details = await readiness(probes(request) if callable(probes) else probes, timeout)
        if public and not bearer_ok(request, token):
            details = {"status": details["status"]}
        resp = web.json_response(details, status=status)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return handler


def redis_probe(client: RedisClient) -> Probe:
    async def probe() -> ProbeResult:
        await client.ping()
        return True, "pong"

    return probe


def nlu_probe(rasa_reachable: Callable[[], Awaitable[bool]], fallback_active: Callable[[], bool] | bool) -> Probe:
    """Ready when Rasa answers, or when the in-process fallback classifier is there to answer instead."""

    async def probe() -> ProbeResult:
        try:
            if await rasa_reachable():
                return True, "rasa reachable"
        except Exception:  # noqa: BLE001 — unreachable is a state here, not an error
            pass
        fallback = fallback_active() if callable(fallback_active) else fallback_active
        return (True, "rasa unreachable; fallback classifier active") if fallback else (False, "rasa unreachable and no fallback")

    return probe


def http_ok(session: Any, url: str) -> Callable[[], Awaitable[bool]]:
    """``GET url`` answered 2xx (for Rasa: ``{nlu_url}/`` answers "Hello from Rasa"). ``session``: aiohttp ClientSession."""

    async def check() -> bool:
        async with session.get(url) as resp:
            return 200 <= resp.status < 300

    return check


class FeedStatus(Protocol):
    async def polled(self, feed: str, ok: bool, at: float | None = None) -> None: ...
    async def last_success(self) -> dict[str, float]: ...


class MemoryFeedStatus:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}

    async def polled(self, feed: str, ok: bool, at: float | None = None) -> None:
        if ok:
            self._last[feed] = self._clock() if at is None else at

    async def last_success(self) -> dict[str, float]:
        return dict(self._last)


class RedisFeedStatus:
    KEY = "cb:{ops}:ops:feeds"

    def __init__(self, client: RedisClient, clock: Callable[[], float] = time.time) -> None:
        self._r = client
        self._clock = clock

    async def polled(self, feed: str, ok: bool, at: float | None = None) -> None:
        if ok:
            await self._r.hset(self.KEY, feed, repr(self._clock() if at is None else at))

    async def last_success(self) -> dict[str, float]:
        return {k: float(v) for k, v in (await self._r.hgetall(self.KEY)).items()}


def feeds_probe(status: FeedStatus, expected: Sequence[str], max_age_seconds: float, clock: Callable[[], float] = time.time) -> Probe:
    """Every expected feed succeeded within ``max_age_seconds`` (e.g. 3 × its polling interval)."""

    async def probe() -> ProbeResult:
        last = await status.last_success()
        now = clock()
        stale = [f for f in expected if now - last.get(f, float("-inf")) > max_age_seconds]
        if stale:
            return False, "stale: " + ", ".join(f"{f} ({'never' if f not in last else f'{now - last[f]:.0f}s ago'})" for f in stale)
        return True, f"{len(expected)} feed(s) fresh"

    return probe
