"""DisasterStore and ShelterStore contracts: the memory fakes and the Redis adapters behave the same."""

from __future__ import annotations

import pytest

from disaster.model import MenuRecord, OpenStatus, Shelter, SwitchRequest
from disaster.store import MemoryDisasterStore, MemoryShelterStore, RedisDisasterStore, RedisShelterStore
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def store(request):
    return MemoryDisasterStore() if request.param == "memory" else RedisDisasterStore(redis_for(request))


@pytest.fixture(params=BACKENDS)
def shelters(request):
    return MemoryShelterStore() if request.param == "memory" else RedisShelterStore(redis_for(request))


def site(sid: str, *hazards: str) -> Shelter:
    return Shelter(sid, f"site {sid}", "大阪府", 34.5, 135.4, frozenset(hazards))


async def test_mode_switch_is_idempotent_and_merges_hazards(store):
    assert (await store.state("demo")).mode == "normal"
    assert await store.switch("demo", "disaster", ("earthquake",), "jma", "震度6弱", 100.0)
    assert not await store.switch("demo", "disaster", ("earthquake",), "jma", "again", 200.0)
    assert not await store.switch("demo", "disaster", ("tsunami",), "jma", "津波警報", 300.0)
    state = await store.state("demo")
    assert (state.mode, state.hazards, state.since, state.by, state.reason) == ("disaster", ("earthquake", "tsunami"), 100.0, "jma", "震度6弱")
    assert (await store.state("suita")).mode == "normal"
    assert not await store.switch("suita", "normal", (), "staff", "", 1.0)
    assert await store.switch("demo", "normal", ("ignored",), "a+b", "解除", 400.0)
    state = await store.state("demo")
    assert (state.mode, state.hazards, state.by) == ("normal", (), "a+b")


async def test_applied_mode_is_remembered(store):
    await store.switch("demo", "disaster", ("fire",), "x", "", 1.0)
    assert (await store.state("demo")).applied == ""
    await store.mark_applied("demo", "disaster")
    assert (await store.state("demo")).applied == "disaster"
    await store.switch("demo", "disaster", ("flood",), "x", "", 2.0)
    assert (await store.state("demo")).applied == "disaster"


async def test_a_request_is_taken_once(store):
    req = SwitchRequest("r1", "disaster", ("tsunami",), "editor1", 5.0, "理由")
    await store.put_request("demo", req)
    assert await store.request("demo") == req
    assert await store.take_request("demo", "other") is None
    assert await store.take_request("demo", "r1") == req
    assert await store.take_request("demo", "r1") is None and await store.request("demo") is None


async def test_menus_and_pending(store):
    assert await store.menus("demo") == MenuRecord()
    await store.save_menus("demo", MenuRecord({"normal:ja": "rm1", "disaster:ja": "rm2"}, "fp1"))
    await store.save_menus("demo", MenuRecord({"normal:ja": "rm3"}, "fp2", {"rm1": "normal:ja", "rm2": "disaster:ja"}))
    assert await store.menus("demo") == MenuRecord({"normal:ja": "rm3"}, "fp2", {"rm1": "normal:ja", "rm2": "disaster:ja"})
    await store.save_menus("demo", MenuRecord({"normal:ja": "rm3"}, "fp2"))
    assert await store.menus("demo") == MenuRecord({"normal:ja": "rm3"}, "fp2")
    await store.set_pending("demo", "U1", "find:tsunami")
    assert await store.pending("demo", "U1") == "find:tsunami" and await store.pending("demo", "U2") is None
    await store.set_pending("demo", "U1", None)
    assert await store.pending("demo", "U1") is None


async def test_shelters_replace_per_municipality_and_status(shelters):
    v0 = await shelters.version("demo")
    await shelters.replace_all("demo", [site("E2720200000001", "tsunami"), site("E2720200000002", "earthquake")], municipality="27202")
    await shelters.replace_all("demo", [site("E2720500000001", "flood")], municipality="27205")
    await shelters.replace_all("demo", [site("E2720200000003", "tsunami")], municipality="27202")  # new file for 岸和田
    assert sorted(s.id for s in await shelters.all("demo")) == ["E2720200000003", "E2720500000001"]
    assert await shelters.version("demo") == v0 + 3
    assert await shelters.all("suita") == []
    got = {s.id: s for s in await shelters.all("demo")}
    assert got["E2720200000003"].hazards == {"tsunami"} and got["E2720200000003"].lat == 34.5
    await shelters.set_status("demo", "E2720200000003", OpenStatus("crowded", 10.0, "staff1"))
    assert await shelters.statuses("demo") == {"E2720200000003": OpenStatus("crowded", 10.0, "staff1")}
