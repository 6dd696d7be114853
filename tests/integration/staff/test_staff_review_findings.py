"""The outside review's staff findings (1-4, 11), each reproduced as the attack it describes.

Each test failed on the code before the fix (see the commit that added it) and guards the fix now.
"""

from __future__ import annotations

import asyncio

import pyotp
import pytest
from argon2 import PasswordHasher

from staff import add_staff, fast_policy, login, mfa, resolve_session, set_password
from staff.cli import seed_demo_accounts
from staff.service import PUBLISHED_PASSWORDS, LoginThrottled
from staff.store import AUDIT_MAXLEN, MemoryStaffStore, RedisStaffStore
from tests.helpers import ManualClock

PW = "correct horse battery"


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def policy(clock):
    return fast_policy(clock=clock)


@pytest.fixture(params=["memory", "redis"])
def empty_store(request):
    return MemoryStaffStore() if request.param == "memory" else RedisStaffStore(request.getfixturevalue("redis"))


@pytest.fixture
async def store(empty_store, policy):
    await add_staff(empty_store, "demo", "alice", "counsellor", PW, hasher=policy.hasher)
    return empty_store


# -- finding 1: unauthenticated Redis fill ------------------------------------------------------------------------

async def test_a_huge_username_is_never_stored(store, policy):
    huge = "a" * (3 * 1024 * 1024)
    for _ in range(8):  # past the throttle too: the review saw usernames stored after a 429
        try:
            await login(store, policy, "demo", huge, "x" * 20, address="192.0.2.1")
        except LoginThrottled:
            pass
    entries = await store.audit_log("demo", limit=100)
    assert entries and all(len(e.actor) <= 40 and len(str(e.detail)) < 200 for e in entries)


async def test_the_audit_stream_is_capped(redis):
    store = RedisStaffStore(redis)
    from staff.model import AuditEntry

    for i in range(300):
        await store.append_audit(AuditEntry(tenant="demo", actor="x", action="a", target=str(i)))
    info = await redis.xinfo_stream("cb:{demo}:staff:audit")
    assert info["length"] == 300  # nothing lost below the cap …
    assert AUDIT_MAXLEN <= 1_000_000  # … and the XADD carries MAXLEN (checked below through the command itself)
    calls = []
    original = redis.xadd

    async def spy(*args, **kwargs):
        calls.append(kwargs)
        return await original(*args, **kwargs)

    redis.xadd = spy
    await store.append_audit(AuditEntry(tenant="demo", actor="x", action="a"))
    assert calls[0]["maxlen"] == AUDIT_MAXLEN


# -- finding 2: concurrent logins pass the limit ------------------------------------------------------------------

async def test_parallel_guesses_cannot_slip_a_right_password_past_the_limit(store, policy):
    attempts = [login(store, policy, "demo", "alice", f"wrong guess {i:04d}") for i in range(30)]
    attempts.append(login(store, policy, "demo", "alice", PW))
    results = await asyncio.gather(*attempts, return_exceptions=True)
    # whichever arrive first, only the free attempts reach Argon2; the old code checked all 31 against "0 failures"
    checked = [r for r in results if not isinstance(r, LoginThrottled)]
    assert len(checked) <= policy.free_failures and not [r for r in results if isinstance(r, Exception) and not isinstance(r, LoginThrottled)]


# -- finding 3: user enumeration by timing ------------------------------------------------------------------------

class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.hashes = self.verifies = 0

    def hash(self, password, *, salt=None):  # type: ignore[override]
        self.hashes += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):  # type: ignore[override]
        self.verifies += 1
        return super().verify(hash, password)


@pytest.mark.parametrize("username", ["alice", "nobody", "disabled"])
async def test_known_unknown_and_disabled_users_cost_the_same_work(username, clock):
    hasher = CountingHasher()
    policy = fast_policy(clock=clock)
    policy.hasher = hasher
    policy.dummy_hash = ""
    policy.__post_init__()
    store = MemoryStaffStore()
    await add_staff(store, "demo", "alice", "counsellor", PW, hasher=hasher)
    await add_staff(store, "demo", "disabled", "counsellor", PW, hasher=hasher)
    acc = await store.get_account("demo", "disabled")
    acc.active = False
    await store.save_account(acc)
    hasher.hashes = hasher.verifies = 0
    assert await login(store, policy, "demo", username, "wrong password here") is None
    assert (hasher.hashes, hasher.verifies) == (0, 1)


# -- finding 4: demo passwords outside demo mode ------------------------------------------------------------------

async def test_demo_accounts_log_in_only_in_demo_mode(clock):
    store = MemoryStaffStore()
    password = next(iter(PUBLISHED_PASSWORDS))
    await seed_demo_accounts(store, ["demo", "suita"], password)
    production = fast_policy(clock=clock)
    demo = fast_policy(clock=clock, demo_mode=True)
    assert await login(store, production, "suita", "admin", password) is None
    assert await login(store, demo, "suita", "counsellor1", password) is not None
    # accounts made with the published password before the demo flag existed are refused too
    from staff.model import StaffAccount

    await store.save_account(StaffAccount(tenant="demo", username="old", role="admin", password_hash=production.hasher.hash(password)))
    assert await login(store, production, "demo", "old", password) is None


def test_the_published_demo_password_is_on_the_refused_list():
    from app.demo import DEMO_PASSWORD

    assert DEMO_PASSWORD in PUBLISHED_PASSWORDS


async def test_the_published_password_cannot_be_set_outside_the_demo(store, policy):
    from staff import StaffError

    with pytest.raises(StaffError):
        await set_password(store, "demo", "alice", next(iter(PUBLISHED_PASSWORDS)), hasher=policy.hasher)


# -- finding 11: sessions, MFA, lock-out ----------------------------------------------------------------------------

async def test_a_password_change_ends_every_session(store, policy):
    stolen = await login(store, policy, "demo", "alice", PW)
    other = await login(store, policy, "demo", "alice", PW)
    await set_password(store, "demo", "alice", "a brand new passphrase", hasher=policy.hasher)
    assert await resolve_session(store, policy, "demo", stolen.id) is None
    assert await resolve_session(store, policy, "demo", other.id) is None
    assert await resolve_session(store, policy, "demo", (await login(store, policy, "demo", "alice", "a brand new passphrase")).id)


async def test_five_bad_logins_do_not_lock_the_owner_out_for_long(store, policy, clock):
    for _ in range(5):
        try:
            await login(store, policy, "demo", "alice", "an attacker's guess")
        except LoginThrottled as exc:
            clock.advance(exc.retry_after)
    clock.advance(2 ** 5)  # well under the old 15-minute lock-out
    assert await login(store, policy, "demo", "alice", PW) is not None


async def test_delay_doubles_and_is_capped(store, policy, clock):
    waits = []
    for _ in range(14):
        try:
            await login(store, policy, "demo", "alice", "an attacker's guess")
        except LoginThrottled as exc:
            waits.append(exc.retry_after)
            clock.advance(exc.retry_after)
            await login(store, policy, "demo", "alice", "an attacker's guess")
    assert waits[:3] == [2.0, 4.0, 8.0] and max(waits) == policy.delay_cap_seconds


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_supervisors_and_admins_must_enrol_a_second_factor(role, policy, clock):
    store = MemoryStaffStore()
    await add_staff(store, "demo", "boss", role, PW, hasher=policy.hasher)
    pending = await login(store, policy, "demo", "boss", PW)
    assert pending.stage == "enrol" and await resolve_session(store, policy, "demo", pending.id) is not None
    pending = await mfa.start_enrolment(store, policy, pending)
    assert await mfa.finish_enrolment(store, policy, pending, "000000") is None
    session, codes = await mfa.finish_enrolment(store, policy, pending, pyotp.TOTP(pending.mfa_secret).at(clock.now))
    assert session.stage == "" and len(codes) == 10 and session.id != pending.id
    assert await store.get_session("demo", pending.id) is None
    # the next login needs a code; a code is good once; a recovery code works once
    clock.advance(60)
    second = await login(store, policy, "demo", "boss", PW)
    assert second.stage == "mfa"
    code = pyotp.TOTP(pending.mfa_secret).at(clock.now)
    assert (await mfa.complete(store, policy, second, code)).stage == ""
    third = await login(store, policy, "demo", "boss", PW)
    assert await mfa.complete(store, policy, third, code) is None  # replay of the same step
    assert await mfa.complete(store, policy, third, codes[0]) is not None
    fourth = await login(store, policy, "demo", "boss", PW)
    assert await mfa.complete(store, policy, fourth, codes[0]) is None


async def test_counsellors_need_mfa_only_where_the_tenant_asks(policy, clock):
    store = MemoryStaffStore()
    await add_staff(store, "demo", "carl", "counsellor", PW, hasher=policy.hasher)
    await add_staff(store, "suita", "cara", "counsellor", PW, hasher=policy.hasher)
    strict = fast_policy(clock=clock, mfa_counsellor_tenants=frozenset({"suita"}))
    assert (await login(store, strict, "demo", "carl", PW)).stage == ""
    assert (await login(store, strict, "suita", "cara", PW)).stage == "enrol"


async def test_mfa_codes_are_throttled_like_passwords(policy, clock):
    store = MemoryStaffStore()
    await add_staff(store, "demo", "boss", "admin", PW, hasher=policy.hasher)
    pending = await mfa.start_enrolment(store, policy, await login(store, policy, "demo", "boss", PW))
    await mfa.finish_enrolment(store, policy, pending, pyotp.TOTP(pending.mfa_secret).at(clock.now))
    second = await login(store, policy, "demo", "boss", PW)
    with pytest.raises(LoginThrottled):
        for i in range(10):
            await mfa.complete(store, policy, second, f"{i:06d}")


async def test_replacing_an_enrolled_second_factor_needs_a_code_of_the_current_one(policy, clock):
    store = MemoryStaffStore()
    await add_staff(store, "demo", "boss", "admin", PW, hasher=policy.hasher)
    pending = await mfa.start_enrolment(store, policy, await login(store, policy, "demo", "boss", PW))
    session, _ = await mfa.finish_enrolment(store, policy, pending, pyotp.TOTP(pending.mfa_secret).at(clock.now))
    first_secret = pending.mfa_secret
    clock.advance(60)
    again = await mfa.start_enrolment(store, policy, session)  # a signed-in session (perhaps a stolen one)
    new_code = pyotp.TOTP(again.mfa_secret).at(clock.now)
    assert await mfa.finish_enrolment(store, policy, again, new_code) is None
    assert (await store.get_account("demo", "boss")).totp_secret == first_secret
    done = await mfa.finish_enrolment(store, policy, again, new_code, pyotp.TOTP(first_secret).at(clock.now))
    assert done is not None and (await store.get_account("demo", "boss")).totp_secret == again.mfa_secret


async def test_an_attacker_slows_himself_not_the_owners_usual_browser(store, policy, clock):
    """Finding 11 ("anyone can lock a counsellor out"): the owner's browser that signed in before has its own gate."""
    from staff.service import remember_device

    device = await remember_device(store, await login(store, policy, "demo", "alice", PW))
    for _ in range(12):  # an attacker somewhere, without the owner's browser, guessing as fast as allowed
        try:
            await login(store, policy, "demo", "alice", "an attacker's guess")
        except LoginThrottled as exc:
            clock.advance(exc.retry_after)
            await login(store, policy, "demo", "alice", "an attacker's guess")
    with pytest.raises(LoginThrottled):
        await login(store, policy, "demo", "alice", PW)  # a new browser waits like the attacker
    assert await login(store, policy, "demo", "alice", PW, device=device) is not None  # the usual one does not
    with pytest.raises(LoginThrottled):
        await login(store, policy, "demo", "alice", "another guess", device="forged-token")
    bob_device = await remember_device(store, await login(store, policy, "demo", "alice", PW, device=device))
    await add_staff(store, "demo", "bob", "counsellor", PW, hasher=policy.hasher)
    for _ in range(3):
        await login(store, policy, "demo", "bob", "wrong wrong wrong")
    with pytest.raises(LoginThrottled):  # alice's browser token is no pass for bob's account
        await login(store, policy, "demo", "bob", PW, device=bob_device)
