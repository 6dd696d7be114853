"""A local stand-in for JMA's feed server (demo and tests): Atom feeds + telegrams, ETag/Last-Modified/304.

``make_app(feed)`` serves ``/developer/xml/feed/<name>.xml`` and ``/developer/xml/data/<file>``; telegrams are
added with ``MockFeed.publish`` (in process) or ``POST /publish?type=VPWW55&area=270000`` with the XML as body
(what ``civicbot demo-alert`` does). ``feed.requests`` records every request so tests can check that each
telegram was fetched once; ``feed.fail_next`` makes the next feed requests answer an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

from alerts.jma.parser import TelegramError, parse_telegram

FEED_PATH = "/developer/xml/feed/"
DATA_PATH = "/developer/xml/data/"
NATIONAL = ("VXSE", "VTSE")


@dataclass
class _Entry:
    file: str
    type: str
    title: str
    author: str
    updated: dt.datetime
    body: bytes


@dataclass
class MockFeed:
    base_url: str = "http://127.0.0.1"  # set to the server's address once bound (links in entries)
    entries: list[_Entry] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer on the next feed requests
    malformed_next: int = 0
    last_modified: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    _seq: int = 0

    def publish(self, body: bytes, ttype: str | None = None, area: str = "270000", title: str | None = None,
                author: str = "大阪管区気象台", duplicate_of: str | None = None) -> str:
        """Add a telegram; returns its entry id (URL). ``duplicate_of`` re-lists an existing entry id."""
        if duplicate_of is not None:
            src = next(e for e in self.entries if self.url(e.file) == duplicate_of)
            self.entries.append(src)
            self._touch()
            return duplicate_of
        if ttype is None or title is None:
            try:
                tg = parse_telegram(body)
                ttype = ttype or tg.type
                title = title or tg.title
            except TelegramError:
                ttype, title = ttype or "VZZZ00", title or "unknown"
        self._seq += 1
        now = max(dt.datetime.now(dt.UTC), self.last_modified + dt.timedelta(seconds=1))
        file = f"{now:%Y%m%d%H%M%S}_{self._seq}_{ttype}_{'010000' if ttype.startswith(NATIONAL) else area}.xml"
        self.entries.append(_Entry(file, ttype, title, "気象庁" if ttype.startswith(NATIONAL) else author, now, body))
        self._touch(now)
        return self.url(file)

    def _touch(self, when: dt.datetime | None = None) -> None:
        self.last_modified = max(when or dt.datetime.now(dt.UTC), self.last_modified + dt.timedelta(seconds=1))

    def url(self, file: str) -> str:
        return f"{self.base_url}{DATA_PATH}{file}"

    def telegram_fetches(self, entry_url: str) -> int:
        path = entry_url[len(self.base_url):]
        return sum(1 for r in self.requests if r == path)

    def atom(self, name: str) -> bytes:
        national = name.startswith("eqvol")
        items = [e for e in self.entries if e.type.startswith(NATIONAL) == national]
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" lang="ja">',
            f"<title>civicbot mock {escape(name)}</title><id>urn:civicbot:mock:{escape(name)}</id>",
            f"<updated>{self.last_modified.isoformat()}</updated>",
        ]
        for e in reversed(items):  # newest first, like JMA
            url = self.url(e.file)
            parts.append(
                f"<entry><title>{escape(e.title)}</title><id>{escape(url)}</id>"
                f"<updated>{e.updated.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated><author><name>{escape(e.author)}</name></author>"
                f'<link type="application/xml" href="{escape(url)}"/><content type="text/plain">{escape(e.title)}</content></entry>'
            )
        parts.append("</feed>")
        return "\n".join(parts).encode("utf-8")


def make_app(feed: MockFeed) -> web.Application:
    async def get_feed(request: web.Request) -> web.StreamResponse:
        feed.requests.append(request.path)
        if feed.fail_next:
            return web.Response(status=feed.fail_next.pop(0), text="unavailable")
        if feed.malformed_next:
            feed.malformed_next -= 1
            return web.Response(body=b"<feed><entry>", content_type="application/atom+xml")
        name = request.match_info["name"]
        body = feed.atom(name)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        last_mod = format_datetime(feed.last_modified, usegmt=True)
        if request.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in request.headers and request.headers.get("If-Modified-Since") == last_mod
        ):
            return web.Response(status=304, headers={"ETag": etag, "Last-Modified": last_mod})
        return web.Response(body=body, content_type="application/atom+xml", headers={"ETag": etag, "Last-Modified": last_mod})

    async def get_data(request: web.Request) -> web.StreamResponse:
        feed.requests.append(request.path)
        file = request.match_info["file"]
        for e in feed.entries:
            if e.file == file:
                return web.Response(body=e.body, content_type="application/xml")
        raise web.HTTPNotFound()

    async def post_publish(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        url = feed.publish(body, request.query.get("type"), request.query.get("area", "270000"))
        return web.json_response({"id": url})

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get(FEED_PATH + "{name}", get_feed)
    app.router.add_get(DATA_PATH + "{file}", get_data)
    app.router.add_post("/publish", post_publish)
    return app
