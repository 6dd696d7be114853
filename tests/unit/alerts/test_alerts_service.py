"""Telegram → delivery jobs → the residents those jobs reach (memory fakes; the audience is resolved like the
delivery engine will)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alerts.categories import CATEGORIES, expand_query_categories
from alerts.geo import Gazetteer
from alerts.jma.parser import parse_file, parse_telegram
from alerts.service import AlertDeps, MemoryAlertLedger, process_telegram
from alerts.subscriptions import MemorySubscriptionStore, Place, QuietHours, Subscription, SubscriptionAudience
from bot.users import MemoryUserStore, User
from broadcasts.jobs import MemoryDeliverer

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"
T = "demo"
NIGHT = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)  # 00:00 JST


class World:
    def __init__(self) -> None:
        self.g = Gazetteer.load()
        self.store = MemorySubscriptionStore(self.g)
        self.users = MemoryUserStore()
        self.now = dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC)  # noon JST
        self.audience = SubscriptionAudience(self.store, self.users, self.g, clock=lambda: self.now)
        self.deliverer = MemoryDeliverer()
        self.drills: list = []
        self.ledger = MemoryAlertLedger()

        async def on_drill(tg):
            self.drills.append(tg)

        self.deps = AlertDeps(self.deliverer, self.g, self.ledger, tenants=lambda: [T, "empty"], on_drill=on_drill,
                              may_reach=self.audience.may_reach)
        self.seen_jobs: set[str] = set()

    async def subscribe(self, uid: str, *codes: str, **kw) -> None:
        await self.users.save(User(tenant=T, user_id=uid, language=kw.get("language", "ja")))
        places = [Place(f"p{i}", f"場所{i}", c) for i, c in enumerate(codes, 1)]
        await self.store.save(Subscription(tenant=T, user_id=uid, places=places, **kw))

    async def feed(self, name: str, **replace: str) -> dict[str, list[str]]:
        """Process a fixture and return, per user, the ja/en texts of the NEW jobs it created."""
        raw = (FIX / name).read_text(encoding="utf-8")
        for old, new in replace.items():
            assert old in raw, old
            raw = raw.replace(old, new)
        tg = parse_telegram(raw.encode(), name=name)
        await process_telegram(tg, self.deps)
        out: dict[str, list[str]] = {}
        for job_id, job in self.deliverer.jobs.items():
            if job_id in self.seen_jobs:
                continue
            self.seen_jobs.add(job_id)
            async for r in self.audience.resolve(job.audience):
                msgs = job.messages.get(r.language) or job.messages["ja"]
                out.setdefault(r.user_id, []).append(msgs[0]["text"])
        return out


@pytest.fixture
def world() -> World:
    return World()


async def test_new_and_upgraded_warnings_reach_only_affected_areas_and_categories(world):
    await world.subscribe("suita", "27205", categories=["rain_flood"])
    await world.subscribe("konohana", "27104", categories=["rain_flood"], language="en")
    await world.subscribe("toyonaka", "27203", categories=["rain_flood"])  # 継続: no push
    await world.subscribe("suita_wind_only", "27205", categories=["wind_snow"])
    await world.subscribe("sakai", "27141", categories=["rain_flood"])  # 注意報 only
    got = await world.feed("osaka_VPWW55_level4.xml")
    assert set(got) == {"suita", "konohana"}
    assert "吹田市にレベル4大雨危険警報が発表されました" in got["suita"][0]
    assert got["suita"][0].rstrip().endswith("https://www.jma.go.jp/bosai/warning/#area_type=offices&area_code=270000")
    assert "出典：気象庁" in got["suita"][0]
    assert got["konohana"][0].startswith("[Level 3 heavy rain warning]") and "Osaka City" in got["konohana"][0]
    jobs = list(world.deliverer.jobs.values())
    assert {j.tenant for j in jobs} == {T}  # the tenant without subscribers there gets no job
    prio = {j.audience.area_codes: j.priority for j in jobs}
    assert prio[("27205",)] == "emergency" and prio[("27100",)] == "alert"
    assert all(j.reported_at == dt.datetime(2026, 7, 1, 1, 0, tzinfo=dt.UTC).timestamp() for j in jobs)


async def test_reissue_with_only_continuations_sends_nothing_and_lift_is_opt_in(world):
    await world.subscribe("toyonaka", "27203", categories=["rain_flood"])
    await world.subscribe("toyonaka_lift", "27203", categories=["rain_flood"], notify_lift=True)
    await world.feed("osaka_VPWW55_level4.xml")
    got = await world.feed("osaka_VPWW55_continued.xml")
    assert set(got) == {"toyonaka_lift"}
    assert "解除" in got["toyonaka_lift"][0] and "豊中市" in got["toyonaka_lift"][0]


async def test_same_telegram_twice_is_one_job(world):
    await world.subscribe("suita", "27205")
    await world.feed("osaka_VPWW55_level4.xml")
    n = len(world.deliverer.jobs)
    second = await world.feed("osaka_VPWW55_level4.xml")
    assert len(world.deliverer.jobs) == n and second == {}


async def test_drills_and_tests_never_reach_residents(world):
    await world.subscribe("suita", "27205")
    assert await world.feed("osaka_VPWW55_level4.xml", **{"<Status>通常</Status>": "<Status>訓練</Status>"}) == {}
    assert await world.feed("osaka_VXSE53_5plus.xml", **{"<Status>通常</Status>": "<Status>試験</Status>"}) == {}
    assert world.deliverer.jobs == {} and [t.status for t in world.drills] == ["exercise", "test"]


async def test_earthquake_threshold_and_no_repeat_between_quick_report_and_details(world):
    await world.subscribe("suita3", "27205", categories=["earthquake"], threshold="3")
    await world.subscribe("suita5", "27205", categories=["earthquake"], threshold="5-")
    await world.subscribe("takatsuki5", "27207", categories=["earthquake"], threshold="5-")
    await world.subscribe("sakai4", "27141", categories=["earthquake"], threshold="4")
    await world.subscribe("sakai3", "27141", categories=["earthquake"], threshold="3")
    first = await world.feed("osaka_VXSE51_5minus.xml")  # 大阪府北部 5弱, 南部 3
    assert set(first) == {"suita3", "suita5", "takatsuki5", "sakai3"}
    assert "大阪府南部で震度3を観測しました" in first["sakai3"][0]
    assert "大阪府北部で震度5弱を観測しました" in first["suita3"][0]
    # details: 高槻市 5強 is higher than the 5弱 already sent → only takatsuki hears again; 吹田 4 < 5弱: silence
    second = await world.feed("osaka_VXSE53_5plus.xml")
    assert set(second) == {"takatsuki5"} and "高槻市で震度5強" in second["takatsuki5"][0]
    by_slug = {j.source_id.rsplit(":", 2)[-1]: j for j in world.deliverer.jobs.values()}
    assert by_slug["5"].priority == by_slug["6"].priority == "emergency" and by_slug["5"].audience.ignore_quiet_hours
    assert by_slug["3"].priority == "alert" and not by_slug["3"].audience.ignore_quiet_hours


async def test_quiet_hours_hold_alerts_but_not_emergencies(world):
    quiet = QuietHours("22:00", "07:00")
    await world.subscribe("suita", "27205", categories=["rain_flood"], quiet_hours=quiet)  # L4: emergency
    await world.subscribe("osaka", "27100", categories=["rain_flood"], quiet_hours=quiet)  # L3: alert
    world.now = NIGHT
    got = await world.feed("osaka_VPWW55_level4.xml")
    assert set(got) == {"suita"}


async def test_cancellation_reaches_exactly_the_original_recipients(world):
    await world.subscribe("konohana", "27104", categories=["earthquake"], threshold="3")
    await world.subscribe("sakai", "27141", categories=["earthquake"], threshold="3")
    await world.feed("osaka_VXSE51_5minus.xml")
    # someone subscribes after the alert: must not receive the cancellation of something they never got
    await world.subscribe("late", "27104", categories=["earthquake"], threshold="3")
    got = await world.feed(
        "osaka_VXSE53_5plus.xml",
        **{"<InfoType>発表</InfoType>": "<InfoType>取消</InfoType>", "<Serial>2</Serial>": "<Serial>3</Serial>"},
    )
    assert set(got) == {"konohana", "sakai"}
    assert all(t[0].startswith("【取消】") for t in got.values())


async def test_cancellation_names_the_alert_as_residents_read_it_in_their_language(world):
    """JMA's Head/Title (「大阪府レベル４土砂災害危険警報」) is not what we sent, and is Japanese only."""
    await world.subscribe("minoh", "27220", categories=["landslide"])
    await world.subscribe("minoh_en", "27220", categories=["landslide"], language="en")
    first = await world.feed("osaka_VXWW50.xml")
    assert first["minoh"][0].startswith("【土砂災害警戒情報】")
    got = await world.feed("osaka_VXWW50.xml", **{"<InfoType>発表</InfoType>": "<InfoType>取消</InfoType>", "<Serial>1</Serial>": "<Serial>2</Serial>"})
    assert got["minoh"][0].startswith("【取消】先ほどお知らせした「土砂災害警戒情報」")
    assert got["minoh_en"][0].startswith('[Cancelled] JMA has cancelled the earlier notice "landslide alert')
    assert "危険警報" not in got["minoh_en"][0]


async def test_correction_resends_marked(world):
    await world.subscribe("konohana", "27104", categories=["earthquake"], threshold="4")
    await world.feed("osaka_VXSE53_5plus.xml")
    got = await world.feed("osaka_VXSE53_5plus.xml", **{"<InfoType>発表</InfoType>": "<InfoType>訂正</InfoType>"})
    assert got["konohana"][0].startswith("【訂正】【地震】大阪市此花区で震度5弱")


async def test_tsunami_warning_then_same_level_again(world):
    await world.subscribe("sakai", "27141", categories=["tsunami"], language="vi")
    await world.subscribe("suita_no_tsunami", "27205", categories=["rain_flood"])
    got = await world.feed("osaka_VTSE41_warning.xml")
    assert set(got) == {"sakai"} and "sóng thần" in got["sakai"][0]
    assert all(j.priority == "emergency" for j in world.deliverer.jobs.values())
    again = await world.feed("osaka_VTSE41_warning.xml", **{"<Serial/>": "<Serial>2</Serial>"})
    assert again == {}


async def test_location_registered_subscriber_is_reached_through_containing_municipality(world):
    await world.users.save(User(tenant=T, user_id="umeda"))
    loc = world.g.locate(34.7025, 135.4959)
    await world.store.save(Subscription(T, "umeda", places=[Place("p1", "職場", loc.code, 34.7025, 135.4959, loc.town.name)]))
    got = await world.feed("osaka_VPWW55_level4.xml")  # 大阪市 (2710000) レベル3大雨警報
    assert set(got) == {"umeda"}


async def test_waves_and_snow_templates(world):
    await world.subscribe("kishiwada", "27202", categories=["surge_wave"], language="ko")
    await world.subscribe("nose", "27322", categories=["wind_snow"], language="ja-easy")
    got = {**await world.feed("osaka_VPWW59_waves.xml"), **await world.feed("osaka_VPWW60_snow.xml")}
    assert "높은 파도 경보" in got["kishiwada"][0]
    assert "おおゆき けいほう" in got["nose"][0]


async def test_unsupported_and_other_prefectures_create_no_jobs(world):
    await world.subscribe("suita", "27205")
    for name in ("01_01_01_091210_VGSK50.xml", "15_16_03_241226_VPWW55.xml", "17_04_01_250630_VXWW50.xml"):
        assert await process_telegram(parse_file(FIX / name), world.deps) == []
    assert world.deliverer.jobs == {}


async def test_landslide_alert_is_an_emergency_for_the_named_municipalities(world):
    await world.subscribe("minoh", "27220", categories=["landslide"], quiet_hours=QuietHours("22:00", "07:00"))
    await world.subscribe("hirakata", "27210", categories=["landslide"])  # 継続: already told
    await world.subscribe("minoh_rain_only", "27220", categories=["rain_flood"])
    world.now = NIGHT
    got = await world.feed("osaka_VXWW50.xml")
    assert set(got) == {"minoh"}
    assert "箕面市、池田市に土砂災害警戒情報が発表されました" in got["minoh"][0]
    assert [j.priority for j in world.deliverer.jobs.values()] == ["emergency"]


async def test_record_rain_targets_the_municipalities_in_the_headline(world):
    await world.subscribe("shijonawate", "27229", categories=["rain_flood"], language="zh-Hans")
    await world.subscribe("daito", "27218", categories=["rain_flood"])
    await world.subscribe("suita", "27205", categories=["rain_flood"])
    got = await world.feed("osaka_VPOA50.xml")
    assert set(got) == {"shijonawate", "daito"}
    assert got["shijonawate"][0].startswith("【记录性强降雨】四條畷市、大東市观测到")


OLD_FORMAT = {
    "気象警報・注意報（Ｒ０６）（大雨）": "気象警報・注意報（Ｈ２７）",
    "<Name>レベル４大雨危険警報</Name>\n<Code>43</Code>\n<Status>発表</Status>": "<Name>大雨警報</Name>\n<Code>03</Code>\n<Status>継続</Status>",
    "<Name>レベル３大雨警報</Name>\n<Code>03</Code>\n<Status>発表</Status>\n<LastKind>\n<Name>レベル２大雨注意報</Name>": "<Name>大雨警報</Name>\n<Code>03</Code>\n<Status>発表</Status>\n<LastKind>\n<Name>大雨注意報</Name>",
}


async def test_transition_old_and_new_telegrams_for_the_same_warning_push_once(world):
    await world.subscribe("osaka", "27100", categories=["rain_flood"])
    await world.subscribe("suita", "27205", categories=["rain_flood"])
    new = await world.feed("osaka_VPWW55_level4.xml")
    assert set(new) == {"osaka", "suita"}
    # the same situation in the old VPWW54 (no レベル4 there): 大阪市 大雨警報 発表 is old news, 吹田 stays at L4
    old = await world.feed("osaka_VPWW55_level4.xml", **OLD_FORMAT)
    assert old == {}
    assert await world.feed("osaka_VPWW55_continued.xml") == {}


async def test_after_a_lift_the_same_warning_is_news_again(world):
    await world.subscribe("toyonaka", "27203", categories=["rain_flood"])
    upgrade = {"<Name>レベル３大雨警報</Name>\n<Code>03</Code>\n<Status>継続</Status>\n<LastKind>\n<Name>レベル３大雨警報</Name>": "<Name>レベル３大雨警報</Name>\n<Code>03</Code>\n<Status>発表</Status>\n<LastKind>\n<Name>レベル２大雨注意報</Name>"}
    assert set(await world.feed("osaka_VPWW55_level4.xml", **upgrade)) == {"toyonaka"}
    assert await world.feed("osaka_VPWW55_continued.xml") == {}  # 豊中: 警報から注意報
    again = {**upgrade, "2026-07-01T10:00:00+09:00": "2026-07-01T12:00:00+09:00"}
    assert set(await world.feed("osaka_VPWW55_level4.xml", **again)) == {"toyonaka"}


async def test_failed_submission_is_retried_not_forgotten(world):
    await world.subscribe("konohana", "27104", categories=["earthquake"], threshold="3")

    class Down:
        async def submit(self, job):
            raise ConnectionError("delivery engine unavailable")

    real = world.deps.deliverer
    world.deps.deliverer = Down()
    with pytest.raises(ConnectionError):
        await world.feed("osaka_VXSE53_5plus.xml")
    world.deps.deliverer = real
    got = await world.feed("osaka_VXSE53_5plus.xml")  # the poller retries the same telegram next cycle
    assert set(got) == {"konohana"}


async def test_tsunami_downgrade_and_lift_follow_the_warning(world):
    await world.subscribe("sakai", "27141", categories=["tsunami"])
    await world.feed("osaka_VTSE41_warning.xml")
    downgrade = {"<Kind><Name>津波警報</Name><Code>51</Code></Kind>\n<LastKind><Name>津波なし</Name><Code>00</Code></LastKind>\n</Category>\n<FirstHeight>":
                 "<Kind><Name>津波注意報</Name><Code>62</Code></Kind>\n<LastKind><Name>津波警報</Name><Code>51</Code></LastKind>\n</Category>\n<FirstHeight>",
                 "<Serial/>": "<Serial>2</Serial>"}
    got = await world.feed("osaka_VTSE41_warning.xml", **downgrade)
    assert "大阪府の沿岸に津波注意報が発表されました" in got["sakai"][0] and "海から上がり" in got["sakai"][0]
    lifted = {**downgrade, "<Name>津波注意報</Name><Code>62</Code>": "<Name>津波注意報解除</Name><Code>60</Code>", "<Serial/>": "<Serial>3</Serial>"}
    got = await world.feed("osaka_VTSE41_warning.xml", **lifted)
    assert got["sakai"][0].startswith("【解除】大阪府の沿岸の津波警報・注意報は解除されました。")


async def test_an_alert_and_its_cancellation_name_their_source_in_fields_not_in_categories(world):
    """The 取消 reaches the alert's people through AudienceQuery.record_as / replay_of; categories stay category ids."""
    await world.subscribe("konohana", "27104", categories=["earthquake"], threshold="3")
    await world.feed("osaka_VXSE51_5minus.xml")
    await world.feed("osaka_VXSE53_5plus.xml", **{"<InfoType>発表</InfoType>": "<InfoType>取消</InfoType>", "<Serial>2</Serial>": "<Serial>3</Serial>"})
    alert, cancel = [j for j in world.deliverer.jobs.values() if j.tenant == T]
    assert alert.audience.record_as == alert.source_id and alert.audience.replay_of == ""
    assert cancel.audience.replay_of == alert.source_id and cancel.audience.record_as == ""
    assert cancel.audience.categories == () and cancel.audience.ignore_quiet_hours
    assert alert.audience.categories and set(alert.audience.categories) <= set(expand_query_categories(CATEGORIES))
