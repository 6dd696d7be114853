"""Staff accounts, login, sessions, CSRF, roles and the audit log — shared by every staff page (console, FAQ admin,
broadcast composer, police review). Door: ``staff.web.setup``, ``staff.web.require_role``, ``staff.add_staff``."""

from staff.model import ROLES, AuditEntry, Session, StaffAccount
from staff.service import (
    LoginPolicy,
    LoginThrottled,
    StaffError,
    add_staff,
    audit,
    fast_policy,
    login,
    logout,
    resolve_session,
    set_active,
    set_password,
)
from staff.store import MemoryStaffStore, RedisStaffStore, StaffStore

__all__ = [
    "ROLES",
    "AuditEntry",
    "LoginPolicy",
    "LoginThrottled",
    "MemoryStaffStore",
    "RedisStaffStore",
    "Session",
    "StaffAccount",
    "StaffError",
    "StaffStore",
    "add_staff",
    "audit",
    "fast_policy",
    "login",
    "logout",
    "resolve_session",
    "set_active",
    "set_password",
]
