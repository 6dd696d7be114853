"""Ingestion adapters behind one port, ``NoticeSource``, and the APScheduler job factory.

* ``ImapSource`` — a mailbox subscribed to 安まちメール (the only channel Osaka police publish on). Standard
  library ``imaplib`` run in a worker thread (``asyncio.to_thread``): no extra dependency, and one poll is a few
  round-trips every few minutes. UID-based: it asks for mail without the ``$CivicbotDone`` keyword, fetches one
  message at a time (``BODY.PEEK`` — never marks \\Seen by itself; mail larger than ``max_bytes`` is fetched from
  its first bytes only), hands it over, and only then flags it ``$CivicbotDone \\Seen`` and moves it to
  ``processed_mailbox``. Each mail is handled once: the flag/move on the server, plus the store's ``seen`` key
  ``imap:<name>:<UIDVALIDITY>:<UID>`` for the window between handling and flagging.
* ``FeedSource`` — RSS/Atom through feedparser (pinned in pyproject), fetched with aiohttp (size cap, timeout)
  and parsed from bytes, so feedparser never touches the network. Entry ids go through ``seen``.

A source yields ``(key, RawNotice)`` pairs to a handler; ``poll_tenant`` wires sources to ``service.process``.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import hashlib
import imaplib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import feedparser

from alerts.notices.config import FeedSourceConfig, ImapSourceConfig, NoticesConfig
from alerts.notices.model import JST
from alerts.notices.parse import clean_header, html_to_text
from alerts.notices.service import NoticeDeps, RawNotice, process

log = logging.getLogger("civicbot.notices.ingest")
DONE_FLAG = "$CivicbotDone"
Handler = Callable[[str, RawNotice], Awaitable[bool]]  # returns True when the notice may be acknowledged


class SourceError(RuntimeError):
    """The source could not be read this time (network, login, feed); the next poll tries again."""


class NoticeSource(Protocol):
    name: str

    async def poll(self, handle: Handler) -> int:
        """Hand every new notice to ``handle``; acknowledge those it accepted. Returns how many were handed over."""
        ...


# --- IMAP -----------------------------------------------------------------------------------------------------
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSource:
    def __init__(self, config: ImapSourceConfig, *, batch: int = 50) -> None:
        self.config = config
        self.name = f"imap:{config.name}"
        self._batch = batch

    # blocking helpers (run in a thread) ------------------------------------------------------------------------
    def _connect(self) -> imaplib.IMAP4:
        c = self.config
        try:
            conn = imaplib.IMAP4_SSL(c.host, c.port, timeout=c.timeout_s) if c.ssl else imaplib.IMAP4(c.host, c.port, timeout=c.timeout_s)
            if c.starttls and not c.ssl:
                conn.starttls()
            conn.login(c.username, c.password.get_secret_value())
            typ, data = conn.select(_quote(c.mailbox))
            if typ != "OK":
                raise SourceError(f"cannot select {c.mailbox}: {data!r}")
            return conn
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(f"{self.name}: {exc}") from exc

    def _pending(self, conn: imaplib.IMAP4) -> tuple[str, list[bytes]]:
        typ, data = conn.status(_quote(self.config.mailbox), "(UIDVALIDITY)")
        m = _UIDVALIDITY.search(data[0] or b"") if typ == "OK" and data else None
        validity = m.group(1).decode() if m else "0"
        typ, data = conn.uid("SEARCH", None, "UNKEYWORD", DONE_FLAG)
        if typ != "OK":
            raise SourceError(f"{self.name}: UID SEARCH failed: {data!r}")
        uids = (data[0] or b"").split()
        return validity, sorted(uids, key=int)[: self._batch]

    def _fetch(self, conn: imaplib.IMAP4, uid: bytes) -> bytes | None:
        typ, data = conn.uid("FETCH", uid, "(RFC822.SIZE)")
        m = _SIZE.search(data[0] or b"") if typ == "OK" and data and data[0] else None
        if m is None:
            return None  # expunged meanwhile
        size = int(m.group(1))
        part = "BODY.PEEK[]" if size <= self.config.max_bytes else f"BODY.PEEK[]<0.{self.config.max_bytes}>"
        typ, data = conn.uid("FETCH", uid, f"({part})")
        if typ != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        return None

    def _ensure_mailbox(self, conn: imaplib.IMAP4) -> None:
        box = self.config.processed_mailbox
        if box:
            conn.create(_quote(box))  # NO when it exists: fine

    def _done(self, conn: imaplib.IMAP4, uid: bytes) -> None:
        conn.uid("STORE", uid, "+FLAGS.SILENT", f"({DONE_FLAG} \\Seen)")
        box = self.config.processed_mailbox
        if not box:
            return
        try:  # RFC 6851 MOVE (dovecot, most servers); imaplib does not re-read capabilities after login
            typ, _ = conn.uid("MOVE", uid, _quote(box))
            if typ == "OK":
                return
        except imaplib.IMAP4.error:
            pass
        typ, data = conn.uid("COPY", uid, _quote(box))
        if typ == "OK":
            conn.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
            conn.expunge()
        else:  # flagged already, so it is still processed once; the mailbox setting needs fixing
            log.warning("cannot move processed mail", extra={"source": self.name, "mailbox": box, "error": repr(data)})

    @staticmethod
    def _logout(conn: imaplib.IMAP4) -> None:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass

    # async port ---------------------------------------------------------------------------------------------
    async def poll(self, handle: Handler) -> int:
        conn = await asyncio.to_thread(self._connect)
        handed = 0
        try:
            validity, uids = await asyncio.to_thread(self._pending, conn)
            if uids:
                await asyncio.to_thread(self._ensure_mailbox, conn)
            for uid in uids:
                data = await asyncio.to_thread(self._fetch, conn, uid)
                if data is None:
                    continue
                raw = RawNotice(source=self.name, source_name=self.config.source_name, received_at=time.time(), data=data)
                handed += 1
                if await handle(f"{self.name}:{validity}:{uid.decode()}", raw):
                    await asyncio.to_thread(self._done, conn, uid)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(f"{self.name}: {exc}") from exc
        finally:
            await asyncio.to_thread(self._logout, conn)
        return handed


# --- RSS / Atom ------------------------------------------------------------------------------------------------
class FeedSource:
    def __init__(self, config: FeedSourceConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.name = f"rss:{config.name}"
        self._session = session

    async def _get(self) -> bytes:
        c = self.config
        try:
            async with self._session.get(c.url, timeout=aiohttp.ClientTimeout(total=c.timeout_s)) as resp:
                if resp.status != 200:
                    raise SourceError(f"{self.name}: HTTP {resp.status}")
                body = await resp.content.read(c.max_bytes + 1)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SourceError(f"{self.name}: {exc!r}") from exc
        if len(body) > c.max_bytes:
            raise SourceError(f"{self.name}: feed larger than {c.max_bytes} bytes")
        return body

    async def poll(self, handle: Handler) -> int:
        feed = feedparser.parse(await self._get())
        if not feed.entries and (feed.bozo or not feed.get("version")):
            raise SourceError(f"{self.name}: not a feed ({feed.get('bozo_exception')!r})")
        handed = 0
        for entry in feed.entries:
            body = _entry_text(entry)
            ident = entry.get("id") or entry.get("link") or hashlib.sha256((entry.get("title", "") + body).encode()).hexdigest()
            published = None
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            if stamp:
                published = dt.datetime.fromtimestamp(calendar.timegm(stamp), JST)
            raw = RawNotice(
                source=self.name, source_name=self.config.source_name, received_at=time.time(),
                subject=clean_header(entry.get("title", "")), body=body, published=published,
            )
            handed += 1
            await handle(f"{self.name}:{ident}", raw)
        return handed


def _entry_text(entry) -> str:  # noqa: ANN001 - feedparser's FeedParserDict
    parts = [c.get("value", "") for c in entry.get("content", [])] or [entry.get("summary", "")]
    out = []
    for p in parts:
        out.append(html_to_text(p) if "<" in p else p)
    return "\n".join(out)


# --- wiring ----------------------------------------------------------------------------------------------------
@dataclass
class PollReport:
    tenant: str
    handed: int = 0
    delivered: int = 0
    review: int = 0
    duplicate: int = 0
    errors: tuple[str, ...] = ()


def sources_for(config: NoticesConfig, session: aiohttp.ClientSession | None) -> list[NoticeSource]:
    out: list[NoticeSource] = [ImapSource(c) for c in config.imap]
    if session is not None:
        out += [FeedSource(c, session) for c in config.feeds]
    return out


async def poll_tenant(tenant: str, deps: NoticeDeps, sources: Iterable[NoticeSource]) -> PollReport:
    """Poll each source once. A failing source is logged and reported; the others still run."""
    report = PollReport(tenant)
    errors: list[str] = []

    async def handle(key: str, raw: RawNotice) -> bool:
        if await deps.store.seen(tenant, key):
            report.duplicate += 1
            return True  # processed before (crash before the ack): just acknowledge
        outcome = await process(tenant, raw, deps)
        await deps.store.mark_seen(tenant, key)
        if outcome.status == "delivered":
            report.delivered += 1
        elif outcome.status == "review":
            report.review += 1
        elif outcome.status == "duplicate":
            report.duplicate += 1
        return True

    for src in sources:
        try:
            report.handed += await src.poll(handle)
        except SourceError as exc:
            errors.append(str(exc))
            log.warning("notice source failed", extra={"tenant": tenant, "source": src.name, "error": str(exc)})
    report.errors = tuple(errors)
    return report


def schedule_jobs(
    scheduler,  # noqa: ANN001 - apscheduler.schedulers.asyncio.AsyncIOScheduler
    deps: NoticeDeps,
    tenants: Iterable[str] = (),
    *,
    session: aiohttp.ClientSession | None = None,
) -> list[str]:
    """One interval job per tenant with notice sources (``notices:<tenant>``, ``poll_seconds`` apart, never
    overlapping itself, first run now). ``tenants`` defaults to ``deps.tenant_ids``; ``session`` is the app's
    shared aiohttp session for feeds (without one, each run opens its own). Returns the job ids."""
    ids = []
    for tenant in tenants or deps.tenant_ids:
        cfg = deps.config(tenant)
        if not cfg.enabled or not (cfg.imap or cfg.feeds):
            continue
        job_id = f"notices:{tenant}"

        async def run(t: str = tenant) -> PollReport:
            cfg_now = deps.config(t)  # re-read: the tenants file may have changed since scheduling
            if session is not None or not cfg_now.feeds:
                return await poll_tenant(t, deps, sources_for(cfg_now, session))
            async with aiohttp.ClientSession() as own:  # no app session given: one per run (every few minutes)
                return await poll_tenant(t, deps, sources_for(cfg_now, own))

        scheduler.add_job(
            run, "interval", seconds=cfg.poll_seconds, id=job_id, replace_existing=True, max_instances=1,
            coalesce=True, next_run_time=dt.datetime.now(dt.UTC),
        )
        ids.append(job_id)
    return ids
