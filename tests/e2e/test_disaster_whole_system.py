"""Issue 17's whole-system test: a 震度6弱 telegram for the demo city switches the rich menu; during the tsunami
warning that follows, a resident taps 避難所を探す and shares a location in 岸和田市 and gets only 津波 sites, nearest
first; staff mark one 満員 and the next answer reflects it; staff switch back with a second person's approval.

Processes: emulator, web, worker, scheduler (JMA feed poller + disaster sync), the JMA mock feed; telegrams are
published with ``civicbot demo-alert``. Staff use the admin page over HTTP (login, CSRF, roles as in a browser).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
import redis as syncredis
import redis.asyncio as aioredis

from disaster.cli import BUNDLED
from disaster.shelters import distance_m, parse_csv
from staff import RedisStaffStore, add_staff, fast_policy
from staff.testing import complete_login
from tests.helpers import csrf_token
from tests.system import OPS_HEADERS, REPO, System, free_port, wait_http

pytestmark = pytest.mark.slow

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "jmx"
PW = "correct horse battery staple"
RESIDENT = "U" + "d15a57e4".ljust(32, "0")
KISHIWADA_STATION = (34.4615, 135.3716)
QUAKE = ("<Area><Name>大阪府北部</Name><Code>520</Code><MaxInt>5-</MaxInt></Area>",
         "<Area><Name>大阪府北部</Name><Code>520</Code><MaxInt>6-</MaxInt></Area>")
SITES = {s.name: s for p in BUNDLED for s in parse_csv(p.read_bytes()).shelters}


def _cli(system: System, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "app.cli", *args], env=system.env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _menu(system: System, user: str = RESIDENT) -> dict | None:
    return system.get(f"/_emulator/richmenu?tenant=demo&user={user}").get("menu")  # type: ignore[union-attr]


def _wait_menu(system: System, word: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        menu = _menu(system)
        if menu and word in menu["name"]:
            return menu
        time.sleep(0.3)
    raise AssertionError(f"no {word} menu: {_menu(system)}; scheduler log: {system.log('scheduler')[-3000:]}")


def _send(system: System, **event) -> dict:
    """Send one event as the resident and return the bot's reply to it."""
    before = len([d for d in system.messages_to(RESIDENT) if d["endpoint"] == "reply"])
    system.post("/_emulator/send", {"tenant": "demo", "user_id": RESIDENT, **event})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        replies = [d for d in system.messages_to(RESIDENT) if d["endpoint"] == "reply"]
        if len(replies) > before:
            return replies[-1]
        time.sleep(0.1)
    raise AssertionError(f"no reply to {event}: {system.log('worker')[-2000:]}")


def _tap_area(system: System, label: str) -> dict:
    menu = _menu(system)
    assert menu is not None
    action = next(a["action"] for a in menu["areas"] if a["action"]["label"] == label)
    assert action["type"] == "postback", action
    return _send(system, type="postback", data=action["data"])


def _carousel_names(reply: dict) -> list[str]:
    flex = next(m for m in reply["messages"] if m["type"] == "flex")
    return [b["body"]["contents"][0]["text"] for b in flex["contents"]["contents"]]


def _readyz(system: System) -> dict:
    try:
        with urllib.request.urlopen(urllib.request.Request(system.web + "/readyz", headers=OPS_HEADERS), timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:  # 503 while Rasa is down: the body still carries every check
        return json.loads(exc.read())


async def _add_staff(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for name, role in (("editor1", "editor"), ("super1", "supervisor")):
            await add_staff(RedisStaffStore(client), "demo", name, role, PW, hasher=fast_policy().hasher)
    finally:
        await client.aclose()


class Staff:
    """One staff member's browser session on the admin page (cookies, CSRF) over HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base])  # staff cookies are Secure, as browsers keep on 127.0.0.1
        self.session = aiohttp.ClientSession(cookie_jar=jar)

    async def login(self, username: str) -> None:
        token = csrf_token(await (await self.session.get(self.base + "/staff/login")).text())
        resp = await self.session.post(self.base + "/staff/login", allow_redirects=False, data={
            "tenant": "demo", "username": username, "password": PW, "csrf_token": token, "next": "/admin/disaster/"})
        assert resp.status == 303
        # supervisors enrol a TOTP second factor at their first login (the web process runs on the real clock)
        await complete_login(self.session, resp.headers["Location"], "demo", username, base=self.base)

    async def page(self) -> str:
        resp = await self.session.get(self.base + "/admin/disaster/")
        assert resp.status == 200
        return await resp.text()

    async def post(self, path: str, **form: str | list[str]) -> str:
        token = csrf_token(await self.page())
        data = aiohttp.FormData()
        data.add_field("csrf_token", token)
        for key, value in form.items():
            for v in value if isinstance(value, list) else [value]:
                data.add_field(key, v)
        resp = await self.session.post(self.base + "/admin/disaster/" + path, data=data)
        assert resp.status == 200, (resp.status, await resp.text())
        return await resp.text()

    async def close(self) -> None:
        await self.session.close()


def test_quake_switches_the_menu_tsunami_sites_only_full_site_drops_staff_switch_back(tmp_path, redis_url):
    syncredis.Redis.from_url(redis_url).flushdb()
    asyncio.run(_add_staff(redis_url))
    mock_port = free_port()
    system = System(tmp_path, redis_url, extra_env={
        "CIVICBOT_JMA_FEED_BASE_URL": f"http://127.0.0.1:{mock_port}/developer/xml/feed/", "CIVICBOT_JMA_POLL_SECONDS": "1"})
    try:
        for name in ("emulator", "web", "worker"):
            system.start(name)
        log = open(tmp_path / "mockfeed.log", "ab")
        system.procs["mockfeed"] = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "alerts", "mockfeed", "--port", str(mock_port)], env=system.env, cwd=REPO,
            stdout=log, stderr=subprocess.STDOUT)
        mock = f"http://127.0.0.1:{mock_port}"
        wait_http(mock + "/developer/xml/feed/extra.xml")
        system.start("scheduler")
        _scenario(system, tmp_path, mock)
    finally:
        try:
            (tmp_path / "richmenu_calls.json").write_text(json.dumps(system.get("/_emulator/richmenu/calls"), indent=1))
        except Exception:  # noqa: BLE001 - the emulator may be what failed
            pass
        system.stop_all()


def _scenario(system: System, tmp_path: Path, mock: str) -> None:
    _send(system, type="follow")
    normal = _wait_menu(system, "normal")  # the scheduler uploaded the menus and set the default
    assert [a["action"]["label"] for a in normal["areas"]][:2] == ["よくある質問", "相談する"]
    assert "normal" in _readyz(system)["checks"]["disaster"]["detail"]

    # 1) 震度6弱 in 大阪府北部 (the demo city, 大阪市): the default menu becomes the disaster menu
    quake = tmp_path / "quake_6minus_VXSE51.xml"
    quake.write_text((FIX / "osaka_VXSE51_5minus.xml").read_text(encoding="utf-8").replace(*QUAKE), encoding="utf-8")
    _cli(system, "demo-alert", str(quake), "--mock-url", mock)
    disaster = _wait_menu(system, "disaster")
    assert "避難所を探す" in [a["action"]["label"] for a in disaster["areas"]] and disaster["selected"]
    calls = [c["call"] for c in system.get("/_emulator/richmenu/calls?tenant=demo")]
    assert calls.count("set_default") == 2  # once at start, once for the switch: 1 call whatever the friends

    # 2) the tsunami warning follows; the resident taps 避難所を探す and shares a location in 岸和田市
    _cli(system, "demo-alert", str(FIX / "osaka_VTSE41_warning.xml"), "--mock-url", mock)
    deadline = time.monotonic() + 30
    while "tsunami" not in _readyz(system)["checks"]["disaster"]["detail"]:
        assert time.monotonic() < deadline, _readyz(system)
        time.sleep(0.3)
    ask = _tap_area(system, "避難所を探す")
    assert "津波" in ask["messages"][0]["text"]
    assert ask["messages"][0]["quickReply"]["items"][0]["action"]["type"] == "location"
    first = _send(system, type="location", lat=KISHIWADA_STATION[0], lng=KISHIWADA_STATION[1], address="大阪府岸和田市")
    names = _carousel_names(first)
    assert len(names) == 5 and all("tsunami" in SITES[n].hazards for n in names), names
    assert "出典：国土地理院" in first["messages"][0]["text"]
    dists = [distance_m(*KISHIWADA_STATION, SITES[n].lat, SITES[n].lng) for n in names]
    assert dists == sorted(dists)  # nearest first (no site has a status yet)

    # 3) staff mark the nearest one 満員: the next answer ranks it after the available ones
    async def staff_marks_full() -> None:
        staff = Staff(system.web)
        try:
            await staff.login("editor1")
            html = await staff.post(f"shelters/{SITES[names[0]].id}/status", status="full")
            assert "満員" in html
        finally:
            await staff.close()

    asyncio.run(staff_marks_full())
    _tap_area(system, "避難所を探す")
    second = _send(system, type="location", lat=KISHIWADA_STATION[0], lng=KISHIWADA_STATION[1], address="大阪府岸和田市")
    again = _carousel_names(second)
    assert again[0] == names[1] and names[0] not in again[:-1] and all("tsunami" in SITES[n].hazards for n in again)

    # 3b) a site staff mark 開設 shows on the public dashboard while the city is in disaster mode
    async def staff_opens_one() -> str:
        staff = Staff(system.web)
        try:
            await staff.login("editor1")
            await staff.post(f"shelters/{SITES[names[2]].id}/status", status="open")
            return await (await staff.session.get(system.web + "/dashboard/demo")).text()
        finally:
            await staff.close()

    dashboard = asyncio.run(staff_opens_one())
    assert 'data-testid="open-shelters"' in dashboard and names[2] in dashboard and "出典：国土地理院" in dashboard
    assert names[0] not in dashboard  # 満員 is not open

    # 4) only staff switch back, with a second person's approval
    async def staff_switch_back() -> None:
        editor, supervisor = Staff(system.web), Staff(system.web)
        try:
            await editor.login("editor1")
            await supervisor.login("super1")
            html = await editor.post("request", mode="normal", reason="津波警報解除")
            assert "承認待ち" in html and "承認して切り替える" not in html  # the requester cannot approve
            request_id = html.split('name="request_id" value="', 1)[1].split('"', 1)[0]
            assert _menu(system)["name"].startswith("civicbot demo disaster")  # type: ignore[index]
            html = await supervisor.post("approve", request_id=request_id)
            assert "いまのモード：通常" in html
            audit = await (await supervisor.session.get(system.web + "/staff/audit")).text()
            for action in ("disaster.mode.disaster", "disaster.hazards", "shelter.status", "disaster.request", "disaster.approve", "disaster.mode.normal"):
                assert action in audit, action
        finally:
            await editor.close()
            await supervisor.close()

    asyncio.run(staff_switch_back())
    _wait_menu(system, "normal", timeout=10)
    assert "demo: normal" in _readyz(system)["checks"]["disaster"]["detail"]
    with urllib.request.urlopen(system.web + "/dashboard/demo", timeout=10) as r:
        assert b'data-testid="open-shelters"' not in r.read()
