"""StaffStore contract: the same behaviour from the in-memory fake and the Redis adapter."""

from __future__ import annotations

import time

import pytest

from staff.model import AuditEntry, Session, StaffAccount
from staff.store import MemoryStaffStore, RedisStaffStore
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def store(request):
    if request.param == "memory":
        return MemoryStaffStore()
    return RedisStaffStore(redis_for(request))


def _session(tenant: str = "demo", sid: str = "s1", user: str = "alice") -> Session:
    now = time.time()
    return Session(id=sid, tenant=tenant, username=user, role="counsellor", csrf="tok", created_at=now, last_seen=now)


async def test_accounts_are_per_tenant(store):
    await store.save_account(StaffAccount(tenant="demo", username="alice", role="counsellor", password_hash="h1", display_name="アリス"))
    await store.save_account(StaffAccount(tenant="suita", username="alice", role="admin", password_hash="h2"))
    demo = await store.get_account("demo", "alice")
    assert (demo.role, demo.password_hash, demo.display_name, demo.active) == ("counsellor", "h1", "アリス", True)
    assert (await store.get_account("suita", "alice")).role == "admin"
    assert await store.get_account("demo", "bob") is None
    assert [a.username for a in await store.list_accounts("demo")] == ["alice"]


async def test_account_update_overwrites(store):
    acc = StaffAccount(tenant="demo", username="alice", role="counsellor", password_hash="h1")
    await store.save_account(acc)
    acc.active, acc.role = False, "supervisor"
    await store.save_account(acc)
    got = await store.get_account("demo", "alice")
    assert (got.active, got.role) == (False, "supervisor")


async def test_session_lifecycle(store):
    await store.save_session(_session(), ttl_seconds=60)
    got = await store.get_session("demo", "s1")
    assert (got.username, got.csrf, got.role) == ("alice", "tok", "counsellor")
    assert await store.get_session("suita", "s1") is None  # a session id is only valid with its tenant
    await store.touch_session("demo", "s1", last_seen=got.last_seen + 10, ttl_seconds=60)
    assert (await store.get_session("demo", "s1")).last_seen == pytest.approx(got.last_seen + 10)
    await store.delete_session("demo", "s1")
    assert await store.get_session("demo", "s1") is None
    await store.touch_session("demo", "s1", last_seen=1.0, ttl_seconds=60)  # touching a deleted session does not revive it
    assert await store.get_session("demo", "s1") is None


async def test_failure_counters(store):
    now = time.time()
    assert await store.failures("demo", "user:alice", now) == 0
    assert await store.add_failure("demo", "user:alice", 900, now) == 1
    assert await store.add_failure("demo", "user:alice", 900, now) == 2
    assert await store.failures("demo", "user:alice", now) == 2
    assert await store.failures("suita", "user:alice", now) == 0
    await store.clear_failures("demo", "user:alice")
    assert await store.failures("demo", "user:alice", now) == 0


async def test_audit_is_append_only_newest_first_and_per_tenant(store):
    for i in range(3):
        await store.append_audit(AuditEntry(tenant="demo", actor="alice", action=f"a{i}", target="c1", detail={"n": i}, ts=1000.0 + i))
    await store.append_audit(AuditEntry(tenant="suita", actor="bob", action="x"))
    log = await store.audit_log("demo")
    assert [e.action for e in log] == ["a2", "a1", "a0"]
    assert log[0].detail == {"n": 2} and log[0].actor == "alice" and log[0].ts == 1002.0
    assert [e.action for e in await store.audit_log("demo", limit=1)] == ["a2"]
    assert [e.actor for e in await store.audit_log("suita")] == ["bob"]
