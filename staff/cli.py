"""``civicbot staff ...`` subcommands (add, passwd, mfa-reset, disable, enable, list, audit) as plain functions over a StaffStore.

The composition root owns Redis; it wires these as::

    p = sub.add_parser("staff", help="staff accounts"); staff.cli.add_arguments(p)
    p.set_defaults(func=lambda args: asyncio.run(<open RedisStaffStore>, then staff.cli.run(args, store)))

Passwords are read from stdin (``--password-stdin``) or prompted without echo; never from the command line, where they
would land in shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from staff import mfa
from staff.model import ROLES
from staff.service import StaffError, add_staff, set_active, set_password
from staff.store import StaffStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="staff_command", required=True)
    add = sub.add_parser("add", help="create a staff account")
    add.add_argument("tenant")
    add.add_argument("username")
    add.add_argument("role", choices=ROLES)
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true")
    pw = sub.add_parser("passwd", help="set a new password")
    pw.add_argument("tenant")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    mr = sub.add_parser("mfa-reset", help="forget an account's second factor (lost phone); it enrols again at the next login")
    mr.add_argument("tenant")
    mr.add_argument("username")
    for name in ("disable", "enable"):
        p = sub.add_parser(name, help=f"{name} an account")
        p.add_argument("tenant")
        p.add_argument("username")
    ls = sub.add_parser("list", help="list a tenant's accounts")
    ls.add_argument("tenant")
    au = sub.add_parser("audit", help="print a tenant's audit log (newest first)")
    au.add_argument("tenant")
    au.add_argument("--limit", type=int, default=50)


def _password(args: argparse.Namespace, read: Callable[[], str] | None) -> str:
    if read is not None:
        return read()
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise StaffError("passwords do not match")
    return first


async def run(args: argparse.Namespace, store: StaffStore, *, read_password: Callable[[], str] | None = None, out=print) -> int:
    """Execute one parsed ``staff`` command; returns the exit code."""
    try:
        cmd = args.staff_command
        if cmd == "add":
            await add_staff(store, args.tenant, args.username, args.role, _password(args, read_password), display_name=args.display_name)
            out(f"added {args.username} ({args.role}) at {args.tenant}")
        elif cmd == "passwd":
            await set_password(store, args.tenant, args.username, _password(args, read_password))
            out(f"password changed for {args.username}")
        elif cmd == "mfa-reset":
            await mfa.reset(store, args.tenant, args.username)
            out(f"second factor reset for {args.username}; every session of the account ended")
        elif cmd in ("disable", "enable"):
            await set_active(store, args.tenant, args.username, cmd == "enable")
            out(f"{cmd}d {args.username}")
        elif cmd == "list":
            for acc in await store.list_accounts(args.tenant):
                out(f"{acc.username}\t{acc.role}\t{'active' if acc.active else 'disabled'}\t{acc.display_name}")
        elif cmd == "audit":
            for e in await store.audit_log(args.tenant, limit=args.limit):
                out(f"{e.ts:.0f}\t{e.actor}\t{e.action}\t{e.target}")
        return 0
    except StaffError as exc:
        out(f"error: {exc}")
        return 2


async def seed_demo_accounts(store: StaffStore, tenant_ids: list[str], password: str) -> list[str]:
    """Demo only (``make demo``): counsellor1, counsellor2, supervisor, admin per demo tenant; existing ones are kept.
    They are marked ``demo``: their published password works only while the process runs in demo mode."""
    created = []
    for tenant in tenant_ids:
        for username, role in (("counsellor1", "counsellor"), ("counsellor2", "counsellor"), ("supervisor", "supervisor"), ("admin", "admin")):
            if await store.get_account(tenant, username) is None:
                await add_staff(store, tenant, username, role, password, display_name=f"{role} ({username})", demo=True)
                created.append(f"{tenant}/{username}")
    return created
