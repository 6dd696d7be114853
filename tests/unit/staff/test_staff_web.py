"""Login pages, cookies, CSRF and require_role through real HTTP (aiohttp test server, in-memory store)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Tenant
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.testing import code_for
from staff.web import SESSION, STAFF_DEPS, StaffDeps, require_role, setup
from tests.helpers import ManualClock, csrf_token

PW = "correct horse battery"
TENANTS = {t: Tenant(id=t, display_name=n, lg_code=c) for t, n, c in [("demo", "デモ市", "271004"), ("suita", "吹田市", "272051")]}


@require_role("supervisor", "counsellor")
async def tenant_page(request: web.Request) -> web.Response:
    return web.json_response({"tenant": request[SESSION].tenant})


@require_role("supervisor")
async def post_thing(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@pytest.fixture
async def env():
    store = MemoryStaffStore()
    clock = ManualClock()
    policy = fast_policy(clock=clock)
    await add_staff(store, "demo", "sam", "supervisor", PW, hasher=policy.hasher)
    await add_staff(store, "demo", "carl", "counsellor", PW, hasher=policy.hasher)
    await add_staff(store, "suita", "sue", "supervisor", PW, hasher=policy.hasher)
    await _enrol(store, "demo", "sam")
    await _enrol(store, "suita", "sue")
    app = web.Application()
    setup(app, StaffDeps(store=store, tenants=TENANTS, policy=policy, cookie_secure=False))
    app.router.add_get("/t/{tenant}/page", tenant_page)
    app.router.add_post("/t/{tenant}/thing", post_thing)
    async with TestClient(TestServer(app)) as client:
        yield client, store, clock


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # supervisors have enrolled TOTP (required for their role)


async def _enrol(store, tenant, user):
    acc = await store.get_account(tenant, user)
    acc.totp_secret = SECRET
    await store.save_account(acc)


async def _login(client, tenant, user, password=PW, *, with_csrf=True, next_path=None):
    """The login form, then the TOTP code when the account has one: the response that ends the login."""
    page = await client.get("/staff/login")
    token = csrf_token(await page.text())
    data = {"tenant": tenant, "username": user, "password": password, "next": next_path or "/t/%s/page" % tenant}
    if with_csrf:
        data["csrf_token"] = token
    resp = await client.post("/staff/login", data=data, allow_redirects=False)
    if resp.status == 303 and resp.headers["Location"] == "/staff/mfa":
        mfa_page = await (await client.get("/staff/mfa")).text()
        now = client.app[STAFF_DEPS].policy.clock()
        resp = await client.post("/staff/mfa", data={"csrf_token": csrf_token(mfa_page), "code": code_for(SECRET, now)}, allow_redirects=False)
    return resp


def _session_csrf(store, client) -> str:
    raw = client.session.cookie_jar.filter_cookies(client.make_url("/"))["cb_staff"].value
    tenant, sid = raw.split(".", 1)
    return store._sessions[(tenant, sid)][0].csrf


async def test_login_page_is_japanese_and_escapes(env):
    client, _, _ = env
    resp = await client.get("/staff/login?next=%22%3E%3Cscript%3E")
    body = await resp.text()
    assert resp.status == 200 and "職員ログイン" in body and "<script>" not in body


async def test_login_sets_strict_httponly_cookie_and_redirects(env):
    client, _, _ = env
    resp = await _login(client, "demo", "sam")
    assert resp.status == 303 and resp.headers["Location"] == "/t/demo/page"
    cookie = resp.cookies["cb_staff"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert (await (await client.get("/t/demo/page")).json()) == {"tenant": "demo"}


async def test_session_cookie_is_secure_by_default():
    store = MemoryStaffStore()
    policy = fast_policy()
    await add_staff(store, "demo", "carl", "counsellor", PW, hasher=policy.hasher)
    app = web.Application()
    setup(app, StaffDeps(store=store, tenants=TENANTS, policy=policy))
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/staff/login")
        login_cookie = page.cookies["cb_login_csrf"]
        assert login_cookie["secure"]
        resp = await client.post(
            "/staff/login",
            data={"csrf_token": login_cookie.value, "tenant": "demo", "username": "carl", "password": PW},
            headers={"Cookie": f"cb_login_csrf={login_cookie.value}"},  # the client will not send Secure cookies over http
            allow_redirects=False,
        )
        assert resp.status == 303 and resp.cookies["cb_staff"]["secure"]


async def test_login_without_csrf_is_rejected(env):
    client, _, _ = env
    resp = await _login(client, "demo", "sam", with_csrf=False)
    assert resp.status == 403 and "cb_staff" not in resp.cookies


async def test_wrong_password_then_rate_limited(env):
    client, _, _ = env
    for _ in range(3):
        assert (await _login(client, "demo", "carl", "wrong wrong wrong")).status == 401
    resp = await _login(client, "demo", "carl")
    assert resp.status == 429 and "2秒ほど待って" in await resp.text() and resp.headers["Retry-After"] == "2"


async def test_open_redirect_is_refused(env):
    client, _, _ = env
    resp = await _login(client, "demo", "sam", next_path="//evil.example/")
    assert resp.headers["Location"] == "/console"


async def test_unauthenticated_html_redirects_and_api_gets_401(env):
    client, _, _ = env
    resp = await client.get("/t/demo/page", headers={"Accept": "text/html"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/staff/login?next=")
    assert (await client.get("/t/demo/page", headers={"Accept": "application/json"})).status == 401


async def test_other_tenant_url_is_forbidden(env):
    client, _, _ = env
    await _login(client, "demo", "sam")
    assert (await client.get("/t/suita/page")).status == 403


async def test_role_is_enforced(env):
    client, store, _ = env
    await _login(client, "demo", "carl")
    token = _session_csrf(store, client)
    assert (await client.post("/t/demo/thing", headers={"X-CSRF-Token": token})).status == 403


async def test_post_needs_the_session_csrf_token(env):
    client, store, _ = env
    await _login(client, "demo", "sam")
    assert (await client.post("/t/demo/thing")).status == 403
    assert (await client.post("/t/demo/thing", headers={"X-CSRF-Token": "guess"})).status == 403
    token = _session_csrf(store, client)
    assert (await client.post("/t/demo/thing", headers={"X-CSRF-Token": token})).status == 200
    assert (await client.post("/t/demo/thing", data={"csrf_token": token})).status == 200


async def test_logout_needs_csrf_and_ends_the_session(env):
    client, store, _ = env
    await _login(client, "demo", "sam")
    assert (await client.post("/staff/logout", allow_redirects=False)).status == 403
    token = _session_csrf(store, client)
    resp = await client.post("/staff/logout", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/t/demo/page")).status == 401
    assert (await store.audit_log("demo"))[0].action == "logout"


async def test_idle_session_is_logged_out(env):
    client, _, clock = env
    await _login(client, "demo", "sam")
    clock.now += 16 * 60
    assert (await client.get("/t/demo/page")).status == 401


async def test_audit_page_for_supervisors(env):
    client, _, _ = env
    await _login(client, "demo", "sam")
    body = await (await client.get("/staff/audit")).text()
    assert "監査ログ" in body and "login" in body


async def test_deps_can_be_bound_at_startup():
    """The composition root opens Redis in a cleanup_ctx, after routes are registered: bind() then."""
    from staff.web import bind

    store = MemoryStaffStore()
    policy = fast_policy()
    await add_staff(store, "demo", "sam", "supervisor", PW, hasher=policy.hasher)
    await _enrol(store, "demo", "sam")
    app = web.Application()
    setup(app)
    app.router.add_get("/t/{tenant}/page", tenant_page)

    async def ctx(app):
        bind(app, StaffDeps(store=store, tenants=TENANTS, policy=policy, cookie_secure=False))
        yield

    app.cleanup_ctx.append(ctx)
    async with TestClient(TestServer(app)) as client:
        assert (await _login(client, "demo", "sam")).status == 303
        assert (await (await client.get("/t/demo/page")).json()) == {"tenant": "demo"}


async def test_background_requests_do_not_keep_a_session_alive(env):
    client, _, clock = env
    await _login(client, "demo", "sam")
    clock.now += 10 * 60
    assert (await client.get("/t/demo/page", headers={"X-Background": "1"})).status == 200  # still valid...
    clock.now += 6 * 60
    assert (await client.get("/t/demo/page")).status == 401  # ...but it did not count as activity


async def test_a_six_megabyte_username_is_refused_before_it_is_read(env):
    """Review finding 1: 6 MB login bodies were accepted and the username written to the audit stream."""
    client, store, _ = env
    page = await client.get("/staff/login")
    token = csrf_token(await page.text())
    resp = await client.post("/staff/login", data={"tenant": "demo", "username": "a" * (6 * 1024 * 1024), "password": "x" * 12,
                                                   "csrf_token": token})
    assert resp.status == 413
    assert all(len(e.actor) <= 40 for e in await store.audit_log("demo"))
    assert await store.audit_log("demo") == [] or all(e.action == "staff.add" for e in await store.audit_log("demo"))


async def test_a_pending_login_opens_no_page(env):
    """Password right, code not given: the session exists but no staff page or API accepts it."""
    client, _, _ = env
    page = await client.get("/staff/login")
    resp = await client.post("/staff/login", data={"tenant": "demo", "username": "sam", "password": PW, "csrf_token": csrf_token(await page.text()),
                                                   "next": "/t/demo/page"}, allow_redirects=False)
    assert resp.headers["Location"] == "/staff/mfa"
    assert (await client.get("/t/demo/page")).status == 401
    assert (await client.get("/t/demo/page", headers={"Accept": "text/html"}, allow_redirects=False)).headers["Location"] == "/staff/mfa"
    assert (await client.get("/staff/audit")).status == 401


async def test_password_change_page_ends_the_other_sessions(env):
    client, store, _ = env
    await _login(client, "demo", "carl")
    other = TestClient(client.server)
    await other.start_server()
    try:
        await _login(other, "demo", "carl")
        assert (await other.get("/t/demo/page")).status == 200
        token = _session_csrf(store, client)
        resp = await client.post("/staff/account/password", data={"csrf_token": token, "current": PW, "new": "another good passphrase",
                                                                   "again": "another good passphrase"})
        assert resp.status == 200 and "変更しました" in await resp.text()
        assert (await other.get("/t/demo/page")).status == 401  # the other browser is signed out
        assert (await client.get("/t/demo/page")).status == 200  # this one got a new session
    finally:
        await other.close()


def test_client_address_believes_x_forwarded_for_only_from_trusted_proxies():
    from aiohttp.test_utils import make_mocked_request

    deps = StaffDeps(store=MemoryStaffStore(), tenants=TENANTS, trusted_proxies=("10.0.0.0/8",))

    class Peer:
        def __init__(self, peer):
            self.peer = peer

        def get_extra_info(self, name, default=None):
            return (self.peer, 1234) if name == "peername" else default

    def client_of(peer, xff):
        r = make_mocked_request("POST", "/staff/login", headers={"X-Forwarded-For": xff}, transport=Peer(peer))
        return deps.client_address(r)

    assert client_of("10.1.2.3", "198.51.100.7, 10.0.0.9") == "198.51.100.7"  # through two of our proxies
    assert client_of("10.1.2.3", "203.0.113.66, 198.51.100.7") == "198.51.100.7"  # the left entry is the client's claim
    assert client_of("192.0.2.50", "198.51.100.7") == "192.0.2.50"  # not from a proxy: the header is ignored
    assert StaffDeps(store=MemoryStaffStore(), tenants=TENANTS).client_address(
        make_mocked_request("POST", "/", headers={"X-Forwarded-For": "1.2.3.4"}, transport=Peer("192.0.2.50"))) == "192.0.2.50"


async def test_a_browser_that_signed_in_keeps_its_own_gate(env):
    client, store, clock = env
    resp = await _login(client, "demo", "carl")
    assert resp.status == 303 and "cb_device" in resp.cookies and resp.cookies["cb_device"]["httponly"]
    attacker = TestClient(client.server)
    await attacker.start_server()
    try:
        for _ in range(3):
            await _login(attacker, "demo", "carl", "wrong wrong wrong")
        assert (await _login(attacker, "demo", "carl")).status == 429
        assert (await _login(client, "demo", "carl")).status == 303  # the owner's browser is not held up
    finally:
        await attacker.close()


async def test_first_login_of_an_admin_enrols_totp_with_a_qr_code_and_recovery_codes(env):
    import re

    client, store, clock = env
    await add_staff(store, "demo", "ada", "admin", PW, hasher=fast_policy().hasher)
    resp = await _login(client, "demo", "ada", next_path="/staff/audit")
    assert resp.headers["Location"] == "/staff/mfa/setup" and "cb_device" not in resp.cookies
    page = await (await client.get("/staff/mfa/setup")).text()
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    token = csrf_token(page)
    wrong = await client.post("/staff/mfa/setup", data={"csrf_token": token, "code": "123456"})
    assert wrong.status == 401 and (await store.get_account("demo", "ada")).totp_secret == ""
    done = await client.post("/staff/mfa/setup", data={"csrf_token": token, "code": code_for(secret, clock.now)})
    body = await done.text()
    assert done.status == 200 and len(re.findall(r"<li>[0-9a-f]{5}-[0-9a-f]{5}</li>", body)) == 10
    assert (await store.get_account("demo", "ada")).totp_secret == secret
    assert (await client.get("/staff/audit")).status == 200
