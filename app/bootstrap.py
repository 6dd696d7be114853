"""The composition root: the one place that builds clients and wires rooms together.

Every process (web, worker, scheduler, CLI) calls ``open_container``; nothing else creates clients. Tests build the
whole app on fakes by passing ``client=`` (a Redis, e.g. the embedded Valkey) and ``line=`` (a LINE gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import aiohttp

import handoff
from alerts.notices import NoticesRoom
from app.jobs import Closer, SchedulerJob, WorkerTask, register_jobs
from app.ports import Ports, build_ports
from app.reports import build_reports, reports_jobs
from bot.config import ConfigError, Settings, Tenant, load_tenants
from bot.inbox import RedisInbox
from bot.leases import RedisLeases
from bot.line import LineGateway, SdkLineGateway
from bot.redis_client import RedisClient, cluster_url
from bot.redis_client import connect as connect_redis
from bot.redis_server import embedded_redis
from bot.resp_channel import RespChannel
from bot.router import Dispatcher, Rooms, default_middlewares
from bot.users import RedisUserStore
from crisisreview import Assessor
from disaster import DisasterRoom, language_menu_middleware
from faq.chat import FaqDeps, FaqRoom
from faq.lang import JapaneseOnlyNlu
from garbage import GarbageRoom
from kpi.service import kpi_middleware
from nlu.breaker import CircuitBreaker
from nlu.crisis_layer import CrisisLayer
from nlu.crisis_reply import CrisisReplies
from nlu.fallback import FallbackNlu
from nlu.intents import CONSULTATION_ROUTES, FALLBACK_INTENT, FAQ_TOPICS, OUT_OF_SCOPE
from nlu.port import Parse as NluParse
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu
from nlu.risk import default_risk_assessor
from nlu.risk_context import RedisRiskContext
from reports import ReportsDeps, ReportsRoom

log = logging.getLogger("civicbot.bootstrap")


@dataclass
class Container:
    settings: Settings
    tenants: dict[str, Tenant]
    redis: RedisClient
    ports: Ports
    handoff: handoff.HandoffDeps
    inbox: RedisInbox
    leases: RedisLeases
    line: LineGateway
    rooms: Rooms
    dispatcher: Dispatcher
    nlu: ResilientNlu | None = None  # the chat worker's NLU (None in the web and scheduler processes)
    scheduler_jobs: list[SchedulerJob] = field(default_factory=list)
    worker_tasks: dict[str, WorkerTask] = field(default_factory=dict)
    _closers: list[Closer] = field(default_factory=list)

    @property
    def users(self) -> RedisUserStore:
        return self.ports.users


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[str]:
    """REDIS_URL (or REDIS_CLUSTER_NODES) when set; otherwise attach to (or start) the embedded server."""
    if settings.redis_cluster_nodes:
        yield cluster_url(settings.redis_cluster_nodes)
        return
    if settings.redis_url:
        yield settings.redis_url
        return
    with embedded_redis(settings.data_dir / "redis") as handle:
        if handle.owned:
            log.info("embedded Redis started", extra={"url": handle.url})
        yield handle.url


HANDOFF_POLICY_KEYS = {
    "show_display_name",
    "include_crisis_text",
    "minutes_per_case",
    "inactivity_minutes",
    "retention_days",
    "labels",
    "categories",
    "closing_message",
    "handback_message",
    "timeout_message",
}


def handoff_policy(tenant: Tenant) -> handoff.HandoffPolicy:
    """The tenant's `handoff:` block over the safe defaults of handoff.HandoffPolicy; unknown keys are an error."""
    raw = dict(tenant.handoff or {})
    unknown = set(raw) - HANDOFF_POLICY_KEYS
    if unknown:
        raise ConfigError(
            f"tenant {tenant.id}: unknown handoff settings {sorted(unknown)} (known: {sorted(HANDOFF_POLICY_KEYS)})"
        )
    for key in ("labels", "categories"):
        if key in raw:
            raw[key] = tuple(str(x) for x in raw[key])
    return dataclasses.replace(handoff.HandoffPolicy(), **raw)


async def build_nlu(settings: Settings, closers: list[Closer], client: RedisClient) -> tuple[ResilientNlu, CrisisLayer]:
    """The chat worker's NLU and crisis layer (the fallback classifier trains in ~5 s, the crisis detectors load in
    ~1 s; the web does not need either)."""
    session = aiohttp.ClientSession()
    closers.append(session.close)
    breaker = CircuitBreaker()
    rasa = RasaNlu(settings.nlu_url, session, timeout=settings.nlu_timeout_seconds, breaker=breaker)
    fallback = await asyncio.to_thread(FallbackNlu.from_yaml)
    nlu = ResilientNlu(rasa, fallback, breaker, deadline=settings.nlu_timeout_seconds + 0.2)
    assessor = await asyncio.to_thread(default_risk_assessor)
    return nlu, CrisisLayer(assessor, RedisRiskContext(client), CrisisReplies())


def crisis_assessor() -> Assessor:
    """The in-process crisis detector as crisisreview's ``Assessor`` (level / category / language): the detector that
    console marks record and ``civicbot triage audit`` measures."""
    return default_risk_assessor()


def crisis_flags(crisis: CrisisLayer | None) -> Callable[[str], bool]:
    """What the FAQ room asks before it answers or keeps a text: did the crisis layer flag it (crisis or concern)?
    The router's crisis middleware already answers those before any room; this keeps the FAQ safe on its own (a
    direct call, a future router order) until the router passes its verdict to the rooms."""
    if crisis is None:
        return lambda _text: False
    return lambda text: crisis.assess_text(text).level != "none"


def build_dispatcher(
    ports: Ports,
    hd: handoff.HandoffDeps,
    nlu: ResilientNlu | None,
    crisis: CrisisLayer | None,
    reports: ReportsDeps,
    line: LineGateway | None = None,
) -> Dispatcher:
    """Wire the feature rooms into the router; rooms get their ports here and nowhere else.

    Text goes to handoff first, then in include order: disaster, alerts, notices, garbage, FAQ (the FAQ takes what is
    left). The reports room holds multi-step conversations: while a resident writes a report it sees their events
    before all of them."""
    faq_room = FaqRoom(
        FaqDeps(
            index=ports.faq_index,
            store=ports.faq_store,
            topic_labels=FAQ_TOPICS,
            kpi=ports.kpi,
            unanswered=ports.faq_unanswered,
            flagged=crisis_flags(crisis),
        ),
        unsure_intents=frozenset({FALLBACK_INTENT, OUT_OF_SCOPE}),
    )
    # the Japanese NLU guesses wildly on other languages: those texts go to the rooms as "unsure"
    gated = JapaneseOnlyNlu(nlu, NluParse(FALLBACK_INTENT, 0.0)) if nlu is not None else None
    rooms = Rooms(nlu=gated, crisis=crisis, handoff=handoff.HandoffRoom(hd, consultation_routes=CONSULTATION_ROUTES))
    profile = line.profile if line is not None else None
    middlewares = [kpi_middleware(ports.kpi), *default_middlewares(profile)]
    middlewares.insert(
        3 if profile is not None else 2, language_menu_middleware(ports.disaster)
    )  # right after the resident (and language) is loaded
    dispatcher = Dispatcher(ports.users, rooms, middlewares=middlewares)
    dispatcher.include(DisasterRoom(ports.disaster))  # before alerts: a location shared to find a shelter is not a place
    dispatcher.include(ports.alerts.room)
    dispatcher.include(NoticesRoom(ports.notices))
    dispatcher.include_session(ReportsRoom(reports))
    dispatcher.include(GarbageRoom(ports.garbage_deps))
    dispatcher.include(faq_room)
    return dispatcher


@contextlib.asynccontextmanager
async def open_container(
    settings: Settings,
    redis_url: str,
    *,
    line: LineGateway | None = None,
    chat: bool = False,
    client: RedisClient | None = None,
    tenants: dict[str, Tenant] | None = None,
    ports: Ports | None = None,
) -> AsyncIterator[Container]:
    tenants = tenants if tenants is not None else load_tenants(settings.tenants_path(), demo=settings.demo)
    client = client if client is not None else connect_redis(redis_url)
    own_line: SdkLineGateway | None = None
    if line is None:
        line = own_line = SdkLineGateway(tenants, settings.line_api_url)
    gateway: LineGateway = line
    channel = RespChannel(redis_url) if redis_url.startswith("redis://") else None
    closers: list[Closer] = [channel.aclose] if channel is not None else []
    if ports is None:
        ports = await asyncio.to_thread(build_ports, settings, tenants, client)
    hd = handoff.HandoffDeps(
        store=handoff.RedisHandoffStore(client),
        bus=handoff.RedisHandoffBus(client),
        line=gateway,
        kpi=ports.kpi,
        policies={tid: handoff_policy(t) for tid, t in tenants.items()},
    )
    nlu, crisis = await build_nlu(settings, closers, client) if chat else (None, None)
    closers.append(ports.disaster.menus_api.aclose)
    reports = build_reports(settings, tenants, client, ports, closers, fetch_photos=chat)
    container = Container(
        settings=settings,
        tenants=tenants,
        redis=client,
        ports=ports,
        handoff=hd,
        inbox=RedisInbox(
            client,
            settings.inbox_shards,
            settings.dedup_ttl_seconds,
            channel=channel,
            wait_replicas=settings.redis_wait_replicas,
            wait_timeout_ms=settings.redis_wait_timeout_ms,
        ),
        leases=RedisLeases(client),
        line=gateway,
        rooms=(dispatcher := build_dispatcher(ports, hd, nlu, crisis, reports, gateway)).rooms,
        dispatcher=dispatcher,
        nlu=nlu,
        _closers=closers,
    )
    container.scheduler_jobs, container.worker_tasks = register_jobs(settings, tenants, client, ports, hd, closers)
    container.scheduler_jobs.append(reports_jobs(reports, list(tenants), settings.public_base_url or ""))
    try:
        yield container
    finally:
        for closer in reversed(closers):
            with contextlib.suppress(Exception):
                await closer()
        if own_line is not None:
            await own_line.aclose()
        await client.aclose()
