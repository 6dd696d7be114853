"""Accounts, login, rate limit and idle logout, on the in-memory store with a fake clock."""

from __future__ import annotations

import pytest

from staff import StaffError, add_staff, fast_policy, login, resolve_session
from staff.service import LoginThrottled
from staff.store import MemoryStaffStore
from tests.helpers import ManualClock

PW = "correct horse battery"


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def policy(clock):
    return fast_policy(clock=clock)


@pytest.fixture
async def store(policy):
    s = MemoryStaffStore()
    await add_staff(s, "demo", "alice", "counsellor", PW, hasher=policy.hasher)
    return s


async def test_add_staff_hashes_and_validates(store, policy):
    acc = await store.get_account("demo", "alice")
    assert acc.password_hash.startswith("$argon2id$") and PW not in acc.password_hash
    with pytest.raises(StaffError):
        await add_staff(store, "demo", "alice", "counsellor", PW, hasher=policy.hasher)  # duplicate
    with pytest.raises(StaffError):
        await add_staff(store, "demo", "bob", "root", PW, hasher=policy.hasher)
    with pytest.raises(StaffError):
        await add_staff(store, "demo", "bob", "viewer", "short", hasher=policy.hasher)
    assert (await store.audit_log("demo"))[0].action == "staff.add"


async def test_login_right_and_wrong_password(store, policy):
    assert await login(store, policy, "demo", "alice", "wrong password!!") is None
    assert await login(store, policy, "suita", "alice", PW) is None  # the account belongs to demo only
    session = await login(store, policy, "demo", "alice", PW, address="10.0.0.1")
    assert session and session.role == "counsellor" and len(session.csrf) > 20
    actions = [e.action for e in await store.audit_log("demo")]
    assert actions[:2] == ["login", "login.failed"]


async def test_repeated_failures_make_the_account_wait_even_with_the_right_password(store, policy, clock):
    for _ in range(policy.free_failures):
        assert await login(store, policy, "demo", "alice", "guess guess guess") is None
    with pytest.raises(LoginThrottled) as waited:
        await login(store, policy, "demo", "alice", PW)
    assert 0 < waited.value.retry_after <= policy.delay_base_seconds
    clock.advance(waited.value.retry_after)
    assert await login(store, policy, "demo", "alice", PW) is not None


async def test_rate_limit_per_address_across_usernames(store, policy):
    for i in range(policy.max_failures_per_address):
        await login(store, policy, "demo", f"user{i}", "nope nope nope", address="192.0.2.9")
    with pytest.raises(LoginThrottled):
        await login(store, policy, "demo", "alice", PW, address="192.0.2.9")
    assert await login(store, policy, "demo", "alice", PW, address="192.0.2.10") is not None


async def test_idle_logout(store, policy, clock):
    session = await login(store, policy, "demo", "alice", PW)
    clock.now += policy.idle_timeout_seconds - 5
    assert await resolve_session(store, policy, "demo", session.id) is not None  # activity resets the idle timer
    clock.now += policy.idle_timeout_seconds - 5
    assert await resolve_session(store, policy, "demo", session.id) is not None
    clock.now += policy.idle_timeout_seconds + 1
    assert await resolve_session(store, policy, "demo", session.id) is None
    assert await store.get_session("demo", session.id) is None


async def test_disabled_account_loses_its_session_and_role_changes_apply(store, policy):
    session = await login(store, policy, "demo", "alice", PW)
    acc = await store.get_account("demo", "alice")
    acc.role = "viewer"
    await store.save_account(acc)
    assert (await resolve_session(store, policy, "demo", session.id)).role == "viewer"
    acc.active = False
    await store.save_account(acc)
    assert await resolve_session(store, policy, "demo", session.id) is None


async def test_password_reset_and_disable(store, policy):
    from staff import set_active, set_password

    await set_password(store, "demo", "alice", "a brand new passphrase", hasher=policy.hasher)
    assert await login(store, policy, "demo", "alice", PW) is None
    assert await login(store, policy, "demo", "alice", "a brand new passphrase") is not None
    await set_active(store, "demo", "alice", False)
    assert await login(store, policy, "demo", "alice", "a brand new passphrase") is None
    with pytest.raises(StaffError):
        await set_password(store, "demo", "nobody", "a brand new passphrase")
