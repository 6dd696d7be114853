"""Staff service functions: create accounts, log in and out, resolve sessions, write the audit log.

Plain async functions over a ``StaffStore`` so the CLI, the web pages of every room and the tests share one
implementation. Passwords are hashed with Argon2id (argon2-cffi); hashing runs in a thread so a login does not
stall the event loop that also serves the console's WebSockets.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from staff.model import ROLES, AuditEntry, Session, StaffAccount
from staff.store import StaffStore

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 12


class StaffError(ValueError):
    pass


def default_hasher() -> PasswordHasher:
    """Argon2id at OWASP's baseline (19 MiB, 2 passes, 1 lane): strong, and a login costs the shared web process
    a fraction of argon2-cffi's 64 MiB default. ``check_needs_rehash`` migrates old hashes at the next login."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class LoginThrottled(Exception):
    """Too many unsuccessful logins for this account or address; the caller answers 429 with ``retry_after``."""

    def __init__(self, username: str, retry_after: float = 0.0) -> None:
        super().__init__(username)
        self.retry_after = retry_after


# Passwords printed by ``make demo`` (bot/demo.py): refused outside demo mode, for accounts made before the demo flag
PUBLISHED_PASSWORDS = frozenset({"demo-password-2026"})
MAX_PASSWORD = 256  # Argon2 hashes any length; a 6 MB "password" would only cost the web process time
MFA_ROLES = ("supervisor", "admin")
PENDING_SECONDS = 5 * 60  # a password accepted but the second factor not given yet
DEVICE_SECONDS = 90 * 24 * 3600  # a browser that signed in keeps its own login gate this long


@dataclass
class LoginPolicy:
    """Why these numbers: the first ``free_failures`` mistakes cost nothing; after that each attempt on the account waits
    twice as long (2 s, 4 s, … up to 5 min), so guessing is slowed to a dozen tries an hour while the owner is never
    locked out for long. One address gets ``max_failures_per_address`` free failures (an office shares one address)."""

    free_failures: int = 3
    delay_base_seconds: float = 2.0
    delay_cap_seconds: float = 300.0
    max_failures_per_address: int = 20
    address_delay_cap_seconds: float = 900.0
    window_seconds: int = 15 * 60  # the longest wait a caller is told about (login page text)
    idle_timeout_seconds: int = 15 * 60  # idle logout: consultations are sensitive, shared office PCs are common
    absolute_timeout_seconds: int = 12 * 3600
    hasher: PasswordHasher = field(default_factory=default_hasher)
    clock: Callable[[], float] = time.time
    demo_mode: bool = False  # accounts made by ``make demo`` log in only when this is on
    mfa_roles: tuple[str, ...] = MFA_ROLES  # these roles must use a second factor
    mfa_counsellor_tenants: frozenset[str] = frozenset()  # tenants that also require it of counsellors
    dummy_hash: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        # made once, here: an unknown user then costs one verify, exactly like a known one (no hash on the first miss)
        if not self.dummy_hash:
            self.dummy_hash = self.hasher.hash("not-a-password-" + secrets.token_hex(8))

    def mfa_required(self, account: StaffAccount) -> bool:
        if account.demo and self.demo_mode:
            return False  # the published demo accounts stay one click away in `make demo`; they cannot log in otherwise
        return account.role in self.mfa_roles or (account.role == "counsellor" and account.tenant in self.mfa_counsellor_tenants)


def fast_policy(**overrides: Any) -> LoginPolicy:
    """Cheap Argon2 parameters for tests (never for production)."""
    return LoginPolicy(hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1), **overrides)


async def add_staff(
    store: StaffStore,
    tenant: str,
    username: str,
    role: str,
    password: str,
    *,
    display_name: str = "",
    hasher: PasswordHasher | None = None,
    replace_existing: bool = False,
    demo: bool = False,
) -> StaffAccount:
    """Create (or with ``replace_existing`` reset) a staff account; used by ``civicbot staff add``."""
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    if not USERNAME.match(username):
        raise StaffError("username: 2-40 characters, lowercase letters, digits, . _ -")
    _check_password(password, demo=demo)
    if not replace_existing and await store.get_account(tenant, username) is not None:
        raise StaffError(f"{username} already exists at {tenant}")
    hasher = hasher or default_hasher()
    pw_hash = await asyncio.to_thread(hasher.hash, password)
    account = StaffAccount(tenant=tenant, username=username, role=role, password_hash=pw_hash, display_name=display_name, demo=demo)
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor="cli", action="staff.add", target=username, detail={"role": role}))
    return account


def _check_password(password: str, *, demo: bool = False) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"password must have at most {MAX_PASSWORD} characters")
    if password in PUBLISHED_PASSWORDS and not demo:
        raise StaffError("this password is published (demo); choose another")


async def set_password(
    store: StaffStore, tenant: str, username: str, password: str, *, hasher: PasswordHasher | None = None, actor: str = "cli"
) -> StaffAccount:
    """Change or reset a password (``civicbot staff passwd``, the change-password page): every existing session of the
    account stops working (a stolen session does not outlive the password it came with)."""
    account = await store.get_account(tenant, username)
    if account is None:
        raise StaffError(f"no staff {username} at {tenant}")
    _check_password(password)
    account.password_hash = await asyncio.to_thread((hasher or default_hasher()).hash, password)
    account.demo = False  # a chosen password: no longer the published one
    account.session_epoch += 1
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor=actor, action="staff.passwd", target=username))
    return account


async def set_active(store: StaffStore, tenant: str, username: str, active: bool) -> None:
    """Disable (or re-enable) an account; a disabled account's sessions stop working on their next request."""
    account = await store.get_account(tenant, username)
    if account is None:
        raise StaffError(f"no staff {username} at {tenant}")
    account.active = active
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor="cli", action="staff.enable" if active else "staff.disable", target=username))


def _verify(hasher: PasswordHasher, pw_hash: str, password: str) -> bool:
    try:
        return hasher.verify(pw_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def audit_name(username: str) -> str:
    """What the audit log may store for a name someone typed: a well-formed username, or a marker (never 3 MB)."""
    return username if USERNAME.match(username) else "(invalid username)"


async def login(
    store: StaffStore, policy: LoginPolicy, tenant: str, username: str, password: str, *, address: str = "", device: str = ""
) -> Session | None:
    """Check the password; None on a wrong one. Raises LoginThrottled while the account or address must wait.

    The attempt is recorded *before* Argon2 runs (so 31 parallel guesses are 31 attempts, not 31 × "0 failures so
    far") and refunded when it succeeds. A browser that signed in as this person before (``device``, a token from
    ``remember_device``) has a gate of its own, so an attacker's failures slow the attacker, not the owner's usual
    browser (OWASP's device cookies). The returned session may be pending (``stage`` "mfa" or "enrol"): the
    second factor is still to come, and ``require_role`` does not accept it.
    """
    now = policy.clock()
    well_formed = bool(USERNAME.match(username)) and len(password) <= MAX_PASSWORD
    actor = audit_name(username)
    user_key, addr_key = f"user:{username}" if well_formed else "user:(invalid)", f"addr:{address}"
    if well_formed and device and len(device) <= 64 and await store.device_owner(tenant, device) == username:
        user_key = f"device:{device}"
    if address:
        wait = await store.gate_enter(tenant, addr_key, now, policy.max_failures_per_address, policy.delay_base_seconds, policy.address_delay_cap_seconds)
        if wait:
            await store.append_audit(AuditEntry(tenant=tenant, actor=actor, action="login.throttled", detail={"address": address, "by": "address"}, ts=now))
            raise LoginThrottled(actor, wait)
    if well_formed:
        wait = await store.gate_enter(tenant, user_key, now, policy.free_failures, policy.delay_base_seconds, policy.delay_cap_seconds)
        if wait:
            if address:
                await store.gate_refund(tenant, addr_key, policy.max_failures_per_address)  # not an attempt on the password
            await store.append_audit(AuditEntry(tenant=tenant, actor=actor, action="login.throttled", detail={"address": address, "by": "account"}, ts=now))
            raise LoginThrottled(actor, wait)
    account = await store.get_account(tenant, username) if well_formed else None
    # unknown, disabled and malformed names cost one verify against the policy's dummy hash, like a wrong password
    ok = await asyncio.to_thread(_verify, policy.hasher, account.password_hash if account else policy.dummy_hash, password)
    refused = ""
    if ok and account is not None and not policy.demo_mode and (account.demo or password in PUBLISHED_PASSWORDS):
        refused = "demo account outside demo mode"
    if not ok or account is None or not account.active or refused:
        detail = {"address": address, **({"reason": refused} if refused else {})}
        await store.append_audit(AuditEntry(tenant=tenant, actor=actor, action="login.failed", detail=detail, ts=now))
        return None
    await store.gate_reset(tenant, user_key)
    if address:
        await store.gate_refund(tenant, addr_key, policy.max_failures_per_address)
    if policy.hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await asyncio.to_thread(policy.hasher.hash, password)
        await store.save_account(account)
    stage = "mfa" if account.totp_secret else ("enrol" if policy.mfa_required(account) else "")
    session = new_session(account, now, stage=stage)
    await store.save_session(session, PENDING_SECONDS if stage else policy.absolute_timeout_seconds)
    await store.append_audit(AuditEntry(tenant=tenant, actor=username, action="login" if not stage else "login.password_ok", detail={"address": address}, ts=now))
    return session


async def remember_device(store: StaffStore, session: Session) -> str:
    """A token for the browser that just signed in (kept in a cookie): its own login gate from now on."""
    token = secrets.token_urlsafe(24)
    await store.save_device(session.tenant, token, session.username, DEVICE_SECONDS)
    return token


def new_session(account: StaffAccount, now: float, *, stage: str = "") -> Session:
    return Session(
        id=secrets.token_urlsafe(32),
        tenant=account.tenant,
        username=account.username,
        role=account.role,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen=now,
        display_name=account.display_name or account.username,
        epoch=account.session_epoch,
        stage=stage,
    )


async def resolve_session(store: StaffStore, policy: LoginPolicy, tenant: str, session_id: str, *, touch: bool = True) -> Session | None:
    """The live session for a cookie, or None (and the session is deleted) when idle or too old."""
    session = await store.get_session(tenant, session_id)
    if session is None:
        return None
    now = policy.clock()
    too_old = now - session.created_at > (PENDING_SECONDS if session.stage else policy.absolute_timeout_seconds)
    if now - session.last_seen > policy.idle_timeout_seconds or too_old:
        await store.delete_session(tenant, session_id)
        await store.append_audit(AuditEntry(tenant=tenant, actor=session.username, action="logout.idle", ts=now))
        return None
    # the account may have been disabled or its role changed since login: the account is the truth
    account = await store.get_account(tenant, session.username)
    if account is None or not account.active or account.session_epoch != session.epoch:
        await store.delete_session(tenant, session_id)  # disabled, or the password changed since this login
        return None
    session.role = account.role
    if touch and not session.stage:  # a pending login keeps its short life
        session.last_seen = now
        remaining = int(policy.absolute_timeout_seconds - (now - session.created_at)) + 1
        await store.touch_session(tenant, session_id, now, max(remaining, 1))
    return session


async def logout(store: StaffStore, session: Session, *, now: float | None = None) -> None:
    await store.delete_session(session.tenant, session.id)
    await store.append_audit(AuditEntry(tenant=session.tenant, actor=session.username, action="logout", ts=now or time.time()))


async def audit(store: StaffStore, session: Session, action: str, target: str = "", **detail: Any) -> None:
    """Record a staff action (view, message, note, close, ...). Never pass a resident's message body as detail."""
    await store.append_audit(AuditEntry(tenant=session.tenant, actor=session.username, action=action, target=target, detail=detail))
