"""Authorization matrix generated from the route table: every staff route × every role (and no login) × own/other
tenant. A route added without ``require_role`` (and not on the short list of pre-login pages) fails here.

Own tenant = ``demo``, which owns the object each ``{id}`` in a path points at; other tenant = ``suita``, whose staff
must neither see nor change it (403 or 404, and the database unchanged).
"""

from __future__ import annotations

import itertools
import re

import pytest

from staff.model import ROLES
from staff.shell import NAV, is_staff_path
from tests.security.conftest import MARKERS, OTHER, OWN, LiveWeb

# staff-path routes that are deliberately reachable before login (they run their own checks)
PRE_LOGIN = {"/staff/login", "/staff/logout", "/staff/mfa", "/staff/mfa/setup", "/staff/api/openapi.json"}
STATIC = ("/console/static", "/admin/broadcasts/static")
_PARAM = re.compile(r"\{([a-z_]+)\}")
SAMPLES = ("R1", "0" * 32, "csv", "1", "x")  # for a path parameter with a pattern the seeded id does not match
PATTERNS: dict[str, re.Pattern] = {}  # route path -> the router's regular expression for it


def staff_routes(app) -> list[tuple[str, str, tuple[str, ...] | None]]:
    out = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or not is_staff_path(path) or path.startswith(STATIC):
            continue
        out.append((route.method, path, getattr(route.handler, "staff_roles", None)))
        pattern = route.resource.get_info().get("pattern") if route.resource else None
        if pattern is not None:
            PATTERNS[path] = pattern
    return out


def fill_params(live: LiveWeb, path: str, chosen: dict[str, str] | None = None) -> str:
    """The path with the seeded ids (or ``chosen`` values); where the route's pattern refuses them (``{id:R\\d+}``),
    the first sample values it accepts, so the request reaches the handler instead of the router's 404."""
    names = _PARAM.findall(path)
    values = {n: (chosen or {}).get(n, live.ids.get(n, "x")) for n in names}
    pattern = PATTERNS.get(path)
    if pattern is not None and not pattern.fullmatch(_PARAM.sub(lambda m: values[m.group(1)], path)):
        for combo in itertools.product(SAMPLES, repeat=len(names)):
            candidate = dict(zip(names, combo, strict=True))
            if pattern.fullmatch(_PARAM.sub(lambda m, c=candidate: c[m.group(1)], path)):
                values = candidate
                break
    return _PARAM.sub(lambda m: values[m.group(1)], path)


def _url(live: LiveWeb, path: str) -> str:
    return live.base + fill_params(live, path)


def test_every_staff_route_is_behind_require_role_or_a_known_pre_login_page(live):
    unguarded = [(m, p) for m, p, roles in staff_routes(live.app) if roles is None and p not in PRE_LOGIN]
    assert unguarded == []
    assert len(staff_routes(live.app)) > 30  # the table really is the whole app's


def test_navigation_offers_exactly_the_pages_a_role_may_open(live):
    roles_of = {p: roles for m, p, roles in staff_routes(live.app) if m == "GET"}
    for item in NAV:
        assert set(item.roles) == set(roles_of[item.path]), item.path


def _cases(app_routes):
    for method, path, roles in app_routes:
        if roles is None:
            continue
        for role in (None, *ROLES):
            for tenant in (OWN, OTHER):
                if role is None and tenant == OTHER:
                    continue
                yield pytest.param((method, path, roles, role, tenant), id=f"{method} {path} {role or 'anonymous'}@{tenant}")


def pytest_generate_tests(metafunc):
    if "route_case" in metafunc.fixturenames:
        # the route table without starting the app: the same create_web_app routes, read once by the live fixture
        metafunc.parametrize("route_case", list(_cases(_ROUTES)))


def _route_table() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """The route table of the composed app, built without starting it (routes are registered at build time)."""
    from pathlib import Path

    from app.web import create_web_app
    from bot.config import Settings

    app = create_web_app(Settings(demo=True, jma_poll_seconds=0, data_dir=Path("/nonexistent")), "redis://127.0.0.1:9/0")
    return staff_routes(app)


_ROUTES = _route_table()


def test_route_matrix(live, route_case):
    method, path, roles, role, tenant = route_case
    client = live.session(tenant, role)
    url = _url(live, path)
    before = live.snapshot() if method == "POST" else None
    kwargs = {"json": {}} if "/api/" in path else {"data": {"csrf_token": client.headers.get("X-CSRF-Token", "")}}
    resp = client.request(method, url, allow_redirects=False, timeout=30, headers={"Accept": "application/json"}, **kwargs)
    assert resp.status_code < 500, resp.text[:300]
    if role is None:
        assert resp.status_code == 401
    elif role not in roles:
        assert resp.status_code == 403
    elif tenant == OTHER and _PARAM.search(path):
        # another tenant's object: not found, refused or an empty page — never shown (and, below, never changed)
        assert resp.status_code in (200, 303, 400, 403, 404, 409), (resp.status_code, resp.text[:200])
        assert not [m for m in MARKERS if m in resp.text]
    else:
        assert resp.status_code not in (401,), resp.text[:200]
    if before is not None and (role is None or role not in roles or tenant == OTHER and _PARAM.search(path)):
        assert live.snapshot() == before, "a refused request changed stored data"
    assert resp.headers.get("Cache-Control") == "no-store" and "frame-ancestors 'none'" in resp.headers.get("Content-Security-Policy", "")
