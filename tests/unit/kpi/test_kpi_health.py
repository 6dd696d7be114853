"""Readiness as a plain async function over probes."""

from __future__ import annotations

import asyncio

from kpi.health import MemoryFeedStatus, feeds_probe, nlu_probe, readiness


def _const(ok: bool, detail: str = ""):
    async def probe():
        return ok, detail

    return probe


async def test_ready_only_when_every_probe_passes():
    status, details = await readiness({"redis": _const(True, "pong"), "nlu": _const(True)})
    assert status == 200 and details["status"] == "ready"
    status, details = await readiness({"redis": _const(True), "nlu": _const(False, "down")})
    assert status == 503 and details["checks"]["nlu"] == {"ok": False, "detail": "down"}


async def test_a_hung_or_raising_probe_counts_as_not_ready():
    async def hangs():
        await asyncio.sleep(3600)

    async def raises():
        raise ConnectionError("refused")

    status, details = await readiness({"slow": hangs, "broken": raises}, timeout=0.05)
    assert status == 503
    assert details["checks"]["slow"]["ok"] is False and "no answer" in details["checks"]["slow"]["detail"]
    assert "ConnectionError" in details["checks"]["broken"]["detail"]


async def test_nlu_is_ready_with_rasa_or_with_the_fallback():
    async def up():
        return True

    async def down():
        raise OSError("connection refused")

    assert await nlu_probe(up, fallback_active=False)() == (True, "rasa reachable")
    ok, detail = await nlu_probe(down, fallback_active=lambda: True)()
    assert ok and "fallback" in detail
    assert (await nlu_probe(down, fallback_active=False)())[0] is False


async def test_feeds_must_have_succeeded_recently():
    now = [1000.0]
    status = MemoryFeedStatus(clock=lambda: now[0])
    probe = feeds_probe(status, ["jma-extra", "jma-eqvol"], max_age_seconds=300, clock=lambda: now[0])
    ok, detail = await probe()
    assert not ok and "never" in detail
    await status.polled("jma-extra", ok=True)
    await status.polled("jma-eqvol", ok=True)
    assert (await probe())[0]
    now[0] += 200
    await status.polled("jma-eqvol", ok=True)
    await status.polled("jma-extra", ok=False)  # a failed poll does not count as fresh
    now[0] += 200
    ok, detail = await probe()
    assert not ok and "jma-extra (400s ago)" in detail and "jma-eqvol" not in detail


async def test_readyz_handler_answers_503_with_details():
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from kpi.health import readyz_handler

    state = {"redis": True}

    def probes(request):
        return {"redis": _const(state["redis"], "pong" if state["redis"] else "refused")}

    app = web.Application()
    app.router.add_get("/readyz", readyz_handler(probes))
    async with TestClient(TestServer(app)) as client:
        ok = await client.get("/readyz")
        assert ok.status == 200 and (await ok.json())["status"] == "ready"
        state["redis"] = False
        bad = await client.get("/readyz")
        assert bad.status == 503 and (await bad.json())["checks"]["redis"] == {"ok": False, "detail": "refused"}


async def test_public_readyz_and_metrics_give_details_only_with_the_ops_token():
    """Review finding 10: /metrics and /readyz were public and /readyz returned exception text (internal host:port)."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from kpi.health import readyz_handler
    from kpi.metrics import create_metrics, metrics_handler

    async def refused():
        raise ConnectionRefusedError("Error 111 connecting to 10.20.30.40:6380. Connection refused.")

    app = web.Application()
    app.router.add_get("/readyz", readyz_handler({"redis": refused}, token="s3cret-ops", public=True))
    app.router.add_get("/metrics", metrics_handler(create_metrics("web"), token="s3cret-ops", public=True))
    async with TestClient(TestServer(app)) as client:
        anon = await client.get("/readyz")
        assert anon.status == 503 and await anon.json() == {"status": "not ready"}
        wrong = await client.get("/readyz", headers={"Authorization": "Bearer guess"})
        assert await wrong.json() == {"status": "not ready"}
        ops = await client.get("/readyz", headers={"Authorization": "Bearer s3cret-ops"})
        body = await ops.text()
        assert "ConnectionRefusedError" in body and "10.20.30.40" not in body and "6380" not in body
        assert (await client.get("/metrics")).status == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer guess"})).status == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer s3cret-ops"})).status == 200
