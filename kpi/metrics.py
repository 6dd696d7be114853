"""Operational metrics (Prometheus) for the web, worker and scheduler processes.

No module-level registry: ``create_metrics(process)`` builds a ``CollectorRegistry`` and the metric objects on it,
and the composition root passes the resulting ``Metrics`` to whoever records. Tests get a fresh registry each.

Labels stay bounded: tenants outside the configured set are counted as ``unknown``; LINE errors by HTTP status and
endpoint; feeds by their configured name. Never a user id or text in a label.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.redis_client import RedisClient
from kpi.health import bearer_ok

log = logging.getLogger("civicbot.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Refresher = Callable[[], Awaitable[None]]


@dataclass
class Metrics:
    registry: CollectorRegistry
    process: str
    webhook_requests: Counter
    webhook_seconds: Histogram
    inbox_depth: Gauge
    inbox_oldest_age: Gauge
    events_processed: Counter
    deliveries: Counter
    line_api_errors: Counter
    nlu_seconds: Histogram
    nlu_fallbacks: Counter
    feed_polls: Counter
    feed_last_success: Gauge

    # Small typed recorders, so callers need not know label names.
    def webhook_observed(self, tenant: str, status: int, seconds: float) -> None:
        # labelled children are cached: this runs on every webhook request (bench/webhook.py)
        cache = self.__dict__.setdefault("_webhook_children", {})
        children = cache.get((tenant, status))
        if children is None:
            children = cache[(tenant, status)] = (
                self.webhook_requests.labels(tenant=tenant, status=str(status)),
                self.webhook_seconds.labels(tenant=tenant),
            )
        children[0].inc()
        children[1].observe(seconds)

    def event_processed(self, kind: str, outcome: str = "ok") -> None:
        """Worker: one inbox event handled (outcome ok / retry / dead)."""
        self.events_processed.labels(kind=kind, outcome=outcome).inc()

    def delivered(self, kind: str, outcome: str = "ok", n: int = 1) -> None:
        """A message (or ``n`` recipients) delivered: kind reply / push / multicast / alert / broadcast; outcome ok / failed / blocked."""
        self.deliveries.labels(kind=kind, outcome=outcome).inc(n)

    def line_api_error(self, endpoint: str, status: int | str) -> None:
        self.line_api_errors.labels(endpoint=endpoint, status=str(status)).inc()

    def nlu_parsed(self, seconds: float, backend: str = "rasa") -> None:
        self.nlu_seconds.labels(backend=backend).observe(seconds)

    def nlu_fallback(self, reason: str) -> None:
        """The in-process classifier answered instead of Rasa (reason: timeout / error / circuit_open)."""
        self.nlu_fallbacks.labels(reason=reason).inc()

    def feed_polled(self, feed: str, ok: bool, at: float | None = None) -> None:
        self.feed_polls.labels(feed=feed, outcome="ok" if ok else "error").inc()
        if ok:
            self.feed_last_success.labels(feed=feed).set(time.time() if at is None else at)


def create_metrics(process: str, registry: CollectorRegistry | None = None) -> Metrics:
    """All civicbot metrics on one (new) registry; ``process`` is web / worker / scheduler."""
    reg = registry if registry is not None else CollectorRegistry()
    info = Gauge("civicbot_process_info", "Always 1; labels name the process", ["process"], registry=reg)
    info.labels(process=process).set(1)
    return Metrics(
        registry=reg,
        process=process,
        webhook_requests=Counter("civicbot_webhook_requests", "Webhook requests by tenant and HTTP status", ["tenant", "status"], registry=reg),
        webhook_seconds=Histogram("civicbot_webhook_seconds", "Webhook handling time (verify, dedup, enqueue)", ["tenant"], buckets=LATENCY_BUCKETS, registry=reg),
        inbox_depth=Gauge("civicbot_inbox_depth", "Events queued in the inbox and not yet acknowledged", registry=reg),
        inbox_oldest_age=Gauge("civicbot_inbox_oldest_age_seconds", "Age of the oldest unacknowledged inbox event (0 when empty)", registry=reg),
        events_processed=Counter("civicbot_events_processed", "Inbox events handled by the worker", ["kind", "outcome"], registry=reg),
        deliveries=Counter("civicbot_deliveries", "Messages delivered to residents", ["kind", "outcome"], registry=reg),
        line_api_errors=Counter("civicbot_line_api_errors", "LINE Messaging API errors by endpoint and HTTP status", ["endpoint", "status"], registry=reg),
        nlu_seconds=Histogram("civicbot_nlu_seconds", "NLU parse time", ["backend"], buckets=LATENCY_BUCKETS, registry=reg),
        nlu_fallbacks=Counter("civicbot_nlu_fallbacks", "Parses answered by the fallback classifier", ["reason"], registry=reg),
        feed_polls=Counter("civicbot_feed_polls", "Feed polls by feed and outcome", ["feed", "outcome"], registry=reg),
        feed_last_success=Gauge("civicbot_feed_last_success_timestamp_seconds", "Unix time of the feed's last successful poll", ["feed"], registry=reg),
    )


def webhook_middleware(metrics: Metrics, known_tenants: Collection[str] | Callable[[], Collection[str]], prefix: str = "/callback/"):
    """aiohttp middleware timing webhook requests (only paths under ``prefix``), by tenant and status."""

    def known() -> Collection[str]:
        return known_tenants() if callable(known_tenants) else known_tenants

    @web.middleware
    async def middleware(request: web.Request, handler):
        if not request.path.startswith(prefix):
            return await handler(request)
        tenant = request.path[len(prefix):].split("/", 1)[0]
        if tenant not in known():
            tenant = "unknown"
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.webhook_observed(tenant, status, time.perf_counter() - started)

    return middleware


async def _refresh(refreshers: Sequence[Refresher], timeout: float) -> None:
    for refresh in refreshers:
        try:
            await asyncio.wait_for(refresh(), timeout)
        except Exception:  # noqa: BLE001 — a broken gauge must not hide all the others
            log.warning("metrics refresh failed", exc_info=True)


def metrics_handler(metrics: Metrics, refreshers: Sequence[Refresher] = (), timeout: float = 1.0, *, token: str | None = None, public: bool = False):
    """``GET /metrics``: refresh sampled gauges (inbox depth/age), then the text exposition format.

    ``public=True`` (the web port facing the internet): only with the operations token, otherwise 404 — as if there
    were no such page. The worker's and scheduler's metrics ports are internal and open."""

    async def handler(request: web.Request) -> web.Response:
        if public and not bearer_ok(request, token):
            raise web.HTTPNotFound()
        await _refresh(refreshers, timeout)
        resp = web.Response(body=generate_latest(metrics.registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    return handler


def inbox_refresher(metrics: Metrics, depth: Callable[[], Awaitable[int]], oldest_age: Callable[[], Awaitable[float | None]] | None = None) -> Refresher:
    """Samples the inbox on each scrape, e.g. ``inbox_refresher(m, inbox.depth, stream_oldest_age(redis, keys))``."""

    async def refresh() -> None:
        metrics.inbox_depth.set(await depth())
        if oldest_age is not None:
            metrics.inbox_oldest_age.set((await oldest_age()) or 0.0)

    return refresh


def stream_oldest_age(client: RedisClient, keys: Sequence[str], clock: Callable[[], float] = time.time) -> Callable[[], Awaitable[float | None]]:
    """Age of the oldest entry over Redis streams whose acknowledged entries are deleted (as ``RedisInbox`` does).

    The entry id's first part is the enqueue time in milliseconds, so no extra bookkeeping is needed.
    """

    async def oldest() -> float | None:
        async with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xrange(key, "-", "+", count=1)
            replies = await pipe.execute()
        stamps = [int(r[0][0].split("-")[0]) / 1000 for r in replies if r]
        return max(0.0, clock() - min(stamps)) if stamps else None

    return oldest


@contextlib.asynccontextmanager
async def serve_metrics(metrics: Metrics, host: str, port: int, refreshers: Sequence[Refresher] = ()) -> AsyncIterator[web.AppRunner]:
    """A tiny ``/metrics`` server for processes without a web app (worker, scheduler)."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics, refreshers))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        yield runner
    finally:
        await runner.cleanup()
