"""The resident's report flow on memory ports: steps, cancel, expiry, duplicates, photos, status back, limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.chat import Incoming
from bot.users import User
from reports.chat import ReportsRoom
from reports.config import ReportsConfig
from reports.service import ReportError, change_status, merge
from reports.testing import demo_tenant, exif_bomb, make_deps, photo_with_exif
from reports.texts import LANGUAGES, TEXTS

HERE = (34.6937, 135.5023)
NEAR = (34.69385, 135.5024)  # ≈ 20 m away
FAR = (34.6960, 135.5023)  # ≈ 250 m away


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Resident:
    def __init__(self, room: ReportsRoom, user: str, lang: str = "ja") -> None:
        self.room, self.user, self.lang = room, user, lang
        self.n = 0

    def _in(self, kind: str, **kw) -> Incoming:
        self.n += 1
        return Incoming(tenant=demo_tenant(), user_id=self.user, kind=kind, webhook_event_id=f"{self.user}-{self.n}", timestamp_ms=0, language=self.lang, **kw)

    async def say(self, text: str):
        return await self.room.on_event(self._in("text", text=text))

    async def tap(self, action: str, **params: str):
        data = {"room": "reports", "action": action, **params}
        return await self.room.on_postback(self._in("postback", postback=data), data)

    async def photo(self, message_id: str):
        return await self.room.on_event(self._in("image", message_id=message_id))

    async def location(self, lat: float, lng: float):
        return await self.room.on_event(self._in("location", location=(lat, lng)))


def body(out) -> str:
    assert out, "expected an answer"
    return out[0]["text"]


def actions(out) -> list[str]:
    return [i["action"].get("data", i["action"]["type"]) for i in out[0].get("quickReply", {}).get("items", [])]


@pytest.fixture
def world():
    clock = Clock()
    deps, line, content = make_deps(clock)
    content.items["m1"] = photo_with_exif()
    content.items["m2"] = photo_with_exif()
    return deps, line, content, clock, ReportsRoom(deps)


async def file_pothole(res: Resident, where=HERE, photo: str | None = "m1") -> str:
    await res.say("通報する")
    await res.tap("cat", c="pothole")
    if photo:
        await res.photo(photo)
    await res.location(*where)
    await res.tap("none")
    out = await res.tap("send")
    return body(out)


async def test_full_flow_takes_six_actions_and_gives_a_reference_number(world):
    deps, _, content, _, room = world
    res = Resident(room, "U1")
    out = await res.say("通報する")
    assert "どのような内容" in body(out)
    assert "room=reports&action=cat&c=pothole" in actions(out)
    out = await res.tap("cat", c="pothole")
    assert "写真を送ってください" in body(out) and "camera" in actions(out)
    out = await res.photo("m1")
    assert "1/3" in body(out) and "location" in actions(out)
    out = await res.location(*HERE)
    assert "補足" in body(out)
    out = await res.tap("none")
    assert "道路の穴・段差" in body(out) and "写真：1枚" in body(out)
    out = await res.tap("send")
    assert "受付番号は R000001" in body(out)
    report = await deps.reports.get("demo", "R000001")
    assert report is not None and report.category == "pothole" and report.department == "road" and len(report.photos) == 1
    stored = await deps.photos.get("demo", report.photos[0])
    assert stored is not None and b"SERIAL-123456789" not in stored and b"PhoneMaker" not in stored
    assert "exif" not in Image.open(io.BytesIO(stored)).info
    assert await deps.drafts.get("demo", "U1") is None


async def test_cancel_at_each_step_keeps_nothing(world):
    deps, _, _, _, room = world
    for stop_after in range(5):
        res = Resident(room, f"U-cancel-{stop_after}")
        steps = [
            (res.say, ("通報する",), {}),
            (res.tap, ("cat",), {"c": "streetlight"}),
            (res.photo, ("m1",), {}),
            (res.location, FAR, {}),
            (res.tap, ("none",), {}),
        ]
        for fn, args, kw in steps[: stop_after + 1]:
            await fn(*args, **kw)
        out = await res.tap("cancel")
        assert "取り消しました" in body(out)
        assert await deps.drafts.get("demo", res.user) is None
    assert deps.photos.items == {}  # photos of cancelled drafts are deleted
    assert await deps.reports.ids("demo") == []


async def test_typing_cancel_also_cancels(world):
    deps, _, _, _, room = world
    res = Resident(room, "U2")
    await res.say("通報する")
    await res.tap("cat", c="graffiti")
    assert "取り消しました" in body(await res.say("やめる"))


async def test_a_draft_expires_after_30_minutes(world):
    deps, _, _, clock, room = world
    res = Resident(room, "U3")
    await res.say("通報する")
    await res.tap("cat", c="pothole")
    clock.now += 29 * 60
    assert "場所を教えて" in body(await res.tap("next"))  # 29 minutes: still there (and the clock restarts)
    clock.now += 31 * 60
    out = await res.tap("none")
    assert "時間がたった" in body(out)
    assert await res.location(*HERE) is None  # no draft: the location is for other rooms


async def test_second_resident_is_offered_the_open_report_nearby_and_follows_it(world):
    deps, line, _, _, room = world
    assert "R000001" in await file_pothole(Resident(room, "U1"))
    second = Resident(room, "U2", lang="en")
    await second.say("通報する")
    await second.tap("cat", c="pothole")
    await second.photo("m2")
    out = await second.location(*NEAR)
    assert "R000001" in body(out) and "already reported" in body(out)
    out = await second.tap("follow")
    assert "Added to report R000001" in body(out)
    report = await deps.reports.get("demo", "R000001")
    assert report.followers == ["U2"] and len(report.photos) == 2
    assert await deps.reports.ids("demo") == ["R000001"]


async def test_other_category_or_far_away_is_not_a_duplicate(world):
    _, _, _, _, room = world
    await file_pothole(Resident(room, "U1"))
    res = Resident(room, "U2")
    await res.say("通報する")
    await res.tap("cat", c="streetlight")
    assert "補足" in body(await res.location(*NEAR))
    assert "R000002" in await file_pothole(Resident(room, "U3"), where=FAR)


async def test_status_change_reaches_reporter_and_follower_in_their_language(world):
    deps, line, _, _, room = world
    await deps.users.save(User(tenant="demo", user_id="U1", language="ja"))
    await deps.users.save(User(tenant="demo", user_id="U2", language="vi"))
    await file_pothole(Resident(room, "U1"))
    second = Resident(room, "U2", lang="vi")
    await second.say("通報する")
    await second.tap("cat", c="pothole")
    await second.location(*NEAR)
    await second.tap("follow")
    await change_status(deps, "demo", "R000001", "closed", "補修しました。", "staff1", fix_photo="abc")
    pushes = {c["to"]: c for c in line.sent("push")}
    assert set(pushes) == {"U1", "U2"}
    assert "「完了」" in pushes["U1"]["messages"][0]["text"] and "補修しました" in pushes["U1"]["messages"][0]["text"]
    assert "Đã xong" in pushes["U2"]["messages"][0]["text"]
    assert pushes["U1"]["retry_key"] != pushes["U2"]["retry_key"]
    out = await Resident(room, "U2", lang="vi").say("通報の状況")
    assert "R000001" in body(out) and "Đã xong" in body(out)


async def test_declining_needs_a_reason(world):
    deps, *_ , room = world
    await file_pothole(Resident(room, "U1"))
    with pytest.raises(ReportError):
        await change_status(deps, "demo", "R000001", "declined", "  ", "staff1")


async def test_merged_duplicate_reporters_hear_about_the_target(world):
    deps, line, _, _, room = world
    await file_pothole(Resident(room, "U1"))
    await file_pothole(Resident(room, "U2"), where=FAR)
    await merge(deps, "demo", "R000002", "R000001", "staff1")
    assert (await deps.reports.get("demo", "R000002")).merged_into == "R000001"
    await change_status(deps, "demo", "R000001", "in_progress", "", "staff1")
    assert {c["to"] for c in line.sent("push")} == {"U1", "U2"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.4 not an image at all", "JPEG"),
        (exif_bomb(), "JPEG"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "JPEG"),
    ],
    ids=["non-image", "exif-bomb", "truncated-jpeg"],
)
async def test_bad_photos_are_refused_clearly_and_the_draft_goes_on(world, data, expected):
    deps, _, content, _, room = world
    content.items["bad"] = data
    res = Resident(room, "U9")
    await res.say("通報する")
    await res.tap("cat", c="pothole")
    out = await res.photo("bad")
    assert "受け取れませんでした" in body(out) and expected in body(out)
    assert deps.photos.items == {}
    assert "1/3" in body(await res.photo("m1"))  # the draft survived


async def test_huge_photo_is_refused_by_size(world):
    deps, _, content, _, room = world
    content.items["huge"] = b"\xff\xd8" + b"\x00" * (11 * 1024 * 1024)
    res = Resident(room, "U9", lang="en")
    await res.say("report")
    await res.tap("cat", c="pothole")
    assert "too large (max 10 MB)" in body(await res.photo("huge"))


async def test_location_outside_the_city_is_refused(world):
    deps, _, _, _, room = world
    res = Resident(room, "U5")
    await res.say("通報する")
    await res.tap("cat", c="dumping")
    out = await res.location(35.0116, 135.7681)  # 京都市
    assert "デモ市の区域外" in body(out)
    assert (await deps.drafts.get("demo", "U5")).lat is None


async def test_at_most_three_photos(world):
    deps, _, content, _, room = world
    res = Resident(room, "U6")
    await res.say("通報する")
    await res.tap("cat", c="pothole")
    for _ in range(3):
        await res.photo("m1")
    out = await res.photo("m1")
    assert "位置情報" in body(out) or "場所" in body(out)
    assert len((await deps.drafts.get("demo", "U6")).photos) == 3


async def test_a_flood_of_reports_is_refused_after_the_hourly_limit(world):
    deps, *_ , room = world
    deps.configs = {"demo": ReportsConfig(reports_per_hour=3)}
    res = Resident(room, "U7")
    refs = [await file_pothole(res, where=(34.69 + i * 0.001, 135.50), photo=None) for i in range(3)]
    assert all("受付番号" in r for r in refs)
    out = await res.say("通報する")
    assert "短い時間にたくさん" in body(out)
    assert len(await deps.reports.ids("demo")) == 3


async def test_every_language_of_the_demo_tenant_has_every_text():
    for key, table in TEXTS.items():
        if key in ("list_line", "photo_unavailable", "btn.camera", "btn.album"):
            continue  # ja/en shapes only, the fallback rule covers the rest
        assert set(LANGUAGES) <= set(table), key


async def test_a_flood_of_photos_is_cut_off(world):
    deps, _, content, _, room = world
    content.items["bad"] = b"not an image"
    res = Resident(room, "U8")
    await res.say("通報する")
    await res.tap("cat", c="pothole")
    answers = [body(await res.photo("bad")) for _ in range(12)]
    assert all("受け取れませんでした" in a for a in answers[:10])
    assert all("短い時間にたくさん" in a for a in answers[10:])
