"""Test support: finish a staff login's second factor the way a person with an authenticator app would.

Supervisors and admins must enrol TOTP at their first login; tests that sign in as them go through the real pages
(``/staff/mfa/setup``, ``/staff/mfa``) with this helper instead of switching MFA off. Not used by the product.
"""

from __future__ import annotations

import html
import re
import time

import pyotp

from staff.web import STAFF_DEPS

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEXT = re.compile(r'<a href="([^"]+)">続ける</a>')

SECRETS: dict[tuple[str, str], str] = {}  # (tenant, username) -> secret enrolled through complete_login


def code_for(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(time.time() if at is None else at)


def _clock(client) -> float:
    """The server's clock when the test client runs the app in process (tests often use a ManualClock)."""
    app = getattr(client, "app", None)
    deps = app.get(STAFF_DEPS) if app is not None else None
    return deps.policy.clock() if deps is not None else time.time()


async def complete_login(client, location: str, tenant: str, username: str, *, base: str = "") -> str:
    """After ``POST /staff/login`` answered 303 to ``location``: enrol or give a code when asked; returns where the
    browser lands (the original ``next``). ``client``: an aiohttp TestClient, or a ClientSession with ``base`` URL."""
    if location.startswith("/staff/mfa/setup"):
        page = await (await client.get(base + location)).text()
        secret, token = _SECRET.search(page).group(1), _CSRF.search(page).group(1)
        resp = await client.post(base + location, data={"csrf_token": token, "code": code_for(secret, _clock(client))}, allow_redirects=False)
        if resp.status != 200:
            raise AssertionError(f"MFA enrolment failed: {resp.status}")
        SECRETS[(tenant, username)] = secret
        return html.unescape(_NEXT.search(await resp.text()).group(1))
    if location.startswith("/staff/mfa"):
        page = await (await client.get(base + location)).text()
        token = _CSRF.search(page).group(1)
        secret = SECRETS[(tenant, username)]
        # a fresh time step: the enrolment (or the last login) may have used the current one
        now = _clock(client)
        for at in (now, now + 30):
            resp = await client.post(base + location, data={"csrf_token": token, "code": code_for(secret, at)}, allow_redirects=False)
            if resp.status == 303:
                return resp.headers["Location"]
        raise AssertionError(f"MFA code refused: {resp.status}")
    return location
