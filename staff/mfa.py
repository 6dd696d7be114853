"""Second factor for staff: TOTP (RFC 6238, pyotp) with a QR code for enrolment (segno) and one-time recovery codes.

A login whose password is right but whose second factor is still to come is a *pending* session (``Session.stage``
"mfa" or "enrol", five minutes, refused by ``require_role``); ``complete`` and ``finish_enrolment`` turn it into a
signed-in session under a new id. Codes are checked behind the same per-account gate as passwords, and a TOTP time
step is accepted once (no replay within its 30 s window).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace

import pyotp
import segno

from staff.model import AuditEntry, Session, StaffAccount
from staff.service import LoginPolicy, LoginThrottled, StaffError, new_session
from staff.store import StaffStore

ISSUER = "civicbot"
RECOVERY_CODES = 10
VALID_WINDOW = 1  # one step either side: a phone clock 30 s off still works


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: StaffAccount, tenant_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=f"{account.username}@{account.tenant}", issuer_name=f"{ISSUER} {tenant_name}".strip())


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (an <img>, no script; CSP img-src allows data:)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], tuple[str, ...]]:
    """(codes shown once, their hashes stored). 50 random bits each: a fast hash is enough, nobody can enumerate them."""
    codes = [f"{secrets.token_hex(3)[:5]}-{secrets.token_hex(3)[:5]}" for _ in range(RECOVERY_CODES)]
    return codes, tuple(_hash_code(c) for c in codes)


def totp_step(secret: str, code: str, now: float, last_step: int) -> int | None:
    """The time step the code belongs to (newer than ``last_step``), or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now // totp.interval)
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if candidate > last_step and hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


async def _gate(store: StaffStore, policy: LoginPolicy, session: Session, now: float) -> None:
    wait = await store.gate_enter(session.tenant, f"mfa:{session.username}", now, policy.free_failures, policy.delay_base_seconds, policy.delay_cap_seconds)
    if wait:
        await store.append_audit(AuditEntry(tenant=session.tenant, actor=session.username, action="mfa.throttled", ts=now))
        raise LoginThrottled(session.username, wait)


async def _signed_in(store: StaffStore, policy: LoginPolicy, pending: Session, account: StaffAccount, now: float, action: str) -> Session:
    await store.gate_reset(pending.tenant, f"mfa:{pending.username}")
    await store.delete_session(pending.tenant, pending.id)
    session = new_session(account, now)  # a new id: the pending one is never promoted
    await store.save_session(session, policy.absolute_timeout_seconds)
    await store.append_audit(AuditEntry(tenant=account.tenant, actor=account.username, action=action, ts=now))
    return session


async def complete(store: StaffStore, policy: LoginPolicy, pending: Session, code: str) -> Session | None:
    """Second step of a login: a TOTP code or an unused recovery code. None when wrong; LoginThrottled when waiting."""
    now = policy.clock()
    if pending.stage != "mfa":
        return None
    await _gate(store, policy, pending, now)
    account = await store.get_account(pending.tenant, pending.username)
    if account is None or not account.active or not account.totp_secret or account.session_epoch != pending.epoch:
        return None
    step = totp_step(account.totp_secret, code, now, account.totp_last_step)
    if step is not None:
        account.totp_last_step = step
        await store.save_account(account)
        return await _signed_in(store, policy, pending, account, now, "login")
    hashed = _hash_code(code)
    if hashed in account.recovery_hashes and len(code) < 64:
        account.recovery_hashes = tuple(h for h in account.recovery_hashes if h != hashed)
        await store.save_account(account)
        return await _signed_in(store, policy, pending, account, now, "login.recovery_code")
    await store.append_audit(AuditEntry(tenant=pending.tenant, actor=pending.username, action="mfa.failed", ts=now))
    return None


async def start_enrolment(store: StaffStore, policy: LoginPolicy, session: Session) -> Session:
    """Give the (pending or signed-in) session a fresh secret to show; kept on the session until confirmed."""
    if not session.mfa_secret:
        session = replace(session, mfa_secret=new_secret())
        ttl = 300 if session.stage else int(policy.absolute_timeout_seconds - (policy.clock() - session.created_at)) + 1
        await store.save_session(session, max(ttl, 1))
    return session


async def finish_enrolment(
    store: StaffStore, policy: LoginPolicy, session: Session, code: str, current_code: str = ""
) -> tuple[Session, list[str]] | None:
    """Confirm the secret with a code from the app: the account gets the secret and fresh recovery codes (returned
    once), every other session of the account ends, and this browser gets a new signed-in session. Replacing a second
    factor already enrolled needs a code of the current one too (a stolen session alone cannot swap the phone)."""
    now = policy.clock()
    if not session.mfa_secret or session.stage not in ("", "enrol"):
        return None
    await _gate(store, policy, session, now)
    account = await store.get_account(session.tenant, session.username)
    if account is None or not account.active or account.session_epoch != session.epoch:
        return None
    if account.totp_secret:
        current = totp_step(account.totp_secret, current_code, now, account.totp_last_step)
        if current is None and _hash_code(current_code) not in account.recovery_hashes:
            await store.append_audit(AuditEntry(tenant=session.tenant, actor=session.username, action="mfa.enrol_failed", ts=now))
            return None
    step = totp_step(session.mfa_secret, code, now, 0)
    if step is None:
        await store.append_audit(AuditEntry(tenant=session.tenant, actor=session.username, action="mfa.enrol_failed", ts=now))
        return None
    codes, hashes = new_recovery_codes()
    account.totp_secret, account.totp_last_step, account.recovery_hashes = session.mfa_secret, step, hashes
    account.session_epoch += 1
    await store.save_account(account)
    return await _signed_in(store, policy, session, account, now, "mfa.enrolled"), codes


async def reset(store: StaffStore, tenant: str, username: str, *, actor: str = "cli") -> None:
    """Forget the second factor (lost phone): the next login enrols again; every session ends."""
    account = await store.get_account(tenant, username)
    if account is None:
        raise StaffError(f"no staff {username} at {tenant}")
    account.totp_secret, account.totp_last_step, account.recovery_hashes = "", 0, ()
    account.session_epoch += 1
    await store.save_account(account)
    await store.append_audit(AuditEntry(tenant=tenant, actor=actor, action="mfa.reset", target=username))
