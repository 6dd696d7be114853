"""Polling JMA's 防災情報XML Atom feeds, politely: conditional GETs, each telegram fetched once.

Every ``interval_s`` (60 s by default) the poller asks for the high-frequency feeds (extra.xml, eqvol.xml)
with If-None-Match/If-Modified-Since; a 304 costs nothing. New entries (by Atom entry id, remembered in a
``SeenStore`` for a week) whose type civicbot acts on — and, for regional telegrams, whose office covers the
configured prefecture — are fetched once, parsed and handed to ``alerts.service.process_telegram``. On start
the long feeds (``*_l.xml``) are read once to fill the gap while the process was down; entries older than
``max_entry_age_s`` (1 h) are marked seen without being fetched, so a first start or a long outage never pushes
yesterday's warnings.

Failures never lose a telegram: a feed that is down, answers 5xx or is malformed is retried next cycle; a
telegram that cannot be fetched or processed is not marked seen, so it is retried; a telegram that is not
readable at all (malformed/hostile) is logged with its id and marked seen (re-fetching would not fix it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import aiohttp
import defusedxml
from defusedxml import ElementTree as DET

from alerts.jma.parser import TelegramError, parse_telegram
from alerts.service import AlertDeps, TelegramArchive, process_telegram
from bot.redis_client import RedisClient

log = logging.getLogger("civicbot.alerts.feeds")

JMA_FEED_BASE = "https://www.data.jma.go.jp/developer/xml/feed/"
ATOM = "{http://www.w3.org/2005/Atom}"
NATIONAL_TYPES = {"VXSE51", "VXSE52", "VXSE53", "VTSE41", "VTSE51"}  # issued by 気象庁 for the whole country
REGIONAL_TYPES = {"VPWW53", "VPWW54", "VPWW55", "VPWW56", "VPWW57", "VPWW58", "VPWW59", "VPWW60", "VPWW61", "VXWW50", "VPOA50"}
_ENTRY_TYPE = re.compile(r"_(V[A-Z]{3}\d\d)_(\d+)\.xml$")
SEEN_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class FeedConfig:
    base_url: str = JMA_FEED_BASE  # tests and the demo point this at the local mock feed server
    feeds: tuple[str, ...] = ("extra.xml", "eqvol.xml")
    long_feeds: tuple[str, ...] = ("extra_l.xml", "eqvol_l.xml")
    interval_s: float = 60.0
    area_prefix: str = "27"  # regional telegrams: only offices whose area code starts with this (大阪府 270000)
    timeout_s: float = 15.0
    user_agent: str = "civicbot (Osaka municipalities LINE alerts)"
    max_telegram_bytes: int = 8 * 1024 * 1024
    max_feed_bytes: int = 32 * 1024 * 1024  # the long feeds are a few MB
    max_entry_age_s: float = 3600.0  # older entries (first start, long outage) are marked seen, never pushed late
    # telegram links come from the feed: only these origins (plus the feed's own) are fetched, never redirected
    telegram_origins: tuple[str, ...] = ("https://www.data.jma.go.jp",)

    def telegram_host_allowed(self, url: str) -> bool:
        def origin(u: str) -> tuple[str, str]:
            parts = urlsplit(u)
            return parts.scheme, parts.netloc.lower()

        target = origin(url)
        return target[0] in ("http", "https") and target in {origin(o) for o in (*self.telegram_origins, self.base_url)}


@dataclass(frozen=True)
class FeedEntry:
    id: str
    url: str
    type: str
    area_code: str
    updated: str
    title: str


class SeenStore(Protocol):
    async def seen(self, entry_ids: list[str]) -> list[bool]: ...
    async def mark(self, entry_id: str) -> None: ...


class MemorySeenStore:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def seen(self, entry_ids: list[str]) -> list[bool]:
        return [i in self.ids for i in entry_ids]

    async def mark(self, entry_id: str) -> None:
        self.ids.add(entry_id)


class RedisSeenStore:
    """Sorted set ``cb:{jma}:alerts:feed:seen`` (entry id → time seen), trimmed to a week."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._key = "cb:{jma}:alerts:feed:seen"

    async def seen(self, entry_ids: list[str]) -> list[bool]:
        if not entry_ids:
            return []
        scores = await self._r.zmscore(self._key, entry_ids)
        return [s is not None for s in scores]

    async def mark(self, entry_id: str) -> None:
        now = time.time()
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.zadd(self._key, {entry_id: now}, nx=True)
            pipe.zremrangebyscore(self._key, "-inf", now - SEEN_TTL)
            await pipe.execute()


def parse_feed(data: bytes) -> list[FeedEntry]:
    """Entries of a JMA Atom feed, oldest first. Raises ``TelegramError`` on malformed/hostile XML."""
    try:
        root = DET.fromstring(data, forbid_dtd=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as exc:
        raise TelegramError(f"refused hostile feed: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise TelegramError(f"malformed feed: {exc}") from exc
    if root.tag != f"{ATOM}feed":
        raise TelegramError(f"not an Atom feed ({root.tag})")
    out = []
    for e in root.findall(f"{ATOM}entry"):
        eid = (e.findtext(f"{ATOM}id") or "").strip()
        link = e.find(f"{ATOM}link")
        url = (link.get("href") if link is not None else None) or eid
        m = _ENTRY_TYPE.search(url)
        out.append(
            FeedEntry(
                id=eid or url, url=url, type=m.group(1) if m else "", area_code=m.group(2) if m else "",
                updated=(e.findtext(f"{ATOM}updated") or "").strip(), title=(e.findtext(f"{ATOM}title") or "").strip(),
            )
        )
    out.sort(key=lambda x: x.updated)
    return out


@dataclass
class PollStats:
    feeds_ok: int = 0
    not_modified: int = 0
    feed_errors: int = 0
    new_entries: int = 0
    fetched: int = 0
    skipped: int = 0
    telegram_errors: int = 0
    jobs: int = 0


TelegramHandler = Callable[[bytes, FeedEntry], Awaitable[int]]


class JmaFeedPoller:
    """One poller per process (the scheduler runs it). ``handle`` gets the bytes of each new telegram and
    returns the number of jobs it created; raising means "try again next cycle"."""

    def __init__(
        self,
        config: FeedConfig,
        seen: SeenStore,
        handle: TelegramHandler,
        clock: Callable[[], float] = time.time,
        archive: TelegramArchive | None = None,  # unreadable telegrams are kept here for staff (nothing lost)
    ) -> None:
        self.config = config
        self._clock = clock
        self._archive = archive
        self._seen = seen
        self._handle = handle
        self._validators: dict[str, dict[str, str]] = {}  # url → {"ETag"/"Last-Modified": value}
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_s), headers={"User-Agent": self.config.user_agent}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def wanted(self, entry: FeedEntry) -> bool:
        if entry.type in NATIONAL_TYPES:
            return True
        return entry.type in REGIONAL_TYPES and entry.area_code.startswith(self.config.area_prefix)

    async def poll_once(self, *, long: bool = False) -> PollStats:
        """One cycle over the (long or high-frequency) feeds. Never raises: everything is logged and retried."""
        stats = PollStats()
        async with self._lock:  # a slow cycle and the next tick never overlap
            for name in self.config.long_feeds if long else self.config.feeds:
                try:
                    entries = await self._fetch_feed(self.config.base_url + name, stats)
                except Exception as exc:  # noqa: BLE001 - a broken feed must not stop the others
                    stats.feed_errors += 1
                    log.warning("jma feed failed", extra={"feed": name, "error": repr(exc)})
                    continue
                if entries:
                    await self._process_entries(entries, stats)
        return stats

    async def _fetch_feed(self, url: str, stats: PollStats) -> list[FeedEntry]:
        session = await self._http()
        headers = {}
        v = self._validators.get(url, {})
        if "ETag" in v:
            headers["If-None-Match"] = v["ETag"]
        if "Last-Modified" in v:
            headers["If-Modified-Since"] = v["Last-Modified"]
        async with session.get(url, headers=headers) as resp:
            if resp.status == 304:
                stats.not_modified += 1
                return []
            if resp.status != 200:
                raise aiohttp.ClientResponseError(resp.request_info, resp.history, status=resp.status, message="feed")
            data = await resp.content.read(self.config.max_feed_bytes + 1)
            if len(data) > self.config.max_feed_bytes:
                raise TelegramError(f"feed larger than {self.config.max_feed_bytes} bytes")
            entries = parse_feed(data)  # raises before the validators are stored: a broken body is re-fetched
            self._validators[url] = {k: resp.headers[k] for k in ("ETag", "Last-Modified") if k in resp.headers}
        stats.feeds_ok += 1
        return entries

    async def _process_entries(self, entries: list[FeedEntry], stats: PollStats) -> None:
        flags = await self._seen.seen([e.id for e in entries])
        for entry, seen in zip(entries, flags):
            if seen:
                continue
            stats.new_entries += 1
            if not self.wanted(entry) or self._too_old(entry):
                stats.skipped += 1
                await self._seen.mark(entry.id)
                continue
            if not self.config.telegram_host_allowed(entry.url):
                stats.telegram_errors += 1
                log.error("jma telegram link refused (host not allowed)", extra={"entry": entry.id, "url": entry.url[:200]})
                await self._seen.mark(entry.id)
                continue
            try:
                data = await self._fetch_telegram(entry.url)
            except TelegramError as exc:  # too large: fetching again would not help
                stats.telegram_errors += 1
                log.error("jma telegram refused", extra={"entry": entry.id, "error": str(exc)})
                await self._seen.mark(entry.id)
                continue
            except Exception as exc:  # noqa: BLE001 - retried next cycle (not marked seen)
                log.warning("jma telegram fetch failed", extra={"entry": entry.id, "error": repr(exc)})
                continue
            stats.fetched += 1
            try:
                stats.jobs += await self._handle(data, entry)
            except TelegramError as exc:
                stats.telegram_errors += 1
                log.error("jma telegram unreadable", extra={"entry": entry.id, "error": str(exc)})
                if self._archive is not None:
                    await self._archive.record("rejected", {"entry": entry.id, "type": entry.type, "error": str(exc)}, data)
            except Exception as exc:  # noqa: BLE001 - processing failed: keep it unseen, retry next cycle
                log.exception("jma telegram processing failed", extra={"entry": entry.id, "error": repr(exc)})
                continue
            await self._seen.mark(entry.id)

    def _too_old(self, entry: FeedEntry) -> bool:
        try:
            updated = dt.datetime.fromisoformat(entry.updated.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return False
        return self._clock() - updated > self.config.max_entry_age_s

    async def _fetch_telegram(self, url: str) -> bytes:
        session = await self._http()
        async with session.get(url, allow_redirects=False) as resp:  # a redirect could leave the allowed hosts
            if resp.status != 200:
                raise aiohttp.ClientResponseError(resp.request_info, resp.history, status=resp.status, message="telegram")
            if (resp.content_length or 0) > self.config.max_telegram_bytes:
                raise TelegramError("telegram too large")
            data = await resp.content.read(self.config.max_telegram_bytes + 1)
            if len(data) > self.config.max_telegram_bytes:
                raise TelegramError(f"telegram larger than {self.config.max_telegram_bytes} bytes")
            return data


def telegram_handler(deps: AlertDeps) -> TelegramHandler:
    """Parse + process: the poller's handler for production and the demo."""

    async def handle(data: bytes, entry: FeedEntry) -> int:
        tg = parse_telegram(data, name=entry.url)
        jobs = await process_telegram(tg, deps)
        return len(jobs)

    return handle


@dataclass
class FeedDeps:
    """What ``schedule_jobs`` needs: the alert pipeline, the seen-set and the feed settings."""

    alerts: AlertDeps
    seen: SeenStore
    config: FeedConfig = field(default_factory=FeedConfig)
    archive: TelegramArchive | None = None
    poller: JmaFeedPoller | None = None  # created by schedule_jobs; close it on shutdown

    def make_poller(self) -> JmaFeedPoller:
        if self.poller is None:
            self.poller = JmaFeedPoller(self.config, self.seen, telegram_handler(self.alerts), archive=self.archive)
        return self.poller


def schedule_jobs(scheduler: Any, deps: FeedDeps) -> JmaFeedPoller:
    """Register the JMA jobs on an APScheduler ``AsyncIOScheduler``: the long feeds once at start (gap fill),
    then the high-frequency feeds every ``config.interval_s`` seconds (never overlapping, missed runs coalesced).
    Returns the poller so the caller can ``await poller.close()`` on shutdown."""
    poller = deps.make_poller()
    now = dt.datetime.now(dt.UTC)
    scheduler.add_job(poller.poll_once, "date", run_date=now, kwargs={"long": True}, id="jma-feed-gapfill",
                      replace_existing=True, misfire_grace_time=300)
    scheduler.add_job(poller.poll_once, "interval", seconds=deps.config.interval_s, id="jma-feed-poll",
                      next_run_time=now + dt.timedelta(seconds=5), max_instances=1, coalesce=True,
                      replace_existing=True, misfire_grace_time=int(deps.config.interval_s))
    return poller
