"""Staff vocabulary: accounts, sessions and audit entries (small dataclasses, no I/O)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["counsellor", "supervisor", "admin", "editor", "viewer"]
ROLES: tuple[str, ...] = ("counsellor", "supervisor", "admin", "editor", "viewer")


@dataclass
class StaffAccount:
    """One person at one tenant. Usernames are unique per tenant, never across tenants: the tenant is part of the key."""

    tenant: str
    username: str
    role: str
    password_hash: str
    display_name: str = ""
    active: bool = True
    created_at: float = field(default_factory=time.time)
    demo: bool = False  # made by ``make demo`` with the published password: usable only while the process is in demo mode
    session_epoch: int = 0  # bumped by a password change/reset or an MFA reset: every older session stops working
    totp_secret: str = ""  # RFC 6238 base32 secret; "" = no second factor enrolled
    totp_last_step: int = 0  # the last time step accepted, so a code cannot be replayed
    recovery_hashes: tuple[str, ...] = ()  # SHA-256 of the unused one-time recovery codes (high-entropy, not passwords)


@dataclass
class Session:
    """A logged-in staff member. ``csrf`` is bound to the session so a token stolen from one login is useless later."""

    id: str
    tenant: str
    username: str
    role: str
    csrf: str
    created_at: float
    last_seen: float
    display_name: str = ""
    epoch: int = 0  # the account's session_epoch at login
    stage: str = ""  # "" = signed in; "mfa" = password ok, code pending; "enrol" = password ok, must enrol a second factor
    next: str = ""  # where to go once the pending stage is done
    mfa_secret: str = ""  # a secret being enrolled (shown once as a QR code), until confirmed by a code


@dataclass
class AuditEntry:
    """Who did what to which record, when, at which tenant. Append-only: the store has no update or delete."""

    tenant: str
    actor: str
    action: str
    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
