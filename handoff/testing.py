"""Test support: a console app on Memory/Redis adapters, used by this room's tests and the e2e browser test.

Not a composition root (that is ``app/bootstrap.py``); it only shows the minimal wiring of staff + handoff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.config import OfficeHours, Tenant
from handoff import web as handoff_web
from handoff.service import HandoffDeps
from staff import web as staff_web
from staff.service import LoginPolicy, fast_policy
from staff.store import StaffStore
from staff.testing import complete_login

# 24/7 with no gap at midnight, so tests do not depend on the wall clock
ALWAYS_OPEN = OfficeHours(weekly={d: "00:00-00:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, cutoff_minutes=0)


def demo_tenants(office_hours: OfficeHours | None = None) -> dict[str, Tenant]:
    oh = office_hours or ALWAYS_OPEN
    return {
        "demo": Tenant(id="demo", display_name="デモ市", lg_code="271004", office_hours=oh),
        "suita": Tenant(id="suita", display_name="吹田市", lg_code="272051", office_hours=oh),
    }


def build_app(
    staff_store: StaffStore,
    deps: HandoffDeps,
    tenants: Mapping[str, Tenant],
    *,
    policy: LoginPolicy | None = None,
    cookie_secure: bool = False,
    session_check_seconds: float = 30.0,
    crisis_marks: handoff_web.CrisisMarks | None = None,
) -> web.Application:
    app = web.Application()
    staff_web.setup(app, staff_web.StaffDeps(store=staff_store, tenants=tenants, policy=policy or fast_policy(), cookie_secure=cookie_secure))
    handoff_web.setup(
        app,
        handoff_web.HandoffWebDeps(handoff=deps, tenants=tenants, session_check_seconds=session_check_seconds, crisis_marks=crisis_marks),
    )
    return app


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def login(client: TestClient, tenant: str, username: str, password: str) -> str:
    """Log in through the real form; returns the session's CSRF token (from the console page)."""
    page = await client.get("/staff/login")
    token = _CSRF.search(await page.text()).group(1)
    resp = await client.post(
        "/staff/login",
        data={"csrf_token": token, "tenant": tenant, "username": username, "password": password, "next": "/console"},
        allow_redirects=False,
    )
    if resp.status != 303:
        raise AssertionError(f"login failed: {resp.status}")
    await complete_login(client, resp.headers["Location"], tenant, username)
    console = await client.get("/console", headers={"Accept": "text/html"})
    match = re.search(r'name="csrf-token" content="([^"]+)"', await console.text())
    return match.group(1) if match else ""  # roles without console access get no token here
