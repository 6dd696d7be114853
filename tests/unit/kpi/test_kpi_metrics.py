"""Prometheus metrics: per-instance registries, the webhook middleware, /metrics with sampled gauges."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from kpi.metrics import create_metrics, inbox_refresher, metrics_handler, webhook_middleware


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_each_call_builds_its_own_registry():
    a, b = create_metrics("web"), create_metrics("worker")
    a.line_api_error("push", 429)
    assert a.registry is not b.registry
    assert a.registry.get_sample_value("civicbot_line_api_errors_total", {"endpoint": "push", "status": "429"}) == 1
    assert b.registry.get_sample_value("civicbot_line_api_errors_total", {"endpoint": "push", "status": "429"}) is None


def test_typed_recorders_set_the_named_metrics():
    m = create_metrics("scheduler")
    m.feed_polled("jma-extra", ok=True, at=1_700_000_000.0)
    m.feed_polled("jma-extra", ok=False)
    m.nlu_parsed(0.004)
    m.nlu_fallback("timeout")
    m.delivered("alert", n=250)
    m.event_processed("text")
    r = m.registry
    assert r.get_sample_value("civicbot_feed_last_success_timestamp_seconds", {"feed": "jma-extra"}) == 1_700_000_000.0
    assert r.get_sample_value("civicbot_feed_polls_total", {"feed": "jma-extra", "outcome": "error"}) == 1
    assert r.get_sample_value("civicbot_nlu_seconds_count", {"backend": "rasa"}) == 1
    assert r.get_sample_value("civicbot_nlu_fallbacks_total", {"reason": "timeout"}) == 1
    assert r.get_sample_value("civicbot_deliveries_total", {"kind": "alert", "outcome": "ok"}) == 250
    assert r.get_sample_value("civicbot_process_info", {"process": "scheduler"}) == 1


async def test_webhook_middleware_times_callbacks_by_known_tenant_and_status():
    m = create_metrics("web")

    async def ok(request):
        return web.json_response({"accepted": 0})

    async def forbidden(request):
        raise web.HTTPForbidden()

    app = web.Application(middlewares=[webhook_middleware(m, {"demo"})])
    app.router.add_post("/callback/{tenant}", ok)
    app.router.add_post("/callback/{tenant}/forged", forbidden)
    app.router.add_get("/healthz", ok)
    depth = {"n": 7}

    async def inbox_depth():
        return depth["n"]

    async def oldest():
        return 42.0

    app.router.add_get("/metrics", metrics_handler(m, [inbox_refresher(m, inbox_depth, oldest)]))
    async with TestClient(TestServer(app)) as client:
        await client.post("/callback/demo")
        await client.post("/callback/demo")
        await client.post("/callback/demo/forged")
        await client.post("/callback/made-up-tenant-123")  # must not create a label per made-up name
        await client.get("/healthz")
        resp = await client.get("/metrics")
        assert resp.headers["Content-Type"].startswith("text/plain")
        samples = _samples(await resp.text())
    assert samples[("civicbot_webhook_requests_total", (("status", "200"), ("tenant", "demo")))] == 2
    assert samples[("civicbot_webhook_requests_total", (("status", "403"), ("tenant", "demo")))] == 1
    assert samples[("civicbot_webhook_requests_total", (("status", "200"), ("tenant", "unknown")))] == 1
    assert samples[("civicbot_webhook_seconds_count", (("tenant", "demo"),))] == 3
    assert not any(k[0].startswith("civicbot_webhook") and ("tenant", "made-up-tenant-123") in k[1] for k in samples)
    assert samples[("civicbot_inbox_depth", ())] == 7
    assert samples[("civicbot_inbox_oldest_age_seconds", ())] == 42.0


async def test_a_failing_refresher_does_not_break_the_scrape():
    m = create_metrics("worker")

    async def broken():
        raise ConnectionError("redis down")

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(m, [broken]))
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert "civicbot_process_info" in await resp.text()
