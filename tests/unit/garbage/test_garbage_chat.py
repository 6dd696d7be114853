"""The garbage room on memory ports: answers (category, how, fee, link), choices when unsure, unknown items logged
only for garbage questions, day answers, reminder registration, languages, and the crisis layer first."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.chat import Incoming, parse_postback
from bot.config import Tenant
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore
from garbage import (
    GarbageDeps,
    GarbageRoom,
    MemoryDatasetStore,
    MemoryReminderStore,
    MemoryUnknownLog,
    PlaceRef,
    QuietHours,
    load_lexicon,
)
from nlu.crisis_layer import CrisisLayer
from nlu.crisis_reply import CrisisReplies
from nlu.normalize import default_analyzer
from nlu.risk import default_risk_assessor
from nlu.risk_context import MemoryRiskContext

TENANT = Tenant(id="demo", display_name="デモ市", lg_code="271004", languages=["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"])
NOW = dt.datetime(2027, 1, 6, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))  # a Wednesday


class Places:
    def __init__(self) -> None:
        self.by_user: dict[str, list[PlaceRef]] = {}
        self.quiet: dict[str, QuietHours] = {}

    async def places(self, tenant: str, user_id: str) -> list[PlaceRef]:
        return self.by_user.get(user_id, [])

    async def quiet_hours(self, tenant: str, user_id: str) -> QuietHours | None:
        return self.quiet.get(user_id)


@pytest.fixture
async def room(demo_ds):
    datasets = MemoryDatasetStore()
    await datasets.put("demo", demo_ds)
    deps = GarbageDeps(datasets, MemoryUnknownLog(), MemoryReminderStore(), default_analyzer(), load_lexicon(),
                       places=Places(), clock=lambda: NOW)
    return GarbageRoom(deps)


def said(text: str, user: str = "U1", lang: str = "ja") -> Incoming:
    return Incoming(tenant=TENANT, user_id=user, kind="text", webhook_event_id="e", timestamp_ms=0, text=text, language=lang)


def tapped(data: str, user: str = "U1", lang: str = "ja") -> Incoming:
    return Incoming(tenant=TENANT, user_id=user, kind="postback", webhook_event_id="e", timestamp_ms=0,
                    postback=parse_postback(data), language=lang)


def choices(msg: dict) -> list[dict]:
    return [i["action"] for i in msg.get("quickReply", {}).get("items", [])]


async def test_item_answer_has_category_how_and_link(room):
    out = await room.on_text(said("電池は何ごみ？"))
    body = out[0]["text"]
    assert "【有害ごみ】" in body and "セロハンテープ" in body and "出し方" in body
    assert "https://www.city.demo.lg.jp/kurashi/gomi/yugai.html" in body


async def test_ambiguous_item_offers_quick_replies_and_the_choice_answers_with_the_fee(room):
    out = await room.on_text(said("ソファを捨てたい"))
    actions = choices(out[0])
    assert [a["displayText"] for a in actions[:2]] == ["ソファ（1人用）", "ソファ（2人用以上）"] or \
        sorted(a["displayText"] for a in actions[:2]) == ["ソファ（1人用）", "ソファ（2人用以上）"]
    pick = next(a for a in actions if a["displayText"] == "ソファ（2人用以上）")
    answer = await room.on_postback(tapped(pick["data"]), parse_postback(pick["data"]))
    assert "粗大ごみ" in answer[0]["text"] and "手数料1000円" in answer[0]["text"] and "sodai.html" in answer[0]["text"]


async def test_category_questions_are_left_to_the_faq(room):
    assert await room.on_text(said("粗大ごみの出し方")) is None
    assert await room.on_text(said("燃えるゴミは何曜日に出せばいい？")) is None
    assert await room.deps.unknown.top("demo") == []


async def test_unknown_items_are_logged_only_for_garbage_questions(room):
    out = await room.on_text(said("黒板消しの捨て方を教えて"))
    assert "見つかりませんでした" in out[0]["text"]
    assert await room.deps.unknown.top("demo") == [("黒板消し", 1)]
    assert await room.on_text(said("保育園の申し込みはいつまでですか")) is None
    assert await room.on_text(said("子育ての相談をしたいです")) is None
    assert await room.on_text(said("こんにちは")) is None
    assert await room.deps.unknown.top("demo") == [("黒板消し", 1)]


async def test_registration_then_tomorrow(room):
    out = await room.on_text(said("明日は何ごみ？"))
    assert "地区を選んで" in out[0]["text"]  # no area yet: the list
    out = await room.on_text(said("ごみの日のお知らせ"))
    area0 = choices(out[0])[0]
    out = await room.on_postback(tapped(area0["data"]), parse_postback(area0["data"]))
    mine = await room.deps.reminders.get("demo", "U1")
    assert mine.area.startswith("都島北部") and mine.slot == "eve" and "燃やすごみ" in mine.categories
    morning = choices(out[0])[1]
    out = await room.on_postback(tapped(morning["data"]), parse_postback(morning["data"]))
    assert (await room.deps.reminders.get("demo", "U1")).slot == "morning" and "当日 7:00" in out[0]["text"]
    out = await room.on_text(said("明日は？"))
    assert out[0]["text"].startswith("明日（1/7）は燃やすごみの日です。")
    out = await room.on_text(said("今日は何ごみ"))
    assert out[0]["text"].startswith("今日（1/6）はプラスチック製容器包装・有害ごみの日です。")


async def test_category_toggle(room):
    await room.on_postback(tapped("room=garbage&action=area&x=remind&a=0"), {"action": "area", "x": "remind", "a": "0"})
    await room.on_postback(tapped(""), {"action": "cat", "c": "0"})
    assert "燃やすごみ" not in (await room.deps.reminders.get("demo", "U1")).categories
    await room.on_postback(tapped(""), {"action": "cat", "c": "0"})
    assert "燃やすごみ" in (await room.deps.reminders.get("demo", "U1")).categories


async def test_area_from_a_registered_place(room):
    room.deps.places.by_user["U1"] = [PlaceRef("p1", "自宅", "毛馬町二丁目"), PlaceRef("p2", "実家", "")]
    out = await room.on_text(said("ごみの日の通知"))
    first = choices(out[0])[0]
    assert first["label"].startswith("自宅（都島北部") and "登録した場所" in out[0]["text"]
    await room.on_postback(tapped(first["data"]), parse_postback(first["data"]))
    assert (await room.deps.reminders.get("demo", "U1")).area == "都島北部（毛馬町・大東町）"


@pytest.mark.parametrize("lang,needle", [("en", "goes in: hazardous waste"), ("zh-Hans", "有害垃圾"), ("ko", "유해 쓰레기"),
                                         ("vi", "rác độc hại"), ("ja-easy", "きけんな ごみ")])
async def test_languages(room, lang, needle):
    out = await room.on_text(said("乾電池", lang=lang))
    assert needle in out[0]["text"]


async def test_skipped_notice_is_told_once(room):
    await room.on_postback(tapped(""), {"action": "area", "x": "remind", "a": "0"})
    store = room.deps.reminders
    groups = await store.resolve("demo", "2027-01-07", "eve", {"都島北部（毛馬町・大東町）": ["燃やすごみ"]}, NOW)
    await store.mark_skipped("demo", [g.handle for g in groups])
    first = await room.on_text(said("電池"))
    again = await room.on_text(said("電池"))
    assert len(first) == 2 and "上限" in first[1]["text"] and len(again) == 1


async def test_crisis_layer_runs_before_the_garbage_room(room):
    dispatcher = Dispatcher(MemoryUserStore(), Rooms(crisis=CrisisLayer(default_risk_assessor(), MemoryRiskContext(), CrisisReplies())))
    dispatcher.include(room)
    crisis = await dispatcher.process(said("ロープで首を吊りたい"))
    texts = " ".join(str(m.get("text", m.get("altText", ""))) for m in crisis)
    assert "【" not in texts and "ロープ" not in texts and any(ch.isdigit() for ch in texts)  # hotlines, no garbage answer
    assert await room.deps.unknown.top("demo") == []
    garbage = await dispatcher.process(said("包丁の捨て方"))
    assert "【燃やさないごみ】" in garbage[0]["text"]


async def test_unfollow_forgets_the_reminder(room):
    await room.on_postback(tapped(""), {"action": "area", "x": "remind", "a": "0"})
    assert await room.deps.reminders.get("demo", "U1") is not None
    await room.on_unfollow("demo", "U1")
    assert await room.deps.reminders.get("demo", "U1") is None
    assert await room.on_location(said("")) is None


async def test_reminder_takes_the_quiet_hours_set_for_alerts(room):
    room.deps.places.quiet["U1"] = QuietHours("19:00", "08:00")
    await room.on_postback(tapped(""), {"action": "area", "x": "remind", "a": "0"})
    assert (await room.deps.reminders.get("demo", "U1")).quiet == QuietHours("19:00", "08:00")
    del room.deps.places.quiet["U1"]
    await room.on_postback(tapped(""), {"action": "time", "s": "eve"})
    assert (await room.deps.reminders.get("demo", "U1")).quiet is None
