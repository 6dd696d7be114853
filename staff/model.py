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


@dataclass
class AuditEntry:
    """Who did what to which record, when, at which tenant. Append-only: the store has no update or delete."""

    tenant: str
    actor: str
    action: str
    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
