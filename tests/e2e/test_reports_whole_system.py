"""通報 through the whole system (emulator → web → Redis → worker → LINE API of the emulator, staff web, Open311):
two residents report the same pothole, staff close it with a photo, both hear it in their language; an Open311
client files and reads; hostile input is refused clearly."""

from __future__ import annotations

import asyncio
import base64
import io
import time

import aiohttp
import pytest
import redis.asyncio as aioredis
from PIL import Image

from bot.users import RedisUserStore, User
from reports.store import RedisApiKeyStore
from reports.testing import exif_bomb, photo_with_exif
from staff import RedisStaffStore, add_staff, fast_policy
from tests.helpers import csrf_token
from tests.system import System, chat_system

pytestmark = pytest.mark.slow

A = "U" + "a" * 32  # Japanese
B = "U" + "b" * 32  # English
C = "U" + "c" * 32  # sends hostile things
D = "U" + "d" * 32  # floods
PW = "correct horse battery"
API_KEY = "o311_whole-system-key"
POTHOLE = (34.70250, 135.49590)  # 大阪市北区 (the demo tenant is 大阪市)
NEARBY = (34.70262, 135.49598)  # ≈ 15 m away
KYOTO = (35.0116, 135.7681)


async def prepare(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    users = RedisUserStore(client)
    await users.save(User(tenant="demo", user_id=A, language="ja"))
    await users.save(User(tenant="demo", user_id=B, language="en"))
    await add_staff(RedisStaffStore(client), "demo", "road1", "editor", PW, hasher=fast_policy().hasher)
    await RedisApiKeyStore(client).add("demo", "fixmystreet", API_KEY)
    await client.aclose()


@pytest.fixture
def system(tmp_path, redis_url):
    with chat_system(tmp_path, redis_url, prepare=prepare) as s:
        yield s


def send(system: System, user: str, **event) -> dict:
    """One resident action; returns the bot's answer to it (the next delivery to that user)."""
    before = len(system.messages_to(user))
    system.post("/_emulator/send", {"tenant": "demo", "user_id": user, **event})
    return system.wait_messages(user, before + 1)[-1]


def said(delivery: dict) -> str:
    return delivery["messages"][0]["text"]


def tap(system: System, user: str, action: str, **params: str) -> str:
    data = "&".join([f"room=reports&action={action}", *(f"{k}={v}" for k, v in params.items())])
    return said(send(system, user, type="postback", data=data))


def photo(system: System, user: str, data: bytes, content_type: str = "image/jpeg") -> str:
    return said(send(system, user, type="image", data_base64=base64.b64encode(data).decode(), content_type=content_type))


def location(system: System, user: str, where: tuple[float, float]) -> str:
    return said(send(system, user, type="location", lat=where[0], lng=where[1], address="大阪市北区"))


async def staff_close_with_photo(web: str, report_id: str, fix_photo: bytes) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        # staff cookies are Secure (browsers keep them on http://127.0.0.1; aiohttp does not): carry them by hand
        login = await http.get(f"{web}/staff/login")
        token = csrf_token(await login.text())
        resp = await http.post(
            f"{web}/staff/login",
            data={"tenant": "demo", "username": "road1", "password": PW, "csrf_token": token, "next": "/admin/reports/"},
            headers={"Cookie": f"cb_login_csrf={login.cookies['cb_login_csrf'].value}"},
            allow_redirects=False,
        )
        assert resp.status == 303
        session_cookie = resp.cookies["cb_staff"].value
        headers = {"Cookie": f"cb_staff={session_cookie}"}
        detail = await http.get(f"{web}/admin/reports/{report_id}", headers=headers)
        html = await detail.text()
        assert detail.status == 200 and A not in html and B not in html and "通報者-" in html
        form = aiohttp.FormData()
        form.add_field("csrf_token", csrf_token(html))
        form.add_field("status", "closed")
        form.add_field("text", "穴を舗装で埋めました。")
        form.add_field("photo", fix_photo, filename="fixed.jpg", content_type="image/jpeg")
        resp = await http.post(f"{web}/admin/reports/{report_id}/status", data=form, headers=headers, allow_redirects=False)
        assert resp.status == 303, await resp.text()


def wait_push(system: System, user: str, needle: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for d in system.messages_to(user):
            if d["endpoint"] == "push" and needle in d["messages"][0].get("text", ""):
                return d
        time.sleep(0.1)
    raise AssertionError(f"no push with {needle!r} to {user}: {system.messages_to(user)[-2:]}")


def test_two_residents_one_pothole_staff_close_it_both_hear_in_their_language(system):
    # resident A: 6 actions, from 「通報する」 to the reference number
    assert "どのような内容" in said(send(system, A, text="通報する"))
    assert "写真を送ってください" in tap(system, A, "cat", c="pothole")
    assert "1/3" in photo(system, A, photo_with_exif(640, 480))
    assert "補足" in location(system, A, POTHOLE)
    assert "この内容で通報しますか" in tap(system, A, "none")
    done = tap(system, A, "send")
    assert "受付番号は R000001" in done

    # resident B (English) reports the same pothole 15 m away and is offered A's report
    assert "What is it about" in said(send(system, B, text="通報する"))
    tap(system, B, "cat", c="pothole")
    offer = location(system, B, NEARBY)
    assert "already reported" in offer and "R000001" in offer
    assert "Added to report R000001" in tap(system, B, "follow")

    # staff close it with a photo of the repair; both residents are told, each in their language
    asyncio.run(staff_close_with_photo(system.web, "R000001", photo_with_exif(320, 240)))
    ja = wait_push(system, A, "R000001")
    en = wait_push(system, B, "R000001")
    assert "「完了」" in said(ja) and "穴を舗装で埋めました" in said(ja)
    assert "is now \"Fixed\"" in said(en)
    assert "R000001" in said(send(system, B, text="通報の状況")) and "Fixed" in said(send(system, B, text="通報の状況"))

    # the public Open311 view of it: closed, with the repair photo, blurred, nothing personal
    async def public() -> tuple[list, bytes]:
        async with aiohttp.ClientSession() as http:
            rows = await (await http.get(f"{system.web}/open311/v2/demo/requests/R000001.json")).json()
            media = await (await http.get(rows[0]["media_url"])).read()
            return rows, media

    rows, media = asyncio.run(public())
    assert rows[0]["status"] == "closed" and rows[0]["status_notes"] == "穴を舗装で埋めました。"
    assert (rows[0]["lat"], rows[0]["long"]) != POTHOLE and A not in str(rows) and B not in str(rows)
    assert Image.open(io.BytesIO(media)).size == (320, 240) and b"SERIAL" not in media


def test_an_open311_client_files_and_reads_a_request(system):
    async def client() -> None:
        async with aiohttp.ClientSession() as http:
            services = await (await http.get(f"{system.web}/open311/v2/demo/services.json")).json()
            assert "streetlight" in [s["service_code"] for s in services]
            resp = await http.post(
                f"{system.web}/open311/v2/demo/requests.json",
                data={"api_key": API_KEY, "service_code": "streetlight", "lat": "34.6937", "long": "135.5023", "description": "消えています"},
            )
            assert resp.status == 201
            [created] = await resp.json()
            [row] = await (await http.get(f"{system.web}/open311/v2/demo/requests/{created['service_request_id']}.json")).json()
            assert row["service_code"] == "streetlight" and row["status"] == "open" and row["agency_responsible"] == "道路課"
            listed = await (await http.get(f"{system.web}/open311/v2/demo/requests.json?service_code=streetlight&status=open")).json()
            assert [r["service_request_id"] for r in listed] == [created["service_request_id"]]
            bad = await http.post(f"{system.web}/open311/v2/demo/requests.json", data={"api_key": "guess", "service_code": "streetlight", "lat": "34.69", "long": "135.50"})
            assert bad.status == 403

    asyncio.run(client())


def test_hostile_input_is_refused_clearly(system):
    send(system, C, text="通報する")
    tap(system, C, "cat", c="dumping")
    huge = b"\xff\xd8\xff\xe0" + bytes(11 * 1024 * 1024)
    assert "大きすぎます（10MBまで）" in photo(system, C, huge)
    assert "受け取れませんでした" in photo(system, C, b"%PDF-1.7 definitely not a photo", content_type="image/jpeg")
    assert "受け取れませんでした" in photo(system, C, exif_bomb())
    assert "区域外" in location(system, C, KYOTO)
    assert "補足" in location(system, C, POTHOLE)  # after all that, the draft is intact
    assert "この内容で通報しますか" in tap(system, C, "none")
    assert "写真：0枚" in said(system.messages_to(C)[-1])

    # 10 reports a minute from one resident: the hourly limit (5) stops the sixth, with a clear reason
    started = time.monotonic()
    answers = []
    for i in range(10):
        first = said(send(system, D, text="通報する"))
        if "短い時間に" in first:
            answers.append("refused")
            continue
        tap(system, D, "cat", c="graffiti")
        tap(system, D, "next")
        location(system, D, (34.69 + i * 0.002, 135.50))
        tap(system, D, "none")
        answers.append("filed" if "受付番号" in tap(system, D, "send") else "?")
    assert answers == ["filed"] * 5 + ["refused"] * 5
    assert time.monotonic() - started < 60
