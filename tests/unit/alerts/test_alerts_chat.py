"""Subscription chat flows, driven the way a resident taps through them."""

from __future__ import annotations

import pytest

from alerts import chat
from alerts.chat import AlertsRoom, ChatDeps
from alerts.geo import Gazetteer
from alerts.subscriptions import MemorySubscriptionStore, SubscriptionAudience
from bot.chat import Incoming, parse_postback
from bot.config import Tenant
from bot.users import MemoryUserStore, User
from broadcasts.audience import AudienceQuery

TENANT = Tenant(id="demo", display_name="デモ市", lg_code="271004", languages=["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"])
SUITA = Tenant(id="suita", display_name="吹田市", lg_code="272051", languages=["ja", "en"])


class Resident:
    def __init__(self, tenant: Tenant = TENANT, uid: str = "U1") -> None:
        self.g = Gazetteer.load()
        self.store = MemorySubscriptionStore(self.g)
        self.users = MemoryUserStore()
        self.deps = ChatDeps(self.store, self.g, self.users)
        self.tenant, self.uid = tenant, uid
        self.language = "ja"
        self.last: list[dict] = []

    def _incoming(self, kind: str, **kw) -> Incoming:
        return Incoming(tenant=self.tenant, user_id=self.uid, kind=kind, webhook_event_id="e", timestamp_ms=0,
                        language=self.language, **kw)

    async def postback(self, data: dict[str, str]) -> list[dict]:
        self.last = await chat.on_postback(self._incoming("postback", postback=data), data, self.deps)
        _check(self.last)
        return self.last

    async def tap(self, label: str) -> list[dict]:
        items = self.last[-1]["quickReply"]["items"]
        action = next(i["action"] for i in items if i["action"]["label"] == label)
        return await self.postback(parse_postback(action["data"]))

    def labels(self) -> list[str]:
        return [i["action"]["label"] for i in self.last[-1].get("quickReply", {}).get("items", [])]

    async def location(self, lat: float, lng: float) -> list[dict]:
        self.last = await chat.on_location(self._incoming("location", location=(lat, lng)), self.deps)
        _check(self.last)
        return self.last

    async def say(self, words: str, intent: str | None = None) -> list[dict] | None:
        parse = type("P", (), {"intent": intent})()
        out = await AlertsRoom(self.deps).on_text(self._incoming("text", text=words), parse)
        if out:
            _check(out)
            self.last = out
        return out

    async def sub(self):
        return await self.store.get(self.tenant.id, self.uid)


def _check(messages: list[dict]) -> None:
    """LINE limits: ≤5 messages, ≤13 quick replies, labels ≤20 chars, postback data ≤300 chars."""
    assert 1 <= len(messages) <= 5
    for m in messages:
        items = m.get("quickReply", {}).get("items", [])
        assert len(items) <= 13
        for i in items:
            assert len(i["action"]["label"]) <= 20
            assert len(i["action"].get("data", "")) <= 300


@pytest.fixture
def resident() -> Resident:
    return Resident()


async def test_register_ward_by_quick_replies(resident):
    await resident.postback({"room": "alerts", "action": "menu"})
    assert "最大5か所" in resident.last[0]["text"]
    assert resident.labels()[0] == "大阪市"  # the tenant's own municipality first
    await resident.tap("大阪市")
    assert "大阪市のどの区ですか" in resident.last[-1]["text"] and "都島区" in resident.labels()
    await resident.tap("次へ")
    await resident.tap("次へ")
    await resident.tap("中央区")
    assert "名前を選んでください" in resident.last[-1]["text"]
    await resident.tap("学校")
    assert resident.last[-1]["text"].startswith("「学校」（大阪市中央区）を登録しました。")
    sub = await resident.sub()
    assert [(p.name, p.code) for p in sub.places] == [("学校", "27128")]


async def test_other_municipality_pages_and_non_designated_city(resident):
    await resident.postback({"action": "add"})
    await resident.tap("ほかの市町村")
    assert resident.labels()[:2] == ["大阪市", "堺市"]
    await resident.tap("次へ")
    await resident.tap("茨木市")
    await resident.tap("実家")
    assert (await resident.sub()).places[0].code == "27211"


async def test_register_by_location_resolves_town_and_ward(resident):
    await resident.location(34.7025, 135.4959)
    assert "大阪市北区梅田" in resident.last[0]["text"]
    await resident.tap("職場")
    place = (await resident.sub()).places[0]
    assert (place.code, place.town, round(place.lat, 4)) == ("27127", "梅田三丁目", 34.7025)
    audience = SubscriptionAudience(resident.store, resident.users, resident.g)
    await resident.users.save(User(tenant="demo", user_id="U1"))
    got = [r.user_id async for r in audience.resolve(AudienceQuery(tenant="demo", area_codes=("2710000",)))]
    assert got == ["U1"]


async def test_location_outside_osaka(resident):
    await resident.location(35.6812, 139.7671)  # Tokyo station
    assert "大阪府内の場所が見つかりませんでした" in resident.last[0]["text"]
    assert await resident.sub() is None


async def test_five_places_at_most(resident):
    for _ in range(5):
        await resident.postback({"action": "save", "code": "27205", "name": "自宅"})
    assert len((await resident.sub()).places) == 5
    await resident.postback({"action": "add"})
    assert "5か所まで" in resident.last[0]["text"]
    await resident.location(34.7025, 135.4959)
    assert "5か所まで" in resident.last[0]["text"]


async def test_categories_threshold_quiet_hours_and_lift(resident):
    await resident.postback({"action": "save", "code": "27205", "name": "自宅"})
    await resident.tap("種類を選ぶ")
    assert "✓大雨・洪水" in resident.labels() and "□防犯・子どもの安全" in resident.labels()
    await resident.tap("✓大雨・洪水")
    await resident.tap("□防犯・子どもの安全")
    await resident.tap("地震の震度")
    await resident.tap("震度5弱以上")
    await resident.postback({"action": "quiet"})
    await resident.tap("22:00〜07:00")
    await resident.postback({"action": "lift"})
    sub = await resident.sub()
    assert "rain_flood" not in sub.categories and "crime" in sub.categories
    assert sub.threshold == "5-" and sub.quiet_hours.start == "22:00" and sub.notify_lift
    await resident.postback({"action": "list"})
    listing = resident.last[0]["text"]
    assert "1. 自宅：吹田市" in listing and "震度5弱以上" in listing and "22:00〜07:00" in listing


async def test_language_change_updates_subscription_and_profile(resident):
    await resident.users.save(User(tenant="demo", user_id="U1"))
    await resident.postback({"action": "save", "code": "27205", "name": "自宅"})
    await resident.say("言語を変えたい", intent="change_language")
    assert resident.labels() == ["日本語", "やさしい日本語", "English", "简体中文", "한국어", "Tiếng Việt"]
    await resident.tap("English")
    assert resident.last[0]["text"] == "Language set to English."
    assert (await resident.sub()).language == "en"
    assert (await resident.users.get("demo", "U1")).language == "en"


async def test_tenant_languages_limit_the_choice():
    r = Resident(SUITA)
    await r.postback({"action": "lang"})
    assert r.labels() == ["日本語", "English"]
    await r.postback({"action": "add"})
    assert r.labels()[0] == "吹田市"


async def test_plain_stop_and_resume(resident):
    await resident.postback({"action": "save", "code": "27205", "name": "自宅"})
    out = await resident.say("通知停止")
    assert "停止しました" in out[0]["text"] and (await resident.sub()).paused
    assert await resident.say("今日のごみの日は？") is None
    await resident.say("通知再開")
    assert not (await resident.sub()).paused


async def test_intents(resident):
    out = await resident.say("通知を登録したい", intent="register")
    assert "最大5か所" in out[0]["text"]
    assert await resident.say("通知をやめて", intent="stop_notifications")
    assert await resident.say("粗大ごみ", intent="faq_garbage") is None


async def test_delete_place_and_unfollow(resident):
    await resident.postback({"action": "save", "code": "27205", "name": "自宅"})
    await resident.postback({"action": "save", "code": "27203", "name": "実家"})
    await resident.postback({"action": "delmenu"})
    await resident.tap("自宅（吹田市）")
    assert [p.name for p in (await resident.sub()).places] == ["実家"]
    await chat.on_unfollow("demo", "U1", resident.deps)
    assert await resident.sub() is None


async def test_stale_or_forged_postbacks_answer_politely(resident):
    for data in ({"action": "del", "place": "p9"}, {"action": "pick", "code": "99999"}, {"action": "eqset", "t": "7"},
                 {"action": "save", "lat": "x", "lng": "y", "name": "自宅"}, {"action": "nonsense"}):
        out = await resident.postback(data)
        assert "古くなったようです" in out[0]["text"]


async def test_english_menus(resident):
    resident.language = "en"
    await resident.postback({"action": "menu"})
    assert resident.labels() == ["Osaka City", "Other municipality", "Send location"]


@pytest.mark.parametrize("lang", ["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"])
async def test_every_language_walks_the_menus(lang):
    from alerts.chat_texts import CATEGORY_LABELS, LABELS, PLACE_NAMES, TEXTS, THRESHOLD_LABELS

    for table in (*LABELS.values(), *THRESHOLD_LABELS.values(), *PLACE_NAMES.values()):
        assert all(len(v) <= 20 for v in table.values()), table
    assert all(len("✓" + v) <= 20 for t in CATEGORY_LABELS.values() for v in t.values())
    assert all(set(t) >= {"ja", "en", "zh-Hans", "ko", "vi"} for t in TEXTS.values())
    r = Resident()
    r.language = lang
    await r.postback({"action": "save", "code": "27104", "name": "自宅"})
    for action in ("menu", "cats", "eq", "quiet", "lang", "list", "delmenu", "stop", "resume"):
        out = await r.postback({"action": action})
        assert "古くなった" not in out[0]["text"] and "expired" not in out[0]["text"]
    if lang not in ("ja", "ja-easy"):
        assert not any("\u3040" <= ch <= "\u30ff" for ch in r.last[0]["text"])  # no kana left in translated menus
