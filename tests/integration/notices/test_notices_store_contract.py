"""One contract suite for the incident store, run on the memory fake and on Redis (embedded server)."""

from __future__ import annotations

import dataclasses

import pytest

from alerts.notices.model import AuditEntry, Incident, ReviewItem
from alerts.notices.store import DAY, MemoryIncidentStore, RedisIncidentStore
from tests.conftest import BACKENDS, redis_for

T = "demo"
NOW = 1_795_000_000.0  # 2026-11-18 (JST)
UMEDA = (34.700013, 135.497728)
NAMBA = (34.6659, 135.5013)  # ~3.8 km south of 梅田


@pytest.fixture(params=BACKENDS)
def store(request):
    return MemoryIncidentStore() if request.param == "memory" else RedisIncidentStore(redis_for(request))


def inc(id_: str, *, at: float = NOW - 3600, lat=UMEDA[0], lng=UMEDA[1], precision="town", code="27127", tenant=T, status="delivered") -> Incident:
    import datetime as dt

    from alerts.notices.model import JST

    return Incident(
        id=id_, tenant=tenant, kind="声かけ", heading="声かけ", occurred_at=dt.datetime.fromtimestamp(at, JST).isoformat(),
        time_known=True, place_text="大阪市北区梅田1丁目付近", description="…", suspect="30歳位", advice="…", station="曽根崎警察署",
        source="imap:t", source_name="大阪府警察", precision=precision, municipality_code=code, municipality_name="大阪市北区",
        town="梅田一丁目" if precision == "town" else "", lat=lat, lng=lng, received_at=at, status=status,
    )


async def test_add_get_and_duplicate(store):
    assert await store.add(inc("a"), now=NOW)
    assert not await store.add(dataclasses.replace(inc("a"), suspect="changed"), now=NOW)
    got = await store.get(T, "a")
    assert got == inc("a")
    assert await store.get("other", "a") is None


async def test_recent_near_by_radius_and_days(store):
    await store.add(inc("near"), now=NOW)
    await store.add(inc("far", lat=NAMBA[0], lng=NAMBA[1]), now=NOW)
    await store.add(inc("old", at=NOW - 10 * DAY), now=NOW)
    await store.add(inc("other-tenant", tenant="x"), now=NOW)
    found = await store.recent_near(T, [UMEDA], 1000, 7, now=NOW)
    assert [i.id for i in found] == ["near"]
    both = await store.recent_near(T, [UMEDA, NAMBA], 1000, 30, now=NOW)
    assert {i.id for i in both} == {"near", "far", "old"}
    assert [i.id for i in both][-1] == "old"  # newest first
    assert await store.recent_near(T, [], 1000, 7, now=NOW) == []


async def test_municipality_precision_found_by_code_not_radius(store):
    await store.add(inc("muni", precision="municipality", code="27205", lat=34.78, lng=135.52), now=NOW)
    assert await store.recent_near(T, [(34.78, 135.52)], 1000, 7, now=NOW) == []
    assert [i.id for i in await store.recent_near(T, [], 1000, 7, codes=("27205",), now=NOW)] == ["muni"]


async def test_review_status_is_not_near(store):
    await store.add(inc("r", status="review"), now=NOW)
    assert await store.recent_near(T, [UMEDA], 1000, 7, now=NOW) == []


async def test_update_reindexes(store):
    await store.add(inc("m", precision="municipality", code="27205"), now=NOW)
    moved = dataclasses.replace(inc("m"), status="placed")
    await store.update(moved)
    assert [i.id for i in await store.recent_near(T, [UMEDA], 500, 7, now=NOW)] == ["m"]
    assert await store.recent_near(T, [], 500, 7, codes=("27205",), now=NOW) == []


async def test_retention_purges_old_incidents(store):
    await store.add(inc("old", at=NOW - 20 * DAY), retention_days=30, now=NOW)
    assert [i.id for i in await store.recent(T, 30, now=NOW)] == ["old"]
    later = NOW + 15 * DAY
    await store.add(inc("new", at=later), retention_days=30, now=later)
    assert [i.id for i in await store.recent(T, 365, now=later)] == ["new"]
    assert await store.get(T, "old") is None
    assert await store.recent_near(T, [UMEDA], 1000, 365, now=later) == [await store.get(T, "new")]


async def test_incident_older_than_retention_is_not_kept(store):
    assert not await store.add(inc("late", at=NOW - 31 * DAY), retention_days=30, now=NOW)
    assert await store.get(T, "late") is None and await store.recent(T, 365, now=NOW) == []


async def test_review_list_and_audit(store):
    item = ReviewItem(id="r1", tenant=T, reason="no place found", source="imap:t", received_at=NOW, raw="本文")
    assert await store.add_review(item)
    assert not await store.add_review(item)
    await store.add_review(dataclasses.replace(item, id="r0", received_at=NOW - 5))
    assert [i.id for i in await store.list_review(T)] == ["r0", "r1"]
    assert (await store.get_review(T, "r1")).raw == "本文"
    assert await store.close_review(T, "r1") and not await store.close_review(T, "r1")
    for n in range(3):
        await store.append_audit(AuditEntry(T, "staff", "review.place", f"r{n}", {"n": n}, NOW + n))
    log = await store.audit_log(T, limit=2)
    assert [e.target for e in log] == ["r2", "r1"] and log[0].detail == {"n": 2}


async def test_seen_keys(store):
    assert not await store.seen(T, "imap:a:1:5")
    await store.mark_seen(T, "imap:a:1:5")
    assert await store.seen(T, "imap:a:1:5")
    assert not await store.seen("other", "imap:a:1:5")
