"""Feed → poller → telegram → jobs → audience, all on Redis; plus the scheduler factory and the parse command."""

from __future__ import annotations

import io
import json
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from alerts.cli import parse_command
from alerts.feeds import FeedConfig, schedule_jobs
from alerts.subscriptions import Place, Subscription
from app.ports import wire_alerts
from bot.users import RedisUserStore, User
from broadcasts.jobs import MemoryDeliverer

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"


async def _recipients(wiring, job) -> set[str]:
    return {r.user_id async for r in wiring.audience.resolve(job.audience)}


async def test_location_subscriber_alerted_then_cancellation_to_original_recipients(redis, mock):
    users = RedisUserStore(redis)
    deliverer = MemoryDeliverer()
    drills = []

    async def on_drill(tg):
        drills.append(tg.type)

    w = wire_alerts(redis, users, deliverer, lambda: ["demo"], FeedConfig(base_url=mock.base_url + "/developer/xml/feed/"), on_drill)
    loc = w.gazetteer.locate(34.6830, 135.4400)  # 此花区 (a shared LINE location)
    for uid, place in (
        ("located", Place("p1", "自宅", loc.code, 34.6830, 135.4400, loc.town.name)),
        ("suita", Place("p1", "実家", "27205")),
    ):
        await users.save(User(tenant="demo", user_id=uid))
        await w.store.save(Subscription("demo", uid, places=[place], categories=["earthquake"], threshold="3"))
    poller = w.feed_deps.make_poller()

    drill = (FIX / "osaka_VXSE51_5minus.xml").read_text(encoding="utf-8").replace("<Status>通常</Status>", "<Status>訓練</Status>")
    mock.publish(drill.encode())
    assert (await poller.poll_once()).jobs == 0 and drills == ["VXSE51"] and deliverer.jobs == {}

    mock.publish((FIX / "osaka_VXSE53_5plus.xml").read_bytes())
    await poller.poll_once()
    first = list(deliverer.jobs.values())
    reached = set().union(*[await _recipients(w, j) for j in first])
    assert reached == {"located", "suita"}
    assert {j.priority for j in first if "27104" in j.audience.area_codes} == {"emergency"}

    # a third resident subscribes after the alert; then JMA cancels it
    await users.save(User(tenant="demo", user_id="late"))
    await w.store.save(Subscription("demo", "late", places=[Place("p1", "自宅", "27104")], categories=["earthquake"], threshold="3"))
    cancel = (FIX / "osaka_VXSE53_5plus.xml").read_text(encoding="utf-8")
    cancel = cancel.replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>").replace("<Serial>2</Serial>", "<Serial>3</Serial>")
    mock.publish(cancel.encode())
    await poller.poll_once()
    cancels = [j for j in deliverer.jobs.values() if j.kind.endswith(":cancel")]
    assert len(cancels) == len(first)
    assert set().union(*[await _recipients(w, j) for j in cancels]) == {"located", "suita"}
    assert all(j.messages["ja"][0]["text"].startswith("【取消】") for j in cancels)
    await poller.close()


async def test_schedule_jobs_registers_gapfill_and_interval(redis):
    w = wire_alerts(redis, RedisUserStore(redis), MemoryDeliverer(), lambda: [], FeedConfig(interval_s=30))
    scheduler = AsyncIOScheduler(timezone="Asia/Tokyo")
    poller = schedule_jobs(scheduler, w.feed_deps)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {"jma-feed-gapfill", "jma-feed-poll"}
    assert jobs["jma-feed-poll"].trigger.interval.total_seconds() == 30 and jobs["jma-feed-gapfill"].kwargs == {"long": True}
    await poller.close()


def test_parse_command_prints_one_json_line_per_file(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<!DOCTYPE x [<!ENTITY a "b">]><Report/>')
    out = io.StringIO()
    rc = parse_command([str(FIX / "osaka_VXSE53_5plus.xml"), str(bad)], out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert rc == 1 and lines[0]["type"] == "VXSE53" and lines[0]["kind"] == "earthquake"
    assert lines[0]["reported_at"] == "2026-07-03T08:03:00+09:00" and lines[0]["areas"][1] == {"code": "2710400", "name": "大阪此花区", "intensity": "5-"}
    assert "hostile" in lines[1]["error"]


async def test_mockfeed_server_and_demo_alert_command():
    import asyncio
    import socket

    from alerts.cli import demo_alert, serve_mockfeed
    from alerts.feeds import JmaFeedPoller, MemorySeenStore

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stop = asyncio.Event()
    server = asyncio.create_task(serve_mockfeed("127.0.0.1", port, stop))
    for _ in range(100):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    got = []

    async def handle(data, entry):
        got.append(entry.type)
        return 0

    poller = JmaFeedPoller(FeedConfig(base_url=f"http://127.0.0.1:{port}/developer/xml/feed/"), MemorySeenStore(), handle)
    try:
        answer = await demo_alert(str(FIX / "osaka_VTSE41_warning.xml"), f"http://127.0.0.1:{port}")
        assert "_VTSE41_" in answer["id"]
        await poller.poll_once()
        assert got == ["VTSE41"]
    finally:
        await poller.close()
        stop.set()
        await server


async def test_default_wiring_keeps_drills_for_admins(redis):
    w = wire_alerts(redis, RedisUserStore(redis), MemoryDeliverer(), lambda: ["demo"])
    drill = (FIX / "osaka_VTSE41_warning.xml").read_text(encoding="utf-8").replace("<Status>通常</Status>", "<Status>訓練</Status>")
    from alerts.jma.parser import parse_telegram
    from alerts.service import process_telegram

    assert await process_telegram(parse_telegram(drill.encode()), w.alert_deps) == []
    [kept] = await w.archive.recent("drill")
    assert kept["type"] == "VTSE41" and kept["status"] == "exercise"


def test_cli_parsers_mount_and_parse(capsys):
    import argparse

    from alerts.cli import add_parsers, run

    parser = argparse.ArgumentParser(prog="civicbot")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    rc = run(parser.parse_args(["alerts", "parse", str(FIX / "osaka_VTSE41_warning.xml")]))
    line = json.loads(capsys.readouterr().out)
    assert rc == 0 and line["kind"] == "tsunami" and line["areas"][0] == {"code": "510", "name": "大阪府", "category": "津波警報"}
    assert parser.parse_args(["demo-alert", "x.xml"]).mock_url is None  # run() falls back to the configured port


def test_demo_alert_publishes_to_the_configured_mock_feed_without_mock_url(capsys):
    """``civicbot demo-alert FILE`` follows CIVICBOT_MOCKFEED_PORT (passed in by app/commands.py)."""
    import argparse
    import http.server
    import threading

    from alerts.cli import add_parsers, run

    got: list[tuple[str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"id": "http://mock/x.xml"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        parser = argparse.ArgumentParser(prog="civicbot")
        add_parsers(parser.add_subparsers(dest="command", required=True))
        file = FIX / "osaka_VXWW50.xml"
        assert run(parser.parse_args(["demo-alert", str(file)]), default_mock_url=f"http://127.0.0.1:{server.server_address[1]}") == 0
    finally:
        server.shutdown()
        server.server_close()
    assert got == [("/publish", file.read_bytes())]
    assert json.loads(capsys.readouterr().out) == {"id": "http://mock/x.xml"}
