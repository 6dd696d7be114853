"""The standing security suite runs against the real composed web app (``create_web_app``: every room's routes, the
staff shell, the webhook) served on a free port from a thread of its own, so plain blocking HTTP clients (requests,
schemathesis) can drive it. Staff of every role at two tenants have live sessions made directly in the store (login
itself is tested in tests/unit/staff); the tenant ``demo`` owns one object of each kind the routes take an id of.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import requests
from aiohttp import web

from app.web import CONTAINER, create_web_app
from bot.config import Settings
from staff.model import ROLES
from staff.service import fast_policy, new_session
from staff.store import RedisStaffStore
from tests.system import free_port

TENANTS = ("demo", "suita")  # own (where the objects are) and other
OWN, OTHER = TENANTS
PASSWORD = "security suite passphrase"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# keys whose change on a rejected request is expected: audit entries, login gates/counters, session touches, KPIs
MARKERS = ("SEC-相談-目印", "SEC-ごみの日は？", "SEC-月曜です", "SEC-承認待ちのお知らせ")  # texts of demo's objects
VOLATILE = (":staff:audit", ":staff:gate:", ":staff:fail:", ":staff:session:", ":kpi:", "{ops}")


@dataclass
class Staff:
    tenant: str
    role: str
    username: str
    cookie: str
    csrf: str


@dataclass
class LiveWeb:
    base: str
    loop: asyncio.AbstractEventLoop
    app: web.Application
    redis_url: str
    staff: dict[tuple[str, str], Staff] = field(default_factory=dict)  # (tenant, role) -> signed-in staff
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> an id of demo's object

    def run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def session(self, tenant: str | None = None, role: str | None = None) -> requests.Session:
        s = requests.Session()
        if tenant and role:
            member = self.staff[(tenant, role)]
            s.cookies.set("cb_staff", member.cookie, domain="127.0.0.1", path="/")
            s.headers["X-CSRF-Token"] = member.csrf
        return s

    def snapshot(self) -> dict[str, bytes]:
        """Every durable key and its DUMP, except the ones a rejected request may legitimately touch."""

        async def dump() -> dict[str, bytes]:
            client = aioredis.Redis.from_url(self.redis_url)
            try:
                keys = sorted(k for k in [k async for k in client.scan_iter(count=1000)] if not any(v in k.decode() for v in VOLATILE))
                async with client.pipeline(transaction=False) as pipe:
                    for k in keys:
                        pipe.pttl(k)
                        pipe.dump(k)
                    replies = await pipe.execute()
                # keys about to expire on their own (typing indicators, short locks) are not "stored data"
                return {
                    k.decode(): value
                    for k, ttl, value in zip(keys, replies[0::2], replies[1::2], strict=True)
                    if value is not None and not 0 <= ttl < 120_000
                }
            finally:
                await client.aclose()

        return self.run(dump())


async def _seed(live: LiveWeb) -> None:
    container = live.app[CONTAINER]
    store = RedisStaffStore(container.redis)
    hasher = fast_policy().hasher.hash(PASSWORD)
    from staff.model import StaffAccount

    now = time.time()
    for tenant in TENANTS:
        for role in ROLES:
            username = f"{role}1"
            account = StaffAccount(tenant=tenant, username=username, role=role, password_hash=hasher,
                                   totp_secret=SECRET if role in ("supervisor", "admin") else "")
            await store.save_account(account)
            session = new_session(account, now)
            session.id, session.csrf = f"sid-{tenant}-{role}", f"csrf-{tenant}-{role}"
            await store.save_session(session, 12 * 3600)
            live.staff[(tenant, role)] = Staff(tenant, role, username, f"{tenant}.{session.id}", session.csrf)
    # one object of each kind, at the tenant "demo"
    import handoff
    from broadcasts.composer import Draft, RedisDraftStore
    from faq.models import FaqEntry

    hd = container.handoff
    conv = await handoff.request_handoff(hd, container.tenants[OWN], "U" + "5" * 32, summary=MARKERS[0])
    live.ids["cid"] = conv.conversation_id
    entry = await container.ports.faq_store.put(FaqEntry(tenant=OWN, id="sec-1", question=MARKERS[1], answer=MARKERS[2]), "seed")
    live.ids["id"] = entry.id
    draft = Draft(id="secdraft0001", tenant=OWN, text=MARKERS[3], created_by="editor1", created_at=now, all_friends=True,
                  state="awaiting_approval")
    await RedisDraftStore(container.redis).save(draft)
    live.ids["draft_id"] = draft.id
    live.ids["job_id"] = f"{OWN}.nojob"
    live.ids["item_id"] = "noitem"
    live.ids["action"] = "note"


@pytest.fixture(scope="session")
def live_web(redis_url, tmp_path_factory) -> Iterator[LiveWeb]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="security-suite-web", daemon=True)
    thread.start()
    port = free_port()
    settings = Settings(demo=True, jma_poll_seconds=0, data_dir=Path(tmp_path_factory.mktemp("secweb")), web_port=port,
                        nlu_url="http://127.0.0.1:9", line_api_url="http://127.0.0.1:9")

    async def start() -> tuple[web.Application, web.AppRunner]:
        app = create_web_app(settings, redis_url)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return app, runner

    app, runner = asyncio.run_coroutine_threadsafe(start(), loop).result(120)
    live = LiveWeb(base=f"http://127.0.0.1:{port}", loop=loop, app=app, redis_url=redis_url)
    try:
        yield live
    finally:
        with contextlib.suppress(Exception):
            live.run(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="module")
def live(live_web: LiveWeb) -> LiveWeb:
    """The live app with staff and objects (re-)seeded: other modules' ``redis`` fixture flushes the database."""
    live_web.run(_seed(live_web))
    return live_web
