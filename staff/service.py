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
    """Too many failed logins for this username or address; the caller answers 429 and logs it."""


@dataclass
class LoginPolicy:
    """Why these numbers: 5 tries per account stops guessing without locking out a person who mistypes twice."""

    max_failures_per_user: int = 5
    max_failures_per_address: int = 20
    window_seconds: int = 15 * 60
    idle_timeout_seconds: int = 15 * 60  # idle logout: consultations are sensitive, shared office PCs are common
    absolute_timeout_seconds: int = 12 * 3600
    hasher: PasswordHasher = field(default_factory=default_hasher)
    clock: Callable[[], float] = time.time


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
) -> StaffAccount:
    """Create (or with ``replace_existing`` reset) a staff account; used by ``civicbot staff add``."""
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    if not USERNAME.match(username):
        raise StaffError("username: 2-40 characters, lowercase letters, digits, . _ -")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    if not replace_existing and await store.get_account(tenant, username) is not None:
        raise StaffError(f"{username} already exists at {tenant}")
    hasher = hasher or default_hasher()
    pw_hash = await asyncio.to_thread(hasher.hash, password)
    account = StaffAccount(tenant=tenant, username=username, role=role, password_hash=pw_hash, display_name=display_name)
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor="cli", action="staff.add", target=username, detail={"role": role}))
    return account


async def set_password(store: StaffStore, tenant: str, username: str, password: str, *, hasher: PasswordHasher | None = None) -> None:
    """Reset a password (``civicbot staff passwd``); existing sessions stay valid until idle or logout."""
    account = await store.get_account(tenant, username)
    if account is None:
        raise StaffError(f"no staff {username} at {tenant}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    account.password_hash = await asyncio.to_thread((hasher or default_hasher()).hash, password)
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor="cli", action="staff.passwd", target=username))


async def set_active(store: StaffStore, tenant: str, username: str, active: bool) -> None:
    """Disable (or re-enable) an account; a disabled account's sessions stop working on their next request."""
    account = await store.get_account(tenant, username)
    if account is None:
        raise StaffError(f"no staff {username} at {tenant}")
    account.active = active
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor="cli", action="staff.enable" if active else "staff.disable", target=username))


_DUMMY_HASHES: dict[int, str] = {}


def _verify(hasher: PasswordHasher, pw_hash: str | None, password: str) -> bool:
    # Unknown users are verified against a dummy hash so response time does not reveal which usernames exist.
    if pw_hash is None:
        dummy = _DUMMY_HASHES.setdefault(id(hasher), hasher.hash("not-a-password-" + secrets.token_hex(8)))
        try:
            hasher.verify(dummy, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(pw_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def login(
    store: StaffStore, policy: LoginPolicy, tenant: str, username: str, password: str, *, address: str = ""
) -> Session | None:
    """Check the password and open a session; None on a wrong password. Raises LoginThrottled when rate limited."""
    now = policy.clock()
    user_key, addr_key = f"user:{username}", f"addr:{address}"
    if (
        await store.failures(tenant, user_key, now) >= policy.max_failures_per_user
        or (address and await store.failures(tenant, addr_key, now) >= policy.max_failures_per_address)
    ):
        await store.append_audit(AuditEntry(tenant=tenant, actor=username, action="login.throttled", detail={"address": address}, ts=now))
        raise LoginThrottled(username)
    account = await store.get_account(tenant, username)
    ok = await asyncio.to_thread(_verify, policy.hasher, account.password_hash if account else None, password)
    if not ok or account is None or not account.active:
        await store.add_failure(tenant, user_key, policy.window_seconds, now)
        if address:
            await store.add_failure(tenant, addr_key, policy.window_seconds, now)
        await store.append_audit(AuditEntry(tenant=tenant, actor=username, action="login.failed", detail={"address": address}, ts=now))
        return None
    await store.clear_failures(tenant, user_key)
    if policy.hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await asyncio.to_thread(policy.hasher.hash, password)
        await store.save_account(account)
    session = Session(
        id=secrets.token_urlsafe(32),
        tenant=tenant,
        username=username,
        role=account.role,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen=now,
        display_name=account.display_name or username,
    )
    await store.save_session(session, policy.absolute_timeout_seconds)
    await store.append_audit(AuditEntry(tenant=tenant, actor=username, action="login", detail={"address": address}, ts=now))
    return session


async def resolve_session(store: StaffStore, policy: LoginPolicy, tenant: str, session_id: str, *, touch: bool = True) -> Session | None:
    """The live session for a cookie, or None (and the session is deleted) when idle or too old."""
    session = await store.get_session(tenant, session_id)
    if session is None:
        return None
    now = policy.clock()
    if now - session.last_seen > policy.idle_timeout_seconds or now - session.created_at > policy.absolute_timeout_seconds:
        await store.delete_session(tenant, session_id)
        await store.append_audit(AuditEntry(tenant=tenant, actor=session.username, action="logout.idle", ts=now))
        return None
    # the account may have been disabled or its role changed since login: the account is the truth
    account = await store.get_account(tenant, session.username)
    if account is None or not account.active:
        await store.delete_session(tenant, session_id)
        return None
    session.role = account.role
    if touch:
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
