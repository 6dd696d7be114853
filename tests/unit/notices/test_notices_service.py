"""Service flow on fakes: parse → place → keep → deliver, review list with manual placement, audit, messages."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.geo import Gazetteer
from alerts.notices.config import NoticesConfig
from alerts.notices.delivery import LANGUAGES, make_job, render
from alerts.notices.model import JST
from alerts.notices.service import NoticeDeps, RawNotice, dismiss, place_and_send, process
from alerts.notices.store import MemoryIncidentStore
from broadcasts.jobs import MemoryDeliverer

T = "demo"
NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=JST).timestamp()
G = Gazetteer.load()


@pytest.fixture
def deps():
    configs = {T: NoticesConfig(radius_m=800)}
    return NoticeDeps(
        gazetteer=G, store=MemoryIncidentStore(), deliverer=MemoryDeliverer(),
        config=lambda t: configs.get(t, NoticesConfig()), clock=lambda: NOW,
    )


def _raw(data: bytes, source: str = "imap:test") -> RawNotice:
    return RawNotice(source=source, source_name="大阪府警察", received_at=NOW, data=data)


async def test_sample_is_delivered_once_as_a_police_alert(samples, deps):
    out = await process(T, _raw(samples["01_koekake_kita.eml"]), deps)
    assert out.status == "delivered"
    [job] = deps.deliverer.jobs.values()
    assert (job.priority, job.kind, job.source_id) == ("alert", "police", f"police:{out.incident.id}")
    a = job.audience
    assert a.categories == ("crime",) and a.area_codes == ("27127",) and a.radius_m == 800
    assert a.center == pytest.approx((34.700013, 135.497728))
    assert set(job.messages) == set(LANGUAGES)
    # same notice again (another mailbox, a re-poll): kept once, sent once
    again = await process(T, _raw(samples["01_koekake_kita.eml"], "imap:other"), deps)
    assert again.status == "duplicate" and len(deps.deliverer.jobs) == 1
    stored = await deps.store.get(T, out.incident.id)
    assert stored.status == "delivered" and stored.job_id == out.job_id
    [entry] = [e for e in await deps.store.audit_log(T) if e.action == "notice.send"]
    assert entry.actor == "system" and entry.target == out.incident.id


async def test_messages_carry_type_time_place_suspect_advice_source(samples, deps):
    out = await process(T, _raw(samples["03_koekake_higashiosaka.eml"]), deps)
    inc = out.incident
    ja = render(inc, "ja")
    assert "声かけ" in ja and "11月16日(月) 午後3時ごろ" in ja and "東大阪市若江北町三丁目付近" in ja
    assert "60歳位" in ja and "防犯ブザー" in ja and "出典：大阪府警察" in ja
    for lang in LANGUAGES:
        msg = render(inc, lang, name_en="Higashiosaka City")
        assert "出典：大阪府警察" in msg and "若江北町三丁目" in msg and inc.suspect in msg
        assert "公園" not in msg  # the notice's place detail beyond 町丁目 is not repeated
    assert "Higashiosaka City" in render(inc, "en", name_en="Higashiosaka City")
    assert "3:00 PM" in render(inc, "en")


async def test_place_never_more_precise_than_the_notice(deps):
    raw = RawNotice(
        source="rss:x", source_name="大阪府警察", received_at=NOW, subject="声かけ",
        body="■声かけ\n11月20日午後4時頃、大阪市北区梅田1丁目18番付近の路上で、男が声をかける事案が発生しました。",
    )
    out = await process(T, raw, deps)
    [job] = deps.deliverer.jobs.values()
    for msgs in job.messages.values():
        assert "18番" not in msgs[0]["text"] and "梅田一丁目" in msgs[0]["text"]
    assert out.incident.place_text.endswith("18番付近の路上")  # kept as published for staff


async def test_municipality_precision_targets_the_municipality_only(deps):
    raw = RawNotice(source="rss:x", source_name="大阪府警察", received_at=NOW, subject="声かけ（吹田市）",
                    body="■声かけ\n11月20日午後4時頃、吹田市内の公園で、男が声をかける事案が発生しました。")
    out = await process(T, raw, deps)
    assert out.status == "delivered" and out.incident.precision == "municipality"
    [job] = deps.deliverer.jobs.values()
    assert job.audience.center is None and job.audience.area_codes == ("27205",)
    assert "場所：吹田市\n" in job.messages["ja"][0]["text"]


async def test_unparseable_goes_to_review_with_its_text(deps):
    out = await process(T, _raw("Subject: お知らせ\r\n\r\n本文だけのメールです。".encode()), deps)
    assert out.status == "review" and not deps.deliverer.jobs
    [item] = await deps.store.list_review(T)
    assert item.reason == "no 不審者/声かけ-type incident found" and "本文だけのメール" in item.raw
    assert item.incident is None
    assert [e.action for e in await deps.store.audit_log(T)] == ["review.add"]


async def test_unplaced_notice_is_reviewed_then_placed_by_hand_and_sent(deps):
    raw = RawNotice(source="rss:x", source_name="大阪府警察", received_at=NOW, subject="声かけ",
                    body="■声かけ\n11月20日午後4時頃、駅前の公園で、男が声をかける事案が発生しました。\n■防犯アドバイス\n気をつけてください。")
    out = await process(T, raw, deps)
    assert out.status == "review" and out.review.incident["kind"] == "声かけ"
    assert not deps.deliverer.jobs
    with pytest.raises(ValueError):
        await place_and_send(T, out.review.id, code="27205", town="梅田一丁目", actor="staff1", deps=deps)
    done = await place_and_send(T, out.review.id, code="27205", town="江坂町一丁目", actor="staff1", deps=deps)
    assert done.incident.precision == "town" and done.incident.municipality_code == "27205"
    [job] = deps.deliverer.jobs.values()
    assert "吹田市江坂町一丁目" in job.messages["ja"][0]["text"]
    assert await deps.store.list_review(T) == []
    log = await deps.store.audit_log(T)
    assert [(e.action, e.actor) for e in log[:2]] == [("notice.send", "staff1"), ("review.place", "staff1")]
    assert log[1].detail == {"code": "27205", "town": "江坂町一丁目"}


async def test_notice_older_than_retention_is_not_sent(samples, deps):
    deps.clock = lambda: NOW + 40 * 86400
    out = await process(T, _raw(samples["01_koekake_kita.eml"]), deps)
    assert out.status == "stale" and not deps.deliverer.jobs


async def test_dismiss_is_audited(deps):
    out = await process(T, _raw(b"Subject: x\r\n\r\n\xff\xfe garbage"), deps)
    assert await dismiss(T, out.review.id, actor="staff2", reason="spam", deps=deps)
    assert not await dismiss(T, out.review.id, actor="staff2", reason="spam", deps=deps)
    assert (await deps.store.audit_log(T))[0].detail == {"reason": "spam"}


async def test_notice_outside_the_tenants_municipalities_is_kept_not_sent(samples, deps):
    deps.config = lambda t: NoticesConfig(municipalities=["27205"])
    out = await process(T, _raw(samples["04_satsuei_toyonaka.eml"]), deps)
    assert out.status == "stored" and not deps.deliverer.jobs
    assert await deps.store.get(T, out.incident.id) is not None


async def test_city_tenant_covers_its_wards(samples, deps):
    deps.config = lambda t: NoticesConfig(municipalities=["27100"])
    out = await process(T, _raw(samples["05_koekake_joto.eml"]), deps)
    assert out.status == "delivered"


def test_unplaced_incident_is_never_made_into_a_job():
    from alerts.notices.model import Incident

    inc = Incident(id="x", tenant=T, kind="声かけ", heading="", occurred_at=None, time_known=False, place_text="?",
                   description="", suspect="", advice="", station="", source="cli", source_name="大阪府警察")
    with pytest.raises(ValueError):
        make_job(inc, radius_m=1000)
