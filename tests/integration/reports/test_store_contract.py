"""One contract for every port of the reports room, run against the memory fakes and Redis (embedded Valkey)."""

from __future__ import annotations

import time

import pytest

from reports.model import Draft, HistoryEntry, Report
from reports.photos import FilePhotoStore, MemoryPhotoStore
from reports.store import (
    MemoryApiKeyStore,
    MemoryDraftStore,
    MemoryReportStore,
    RedisApiKeyStore,
    RedisDraftStore,
    RedisReportStore,
)
from tests.conftest import BACKENDS, redis_for


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=BACKENDS)
def reports(request):
    return MemoryReportStore() if request.param == "memory" else RedisReportStore(redis_for(request))


@pytest.fixture(params=BACKENDS)
def drafts(request):
    clock = Clock()
    store = MemoryDraftStore(clock) if request.param == "memory" else RedisDraftStore(redis_for(request), clock)
    return store, clock


@pytest.fixture(params=BACKENDS)
def keys(request):
    return MemoryApiKeyStore() if request.param == "memory" else RedisApiKeyStore(redis_for(request))


@pytest.fixture(params=["memory", "file"])
def photos(request, tmp_path):
    return MemoryPhotoStore() if request.param == "memory" else FilePhotoStore(tmp_path / "photos")


def _report(rid: str, lat: float = 34.6937, lng: float = 135.5023, category: str = "pothole", at: float = 1000.0, **kw) -> Report:
    return Report(tenant="demo", id=rid, category=category, lat=lat, lng=lng, created_at=at, reporter=kw.pop("reporter", "U1"), **kw)


async def test_ids_are_sequential_per_tenant(reports):
    assert [await reports.next_id("demo"), await reports.next_id("demo"), await reports.next_id("other")] == ["R000001", "R000002", "R000001"]


async def test_round_trip_keeps_history_and_notes(reports):
    r = _report("R1", history=[HistoryEntry(1.0, "resident", "created", {"source": "line"})], photos=["a" * 32])
    await reports.create(r)
    got = await reports.get("demo", "R1")
    assert got == r
    assert await reports.get("other", "R1") is None
    assert await reports.get_many("demo", ["R1", "nope"]) == [r, None]


async def test_near_open_finds_same_category_within_radius_nearest_first(reports):
    await reports.create(_report("R1"))
    await reports.create(_report("R2", lat=34.69385))  # ≈ 17 m north
    await reports.create(_report("R3", lat=34.6960))  # ≈ 250 m
    await reports.create(_report("R4", category="graffiti"))
    found = await reports.near_open("demo", "pothole", 34.69372, 135.5023, 30)
    assert [rid for rid, _ in found] == ["R1", "R2"]
    assert found[0][1] < 3 and 10 < found[1][1] < 30
    assert await reports.near_open("other", "pothole", 34.6937, 135.5023, 30) == []


async def test_update_reindexes_closed_and_category_changes(reports):
    await reports.create(_report("R1"))

    def close(r: Report) -> None:
        r.status = "closed"
        r.updated_at = 5000.0

    await reports.update("demo", "R1", close)
    assert await reports.near_open("demo", "pothole", 34.6937, 135.5023, 30) == []
    assert await reports.ended_before("demo", 6000.0) == ["R1"]
    assert await reports.ended_before("demo", 4000.0) == []

    def reopen(r: Report) -> None:
        r.status = "in_progress"
        r.category = "graffiti"

    await reports.update("demo", "R1", reopen)
    assert await reports.ended_before("demo", 6000.0) == []
    assert [i for i, _ in await reports.near_open("demo", "graffiti", 34.6937, 135.5023, 30)] == ["R1"]
    assert await reports.update("demo", "missing", reopen) is None


async def test_summaries_follow_every_write(reports):
    await reports.create(_report("R1", address="北区梅田一丁目", comment="私の電話は090…"))
    [summary] = await reports.summaries("demo", ["R1"])
    assert summary.status == "received" and summary.address == "北区梅田一丁目" and summary.is_open
    assert not hasattr(summary, "comment") and not hasattr(summary, "reporter")

    def close(r: Report) -> None:
        r.status, r.status_text, r.fix_photo = "closed", "直しました", "f" * 32

    await reports.update("demo", "R1", close)
    [summary, missing] = await reports.summaries("demo", ["R1", "R9"])
    assert (summary.status, summary.status_text, summary.fix_photo, missing) == ("closed", "直しました", "f" * 32, None)
    await reports.delete("demo", "R1")
    assert await reports.summaries("demo", ["R1"]) == [None]


async def test_import_many_is_create_for_a_batch(reports):
    await reports.import_many([_report(f"R{i}", at=1000.0 + i, lat=34.69 + i * 0.01) for i in range(3)])
    assert await reports.ids("demo") == ["R2", "R1", "R0"]
    assert [i for i, _ in await reports.near_open("demo", "pothole", 34.70, 135.5023, 30)] == ["R1"]


async def test_ids_by_time_newest_first_with_limit(reports):
    for i in range(5):
        await reports.create(_report(f"R{i}", at=1000.0 + i))
    assert await reports.ids("demo") == ["R4", "R3", "R2", "R1", "R0"]
    assert await reports.ids("demo", 1001.0, 1003.0) == ["R3", "R2", "R1"]
    assert await reports.ids("demo", limit=2) == ["R4", "R3"]


async def test_listing_pages_summaries_of_a_window_newest_first(reports):
    for i in range(7):
        await reports.create(_report(f"R{i}", at=1000.0 + i, address=f"北区{i}丁目"))
    await reports.create(Report(tenant="other", id="R0", category="pothole", lat=34.7, lng=135.5, created_at=1003.0, reporter="U9"))
    await reports.update("demo", "R5", lambda r: setattr(r, "status", "closed"))
    page = await reports.listing("demo", 1001.0, 1006.0, 0, 3)
    assert [s.id for s in page] == ["R6", "R5", "R4"] and page[1].status == "closed" and page[0].address == "北区6丁目"
    assert page == await reports.summaries("demo", ["R6", "R5", "R4"])
    assert [s.id for s in await reports.listing("demo", 1001.0, 1006.0, 3, 3)] == ["R3", "R2", "R1"]
    assert [s.id for s in await reports.listing("demo", 1001.0, 1006.0, 6, 3)] == []
    assert [s.id for s in await reports.listing("demo", 0.0, float("inf"), 5, 100)] == ["R1", "R0"]
    assert await reports.listing("demo", 0.0, float("inf"), 0, 0) == []
    await reports.delete("demo", "R6")
    assert [s.id for s in await reports.listing("demo", 1000.5, 1006.0, 0, 2)] == ["R5", "R4"]


async def test_reporter_and_followers_see_their_reports_and_delete_removes_everything(reports):
    await reports.create(_report("R1", reporter="U1"))

    def add(r: Report) -> None:
        r.followers.append("U2")

    await reports.update("demo", "R1", add)
    assert await reports.of_user("demo", "U1") == ["R1"]
    assert await reports.of_user("demo", "U2") == ["R1"]
    await reports.delete("demo", "R1")
    assert await reports.get("demo", "R1") is None
    assert await reports.of_user("demo", "U2") == []
    assert await reports.ids("demo") == []
    assert await reports.near_open("demo", "pothole", 34.6937, 135.5023, 30) == []


async def test_drafts_expire_and_counters_are_per_window(drafts):
    store, clock = drafts
    await store.save(Draft(tenant="demo", user_id="U1", category="pothole", photos=["k"]), ttl_s=1800)
    got = await store.get("demo", "U1")
    assert got is not None and got.category == "pothole" and got.photos == ["k"]
    assert await store.get("other", "U1") is None
    await store.delete("demo", "U1")
    assert await store.get("demo", "U1") is None
    assert await store.hits("demo", "U1", 3600) == 0
    assert [await store.count("demo", "U1", 3600) for _ in range(3)] == [1, 2, 3]
    assert await store.hits("demo", "U1", 3600) == 3
    assert await store.hits("demo", "U2", 3600) == 0
    clock.now += 3600
    assert await store.hits("demo", "U1", 3600) == 0


async def test_redis_draft_expires_by_ttl(redis):
    store = RedisDraftStore(redis)
    await store.save(Draft(tenant="demo", user_id="U1"), ttl_s=1800)
    ttl = await redis.ttl("cb:{demo}:reports:draft:U1")
    assert 1790 < ttl <= 1800


async def test_api_keys_are_per_tenant_and_revocable(keys):
    await keys.add("demo", "fixmystreet", "k-123")
    assert await keys.client_of("demo", "k-123") == "fixmystreet"
    assert await keys.client_of("other", "k-123") is None
    assert await keys.client_of("demo", "wrong") is None
    assert await keys.clients("demo") == ["fixmystreet"]
    assert await keys.revoke("demo", "fixmystreet") == 1
    assert await keys.client_of("demo", "k-123") is None


async def test_api_keys_are_stored_hashed(redis):
    await RedisApiKeyStore(redis).add("demo", "c", "secret-key-value")
    assert "secret-key-value" not in str(await redis.hgetall("cb:{demo}:reports:apikeys"))


async def test_photo_store_round_trip_and_age(photos):
    key = await photos.put("demo", b"jpeg-bytes")
    assert await photos.get("demo", key) == b"jpeg-bytes"
    assert await photos.get("other", key) is None
    assert await photos.get("demo", "../../etc/passwd") is None
    assert key in await photos.older_than("demo", time.time() + 10)
    assert await photos.older_than("demo", time.time() - 3600) == []
    await photos.delete("demo", key)
    assert await photos.get("demo", key) is None
