"""Issues 6 and 7 through the real processes: a resident registers by tapping quick replies (or sharing a location)
in the emulator, a JMA telegram / a police RSS notice appears upstream, the scheduler picks it up, the delivery
worker pushes it, and the emulator's ledger shows who got what.

Processes: emulator, web, worker (chat + delivery), scheduler (``tests.system.System``), plus the JMA mock feed as
``civicbot alerts mockfeed`` and telegrams published with ``civicbot demo-alert`` — what staff do in the demo.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
import yaml

from tests.system import OPS_HEADERS, REPO, System, free_port, wait_http

pytestmark = pytest.mark.slow

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"
JST = dt.timezone(dt.timedelta(hours=9))
MINOH_WEST = (34.8269, 135.4706)  # 箕面市西小路四丁目
SAKAI = (34.5733, 135.4828)  # 堺市堺区南瓦町
ESAKA_1 = (34.760905, 135.499026)  # 吹田市江坂町一丁目 (the gazetteer's point for the town)


# ------------------------------------------------------------------ a phone in the emulator
class Phone:
    """One resident's phone: sends events through the emulator and taps the quick replies the bot offered."""

    def __init__(self, system: System, user_id: str, tenant: str = "demo") -> None:
        self.system, self.user_id, self.tenant = system, user_id, tenant

    def replies(self) -> list[dict]:
        return [d for d in self.system.messages_to(self.user_id) if d["endpoint"] == "reply"]

    def _send(self, **event) -> dict:
        """Send one event and return the bot's reply to it (pushes arriving meanwhile are not replies)."""
        before = len(self.replies())
        self.system.post("/_emulator/send", {"tenant": self.tenant, "user_id": self.user_id, **event})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = self.replies()
            if len(got) > before:
                return got[-1]
            time.sleep(0.1)
        raise AssertionError(f"{self.user_id}: no reply to {event}")

    def follow(self) -> dict:
        return self._send(type="follow")

    def quick_replies(self) -> list[dict]:
        last = self.replies()[-1]
        return [item["action"] for m in last["messages"] for item in m.get("quickReply", {}).get("items", [])]

    def tap(self, label: str) -> dict:
        """Tap the quick reply whose label contains ``label``; 次へ pages on until it shows up."""
        for _ in range(10):
            actions = self.quick_replies()
            action = next((a for a in actions if label in a["label"]), None)
            if action is not None:
                assert action["type"] == "postback", action
                return self._send(type="postback", data=action["data"])
            nxt = next((a for a in actions if a["label"] in ("次へ", "Next")), None)
            assert nxt is not None, f"no quick reply {label!r} among {[a['label'] for a in actions]}"
            self._send(type="postback", data=nxt["data"])
        raise AssertionError(f"{label!r} never offered")

    def share_location(self, lat: float, lng: float) -> dict:
        assert any(a["type"] == "location" for a in self.quick_replies()), "the bot did not offer a location button"
        return self._send(type="location", lat=lat, lng=lng, address="大阪府")

    def pushes(self) -> list[dict]:
        return [d for d in self.system.messages_to(self.user_id) if d["endpoint"] != "reply"]

    def wait_pushes(self, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.pushes()
            if len(got) >= count:
                return got
            time.sleep(0.2)
        raise AssertionError(f"{self.user_id}: expected {count} pushes, got {self.pushes()}")


def push_text(delivery: dict) -> str:
    return "\n".join(m.get("text", "") for m in delivery["messages"])


def register_by_taps(phone: Phone, city: str, *, ward: str | None = None, add: tuple[str, ...] = ()) -> None:
    """follow → 通知の登録 → (the tenant's own city, or ほかの市町村 → pages) → city [→ ward] → 自宅 → 通知の種類
    (toggle ``add``) → 完了."""
    phone.follow()
    phone.tap("通知の登録")
    if not any(a["label"] == city for a in phone.quick_replies()):
        phone.tap("ほかの")
    phone.tap(city)
    if ward is not None:
        phone.tap(ward)
    saved = phone.tap("自宅")
    assert (ward or city) in push_text(saved), push_text(saved)
    phone.tap("種類")
    for label in add:
        phone.tap(label)
    assert "✓土砂災害" in [a["label"] for a in phone.quick_replies()], [a["label"] for a in phone.quick_replies()]
    for label in add:
        assert any(a["label"].startswith("✓" + label) for a in phone.quick_replies())
    phone.tap("完了")


def register_by_location(phone: Phone, lat: float, lng: float, *, add: tuple[str, ...] = ()) -> None:
    """follow → 通知の登録 → 位置情報 → 自宅 → 通知の種類 (toggle ``add``) → 完了."""
    phone.follow()
    phone.tap("通知の登録")
    phone.share_location(lat, lng)
    phone.tap("自宅")
    phone.tap("種類")
    for label in add:
        phone.tap(label)
    phone.tap("完了")


# ------------------------------------------------------------------ processes
def _cli(system: System, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "app.cli", *args], env=system.env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _start_mockfeed(system: System, port: int) -> str:
    """``civicbot alerts mockfeed`` as its own process (what ``civicbot demo`` starts)."""
    log = open(system.tmp / "mockfeed.log", "ab")
    system.procs["mockfeed"] = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "alerts", "mockfeed", "--port", str(port)],
        env=system.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/developer/xml/feed/extra.xml")
    return url


def _keep_ledger(system: System) -> None:
    """Leave the emulator's ledger next to the process logs, for reading a failure afterwards."""
    import json

    try:
        (system.tmp / "ledger.json").write_text(json.dumps(system.get("/_emulator/messages"), ensure_ascii=False, indent=1))
    except Exception:  # noqa: BLE001 - the emulator may be the thing that failed
        pass


def _readyz(system: System) -> dict:
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(system.web + "/readyz", headers=OPS_HEADERS), timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:  # 503 while something else (Rasa) is down: the body still says why
        return json.loads(exc.read())


def _archived(redis_url: str, kind: str) -> list[dict]:
    import json

    import redis as syncredis

    client = syncredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [json.loads(x) for x in client.lrange(f"cb:{{jma}}:alerts:archive:{kind}", 0, 99)]
    finally:
        client.close()


def _wait_unsubscribed(redis_url: str, user_id: str, timeout: float = 30) -> None:
    """The worker handles the unfollow asynchronously (no reply to wait for): wait until the subscription is gone."""
    import asyncio

    import redis.asyncio as aioredis

    from alerts.geo import Gazetteer
    from alerts.subscriptions import RedisSubscriptionStore

    async def poll() -> None:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        store = RedisSubscriptionStore(client, Gazetteer.load())
        try:
            deadline = time.monotonic() + timeout
            while await store.get("demo", user_id) is not None:
                assert time.monotonic() < deadline, "unfollow never deleted the subscription"
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()

    asyncio.run(poll())


@pytest.fixture
def flushed(redis_url):
    import redis as syncredis

    syncredis.Redis.from_url(redis_url).flushdb()
    return redis_url


def test_jma_alert_reaches_the_registered_residents_once_never_a_drill_and_a_cancellation_follows(tmp_path, flushed):
    mock_port = free_port()
    system = System(
        tmp_path, flushed,
        extra_env={"CIVICBOT_JMA_FEED_BASE_URL": f"http://127.0.0.1:{mock_port}/developer/xml/feed/", "CIVICBOT_JMA_POLL_SECONDS": "1"},
    )
    try:
        _jma_scenario(system, tmp_path, flushed, mock_port)
    finally:
        _keep_ledger(system)
        system.stop_all()


def _jma_scenario(system: System, tmp_path: Path, redis_url: str, mock_port: int) -> None:
    system.start("emulator")
    system.start("web")
    system.start("worker")
    minoh = Phone(system, "U" + "a" * 31 + "1")  # taps 箕面市 on the municipality list
    located = Phone(system, "U" + "a" * 31 + "2")  # shares a location in 箕面市
    sakai = Phone(system, "U" + "a" * 31 + "3")  # shares a location in 堺市: elsewhere
    konohana = Phone(system, "U" + "a" * 31 + "4")  # taps 大阪市 (the tenant's city), then the ward 此花区
    register_by_taps(minoh, "箕面市")
    # a second place in the same city (a school, by location): still one message per alert
    minoh._send(type="text", text="防災・防犯通知の登録")
    minoh.tap("場所を追加")
    minoh.share_location(*MINOH_WEST)
    assert "学校" in push_text(minoh.tap("学校"))
    register_by_taps(konohana, "大阪市", ward="此花区")
    paused = Phone(system, "U" + "a" * 31 + "5")  # 箕面市, then types 「通知停止」
    register_by_taps(paused, "箕面市")
    assert "停止" in push_text(paused._send(type="text", text="通知停止"))
    gone = Phone(system, "U" + "a" * 31 + "6")  # 箕面市, then blocks the account: unfollow stops everything
    register_by_taps(gone, "箕面市")
    system.post("/_emulator/send", {"tenant": "demo", "user_id": gone.user_id, "type": "unfollow"})
    _wait_unsubscribed(redis_url, gone.user_id)
    register_by_location(located, *MINOH_WEST)
    register_by_location(sakai, *SAKAI)
    # the located resident reads English: typed menu word → 言語 → English
    located._send(type="text", text="防災・防犯通知の登録")
    located.tap("言語")
    assert "English" in push_text(located.tap("English"))

    mock = _start_mockfeed(system, mock_port)
    system.start("scheduler")

    # 1) a 訓練 土砂災害警戒情報 for 箕面市: kept for admins, never pushed
    src = (FIX / "osaka_VXWW50.xml").read_text(encoding="utf-8")
    drill = tmp_path / "drill_VXWW50.xml"
    drill.write_text(src.replace("<Status>通常</Status>", "<Status>訓練</Status>"), encoding="utf-8")
    _cli(system, "demo-alert", str(drill), "--mock-url", mock)

    # 2) the real one: 箕面市 and 池田市 発表
    _cli(system, "demo-alert", str(FIX / "osaka_VXWW50.xml"), "--mock-url", mock)
    (alert,) = minoh.wait_pushes(1)
    assert push_text(alert).startswith("【土砂災害警戒情報】箕面市") and "出典：気象庁" in push_text(alert), push_text(alert)
    assert alert["retry_key"], "alerts are pushed with X-Line-Retry-Key"
    (alert_en,) = located.wait_pushes(1)
    assert push_text(alert_en).startswith("[Landslide alert") and "Minoh" in push_text(alert_en), push_text(alert_en)
    # the drill went through the same pipeline (an earlier entry of the same feed) and stopped at the admin archive
    assert [d["status"] for d in _archived(redis_url, "drill")] == ["exercise"]

    # 3) JMA cancels it: a follow-up to the same people
    cancel = tmp_path / "cancel_VXWW50.xml"
    cancel.write_text(
        src.replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>").replace("<Serial>1</Serial>", "<Serial>2</Serial>"),
        encoding="utf-8",
    )
    _cli(system, "demo-alert", str(cancel), "--mock-url", mock)
    _, follow_up = minoh.wait_pushes(2)
    assert push_text(follow_up).startswith("【取消】先ほどお知らせした「土砂災害警戒情報」"), push_text(follow_up)
    _, follow_up_en = located.wait_pushes(2)
    assert push_text(follow_up_en).startswith('[Cancelled] JMA has cancelled the earlier notice "landslide alert'), push_text(follow_up_en)

    # 4) a new レベル３大雨警報 for 大阪市 (堺市 only has a continuing 注意報): the ward resident hears of it
    _cli(system, "demo-alert", str(FIX / "osaka_VPWW55_level4.xml"), "--mock-url", mock)
    (rain,) = konohana.wait_pushes(1)
    assert "大雨警報" in push_text(rain) and "大阪市" in push_text(rain), push_text(rain)

    # 5) an earthquake on the national eqvol feed: 此花区 震度5弱 (reached), 堺区 震度3 (below the default 震度4 threshold)
    _cli(system, "demo-alert", str(FIX / "osaka_VXSE53_5plus.xml"), "--mock-url", mock)
    _, quake = konohana.wait_pushes(2)
    assert push_text(quake).startswith("【地震】") and "此花区" in push_text(quake) and "5弱" in push_text(quake), push_text(quake)

    time.sleep(2.0)  # two more poll cycles: anything still in flight would show up now
    assert len(minoh.pushes()) == 2 and len(located.pushes()) == 2 and len(konohana.pushes()) == 2
    assert sakai.pushes() == [] and paused.pushes() == [] and gone.pushes() == []
    assert system.get("/_emulator/stats")["duplicates"] == 0
    # the web process now reports the JMA feeds as fresh (the scheduler records every successful poll)
    checks = _readyz(system)["checks"]
    assert checks["feeds"]["ok"], checks


# ------------------------------------------------------------------ issue 7: a police notice from a tenant's RSS feed
def _notice_rss(now: dt.datetime) -> str:
    """One 声かけ at 吹田市江坂町1丁目, dated yesterday (inside the 30-day retention whenever the test runs)."""
    day = now - dt.timedelta(days=1)
    item = (
        f"<p>■子どもに対する声かけ</p><p>{day.month}月{day.day}日午後5時頃、吹田市江坂町1丁目付近の路上で、下校中の男子児童に対し、"
        "男が「一緒に行こう」等と声をかける事案が発生しました。</p><p>■男の特徴</p><p>40歳位、黒色帽子</p>"
        "<p>■防犯アドバイス</p><p>知らない人について行かないよう教えてください。</p><p>吹田警察署</p>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>防犯情報</title><link>http://127.0.0.1/</link><description>t</description>
<item><title>子どもに対する声かけ（吹田市）</title><guid>whole-system-1</guid><pubDate>{format_datetime(now)}</pubDate>
<description>{escape(item)}</description></item>
</channel></rss>"""


class _RssServer:
    """A loopback HTTP server answering the RSS on /feed (a thread: the test itself is synchronous)."""

    def __init__(self, body: str) -> None:
        import http.server
        import threading

        payload = body.encode("utf-8")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200 if self.path == "/feed" else 404)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tenants_with_notices(path: Path, feed_url: str) -> Path:
    """The demo tenants (literal secrets, ``demo: true``) with an RSS notices source on ``demo``."""
    raw = yaml.safe_load((REPO / "config" / "tenants.demo.yaml").read_text(encoding="utf-8"))
    for tenant in raw["tenants"]:
        if tenant["id"] == "demo":
            tenant["notices"] = {
                "radius_m": 1000,
                "poll_seconds": 30,  # the first poll runs when the scheduler starts
                "feeds": [{"name": "suita-police", "url": feed_url, "source_name": "大阪府警察"}],
            }
    out = path / "tenants.yaml"
    out.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return out


def test_police_notice_reaches_residents_near_it_and_not_one_3_km_away(tmp_path, flushed):
    rss = _RssServer(_notice_rss(dt.datetime.now(JST)))
    system = System(
        tmp_path, flushed,
        extra_env={"CIVICBOT_TENANTS": str(_tenants_with_notices(tmp_path, rss.url)), "CIVICBOT_JMA_POLL_SECONDS": "0"},
    )
    try:
        system.start("emulator")
        system.start("web")
        system.start("worker")
        near = Phone(system, "U" + "b" * 31 + "1")  # 500 m north of 江坂町一丁目 (垂水町一丁目)
        far = Phone(system, "U" + "b" * 31 + "2")  # 3 km north (桃山台四丁目), same city
        whole_city = Phone(system, "U" + "b" * 31 + "3")  # registered 吹田市 as a whole
        no_crime = Phone(system, "U" + "b" * 31 + "4")  # next door, but never chose 防犯
        register_by_location(near, ESAKA_1[0] + 0.5 / 111.0, ESAKA_1[1], add=("防犯",))
        register_by_location(far, ESAKA_1[0] + 3.0 / 111.0, ESAKA_1[1], add=("防犯",))
        register_by_taps(whole_city, "吹田市", add=("防犯",))
        register_by_location(no_crime, ESAKA_1[0] + 0.3 / 111.0, ESAKA_1[1])

        system.start("scheduler")
        for phone in (near, whole_city):
            (notice,) = phone.wait_pushes(1)
            body = push_text(notice)
            assert "声かけ" in body and "江坂町" in body and "大阪府警察" in body, body
        time.sleep(2.0)  # the job has gone to everyone it targets; give a stray push the chance to show up
        assert far.pushes() == [] and no_crime.pushes() == []
        assert len(near.pushes()) == 1 and len(whole_city.pushes()) == 1

        # 「近くで不審者情報ある？」 answers from the kept incidents
        answer = near._send(type="text", text="近くで不審者情報ある？")
        assert "江坂町" in push_text(answer), push_text(answer)
        assert system.get("/_emulator/stats")["duplicates"] == 0
    finally:
        _keep_ledger(system)
        system.stop_all()
        rss.close()
