"""``civicbot staff`` subcommands on the in-memory store."""

from __future__ import annotations

import argparse

from staff import fast_policy, login
from staff.cli import add_arguments, run
from staff.store import MemoryStaffStore

PW = "correct horse battery"


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


async def test_add_list_disable():
    store, lines = MemoryStaffStore(), []
    assert await run(parse("add", "demo", "alice", "counsellor"), store, read_password=lambda: PW, out=lines.append) == 0
    assert await login(store, fast_policy(), "demo", "alice", PW) is not None
    assert await run(parse("add", "demo", "alice", "counsellor"), store, read_password=lambda: PW, out=lines.append) == 2
    await run(parse("list", "demo"), store, out=lines.append)
    assert lines[-1].startswith("alice\tcounsellor\tactive")
    await run(parse("disable", "demo", "alice"), store, out=lines.append)
    assert await login(store, fast_policy(), "demo", "alice", PW) is None
    start = len(lines)
    await run(parse("audit", "demo"), store, out=lines.append)
    actions = [line.split("\t")[2] for line in lines[start:]]
    assert actions[:2] == ["login.failed", "staff.disable"] and actions[-1] == "staff.add"


async def test_mfa_reset_makes_the_next_login_enrol_and_ends_sessions():
    store, lines = MemoryStaffStore(), []
    policy = fast_policy()
    await run(parse("add", "demo", "ada", "admin"), store, read_password=lambda: PW, out=lines.append)
    acc = await store.get_account("demo", "ada")
    acc.totp_secret = "JBSWY3DPEHPK3PXP"
    await store.save_account(acc)
    assert (await login(store, policy, "demo", "ada", PW)).stage == "mfa"
    assert await run(parse("mfa-reset", "demo", "ada"), store, out=lines.append) == 0
    assert (await login(store, policy, "demo", "ada", PW)).stage == "enrol"
    assert await run(parse("mfa-reset", "demo", "nobody"), store, out=lines.append) == 2
