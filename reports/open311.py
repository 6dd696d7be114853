"""Open311 GeoReport v2, per tenant: ``/open311/v2/{tenant}/services.json``, ``requests.json`` (GET with the standard
filters, POST with an API key per client), ``requests/{id}.json``; plus the public counts of the open-data export.

Public reads carry no personal data: no LINE id, no comment text of a resident, no resident photo; the location is
snapped to a 10 m grid (``model.blur``) and the address stays at 町丁目 level. ``media_url`` is the staff's photo of the
repair. JSON only (``.xml`` answers 400 with a clear message). Errors use the spec's ``[{"code", "description"}]``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from reports.model import STATUSES, HistoryEntry, Report, Summary, blur, gc_paused
from reports.service import HOUR, JST, ReportsDeps, category_label, counts, find_duplicate, opened, status_label
from reports.store import ApiKeyStore

log = logging.getLogger("civicbot.reports.open311")

SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
DESCRIPTION_MAX = 1000
DEFAULT_DAYS = 90  # the spec's default window for requests.json


class PublicRows:
    """Rendered public rows kept between requests, in this process: Open311 clients poll the same listing, and most
    rows have not changed since the last poll. A row is keyed by its ``Summary`` (every field it shows) under the
    labels it was written with, so a changed report or a changed label is simply a miss; never stale. Bounded: past
    ``limit`` rows the memo starts again empty (a cold listing of 10,000 rows is still within its target)."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._tables: dict[tuple[Any, ...], dict[Summary, str]] = {}
        self._size = 0

    def table(self, labels: Labels) -> dict[Summary, str]:
        table = self._tables.get(labels.key)
        if table is None:
            table = self._tables[labels.key] = {}
        return table

    def added(self, n: int) -> None:
        self._size += n
        if self._size > self.limit:
            self._tables.clear()
            self._size = 0


@dataclass
class Open311Deps:
    reports: ReportsDeps
    keys: ApiKeyStore
    tenants: Mapping[str, Any]  # tenant id -> object with display_name
    base_url: str = ""  # public base for media_url; empty = relative to this host
    rows: PublicRows = field(default_factory=PublicRows)


DEPS = web.AppKey("open311_deps", Open311Deps)


def create_app(deps: Open311Deps) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[DEPS] = deps
    app.router.add_get("/{tenant}/services.{fmt}", services)
    app.router.add_get("/{tenant}/requests.{fmt}", list_requests)
    app.router.add_post("/{tenant}/requests.{fmt}", post_request)
    app.router.add_get("/{tenant}/requests/{id}.{fmt}", one_request)
    app.router.add_get("/{tenant}/media/{id}.jpg", media)
    app.router.add_get("/{tenant}/stats.{fmt}", stats)
    return app


def error(status: int, description: str) -> web.Response:
    return web.json_response([{"code": status, "description": description}], status=status)


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error(exc.status, exc.reason)
        raise


def _tenant(request: web.Request) -> str:
    tenant = request.match_info["tenant"]
    if tenant not in request.config_dict[DEPS].tenants:
        raise _Refused(404, f"unknown jurisdiction {tenant!r}")
    if request.match_info.get("fmt", "json") != "json":
        raise _Refused(400, "only the JSON format is offered (use .json)")
    return tenant


class _Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _handler(fn: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except _Refused as exc:
            return error(exc.status, exc.description)

    wrapped.__name__ = fn.__name__
    return wrapped


_EPOCH_JST = dt.datetime(1970, 1, 1, 9, 0, 0)
_HOURS: dict[int, str] = {}  # hours since the epoch (JST) -> "2026-12-01T09:" (memo; a listing's rows share hours)
_MINUTES_SECONDS = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]


def iso(ts: float | None) -> str | None:
    """W3C datetime in JST (``2026-12-01T09:30:00+09:00``). Japan has no daylight saving time, so it is the hour's
    text (memoized) plus a table's "MM:SS" — 4× faster than ``fromtimestamp(tz).isoformat()``, which a listing of
    10,000 rows would call 20,000 times."""
    if not ts:
        return None
    hour, sec = divmod(int(ts) + 32400, 3600)
    prefix = _HOURS.get(hour)
    if prefix is None:
        if len(_HOURS) > 200_000:  # ~23 years of distinct hours: keep the memo bounded
            _HOURS.clear()
        prefix = _HOURS[hour] = (dt.datetime(1970, 1, 1) + dt.timedelta(hours=hour)).strftime("%Y-%m-%dT%H:")
    return prefix + _MINUTES_SECONDS[sec] + "+09:00"


def parse_iso(value: str, name: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Refused(400, f"{name} must be a W3C datetime such as 2026-12-01T09:00:00+09:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=JST)
    return parsed.timestamp()


class Labels:
    """What every row of one response shares (labels, department names), computed once per request."""

    def __init__(self, deps: Open311Deps, tenant: str, base: str) -> None:
        cfg = deps.reports.config(tenant)
        self.blur_m = cfg.public_blur_m
        self.names = {c.id: category_label(cfg, c.id, "ja") for c in cfg.categories}
        self.agencies = {d: dept.name for d, dept in cfg.departments.items()}
        self.notes = {s: status_label(s, "ja") for s in STATUSES}
        self.media = f"{base}/open311/v2/{tenant}/media/"
        self.key = (tenant, self.blur_m, *self.names.items(), *self.agencies.items(), *self.notes.items(), self.media)


def public_request(report: Report | Summary, lb: Labels) -> dict[str, Any]:
    """One request as the world may see it (every GeoReport v2 field, nothing personal)."""
    lat, lng = blur(report.lat, report.lng, lb.blur_m)
    notes = f"{report.merged_into} に統合されました。" if report.merged_into else (report.status_text or lb.notes[report.status])
    return {
        "service_request_id": report.id,
        "status": "open" if report.is_open else "closed",
        "status_notes": notes,
        "service_name": lb.names.get(report.category, report.category),
        "service_code": report.category,
        "description": "",  # a resident's own words may name people or places; staff publish via status_notes
        "agency_responsible": lb.agencies.get(report.department, ""),
        "service_notice": "",
        "requested_datetime": iso(report.created_at),
        "updated_datetime": iso(report.updated_at or report.created_at),
        "expected_datetime": None,
        "address": report.address,
        "address_id": "",
        "zipcode": "",
        "lat": lat,
        "long": lng,
        "media_url": f"{lb.media}{report.id}.jpg" if report.fix_photo else "",
    }


# One request row as ``json.dumps`` writes ``public_request``'s dict (same key order, separators and escaping), so a
# listing of 10,000 rows costs one string format per row instead of a dict and its encoding. Every string value goes
# through ``_Renderer.text`` (json.dumps, memoized: labels, addresses and notes repeat); floats are written by repr,
# as json.dumps does. ``test_rendered_listing_is_byte_for_byte_json_dumps`` holds the two together.
_ROW = (
    '{"service_request_id": %s, "status": "%s", "status_notes": %s, "service_name": %s, "service_code": %s, '
    '"description": "", "agency_responsible": %s, "service_notice": "", "requested_datetime": %s, '
    '"updated_datetime": %s, "expected_datetime": null, "address": %s, "address_id": "", "zipcode": "", '
    '"lat": %r, "long": %r, "media_url": %s}'
)


class _Renderer:
    """The JSON array of ``public_request`` rows, written directly (one per response); rows already written under
    the same labels come from ``PublicRows``."""

    def __init__(self, lb: Labels, memo: PublicRows) -> None:
        self.lb = lb
        self._memo = memo
        self._rows = memo.table(lb)
        self._text: dict[str | None, str] = {None: "null"}
        self._notes = {s: self.text(n) for s, n in lb.notes.items()}
        self._names: dict[str, str] = {}
        self._agencies: dict[str, str] = {}

    def text(self, value: str | None) -> str:
        out = self._text.get(value)
        if out is None:
            out = self._text[value] = json.dumps(value)
        return out

    def rows(self, summaries: list[Summary]) -> str:
        """The JSON array of these rows (what ``json.dumps([public_request(...), ...])`` writes)."""
        memo, out, new = self._rows, [], 0
        with gc_paused():
            for r in summaries:
                row = memo.get(r)
                if row is None:
                    row = memo[r] = self.row(r)
                    new += 1
                out.append(row)
        self._memo.added(new)
        return "[" + ", ".join(out) + "]"

    def row(self, r: Summary) -> str:
        lb, text = self.lb, self.text
        lat, lng = blur(r.lat, r.lng, lb.blur_m)
        if r.merged_into:
            notes = text(f"{r.merged_into} に統合されました。")
        else:
            notes = text(r.status_text) if r.status_text else self._notes[r.status]
        name = self._names.get(r.category)
        if name is None:
            name = self._names[r.category] = text(lb.names.get(r.category, r.category))
        agency = self._agencies.get(r.department)
        if agency is None:
            agency = self._agencies[r.department] = text(lb.agencies.get(r.department, ""))
        return _ROW % (
            f'"{r.id}"' if r.id.isascii() and r.id.isalnum() else text(r.id),
            "open" if r.is_open else "closed",
            notes,
            name,
            text(r.category),
            agency,
            _quoted_iso(r.created_at),
            _quoted_iso(r.updated_at or r.created_at),
            text(r.address),
            lat,
            lng,
            text(f"{lb.media}{r.id}.jpg") if r.fix_photo else '""',
        )


def _quoted_iso(ts: float | None) -> str:
    value = iso(ts)
    return "null" if value is None else f'"{value}"'  # digits, '-', ':', 'T', '+': nothing to escape


def _json(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/json")


def _base(request: web.Request) -> str:
    return request.config_dict[DEPS].base_url.rstrip("/") or f"{request.scheme}://{request.host}"


@_handler
async def services(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    deps = request.config_dict[DEPS]
    cfg = deps.reports.config(tenant)
    out = []
    for c in cfg.categories:
        dept = cfg.departments[c.department]
        out.append(
            {
                "service_code": c.id,
                "service_name": category_label(cfg, c.id, "ja"),
                "description": f"{category_label(cfg, c.id, 'ja')}（{category_label(cfg, c.id, 'en')}）",
                "metadata": False,
                "type": "realtime",
                "keywords": category_label(cfg, c.id, "en"),
                "group": dept.name,
            }
        )
    return web.json_response(out)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


LISTING_CHUNK = 2000  # summaries per store call when filters drop rows (a page without filters is read at once)


@_handler
async def list_requests(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    deps = request.config_dict[DEPS]
    q = request.query
    cfg = deps.reports.config(tenant)
    render = _Renderer(Labels(deps, tenant, _base(request)), deps.rows)
    if q.get("service_request_id"):
        ids = _csv(q["service_request_id"])[:100]
        found = [r for r in await deps.reports.reports.summaries(tenant, ids) if r is not None]
        return _json(render.rows(found))
    now = deps.reports.clock()
    end = parse_iso(q["end_date"], "end_date") if q.get("end_date") else now
    start = parse_iso(q["start_date"], "start_date") if q.get("start_date") else end - DEFAULT_DAYS * 86400
    if start > end:
        raise _Refused(400, "start_date is after end_date")
    codes = set(_csv(q.get("service_code", "")))
    unknown = [c for c in codes if cfg.category(c) is None]
    if unknown:
        raise _Refused(400, f"unknown service_code {', '.join(sorted(unknown))}")
    statuses = set(_csv(q.get("status", "")))
    if statuses - {"open", "closed"}:
        raise _Refused(400, "status must be open and/or closed")
    page = cfg.open311_page_size
    store = deps.reports.reports
    if not (codes or statuses):  # the common case: the newest ``page`` rows, one store call
        return _json(render.rows(await store.listing(tenant, start, end, 0, page)))
    out: list[Summary] = []
    offset = 0
    while len(out) < page:
        chunk = await store.listing(tenant, start, end, offset, LISTING_CHUNK)
        for report in chunk:
            if codes and report.category not in codes:
                continue
            if statuses and ("open" if report.is_open else "closed") not in statuses:
                continue
            out.append(report)
            if len(out) >= page:
                break
        if len(chunk) < LISTING_CHUNK:
            break
        offset += LISTING_CHUNK
    return _json(render.rows(out))


@_handler
async def one_request(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    deps = request.config_dict[DEPS]
    rid = request.match_info["id"]
    [report] = await deps.reports.reports.summaries(tenant, [rid]) if re.fullmatch(r"R\d{6,}", rid) else [None]
    if report is None:
        raise _Refused(404, f"no service request {rid!r}")
    return _json(_Renderer(Labels(deps, tenant, _base(request)), deps.rows).rows([report]))


@_handler
async def media(request: web.Request) -> web.StreamResponse:
    tenant = _tenant(request)
    deps = request.config_dict[DEPS]
    rid = request.match_info["id"]
    report = await deps.reports.reports.get(tenant, rid) if re.fullmatch(r"R\d{6,}", rid) else None
    data = await deps.reports.photos.get(tenant, report.fix_photo) if report is not None and report.fix_photo else None
    if data is None:
        raise _Refused(404, "no public photo")
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "public, max-age=3600"})


def _float(form: Mapping[str, Any], name: str) -> float:
    try:
        return float(str(form.get(name, "")))
    except ValueError:
        raise _Refused(400, f"{name} is required (decimal degrees, WGS84)") from None


@_handler
async def post_request(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    deps = request.config_dict[DEPS]
    rd = deps.reports
    cfg = rd.config(tenant)
    try:
        form = await request.post()
    except (ValueError, web.HTTPException):
        raise _Refused(400, "send application/x-www-form-urlencoded fields") from None
    client = await deps.keys.client_of(tenant, str(form.get("api_key", ""))) if form.get("api_key") else None
    if client is None:
        raise _Refused(403, "a valid api_key is required to post service requests")
    who = f"open311:{client}"
    if await rd.drafts.hits(tenant, who, HOUR) >= cfg.reports_per_hour * 20:
        raise _Refused(429, "too many service requests from this client; try again later")
    code = str(form.get("service_code", ""))
    if cfg.category(code) is None:
        raise _Refused(400, f"service_code {code!r} is not offered (see services.json)")
    lat, lng = _float(form, "lat"), _float(form, "long")
    place = rd.area.place(tenant, lat, lng)
    if place is None:
        raise _Refused(400, "lat/long is outside this jurisdiction")
    description = str(form.get("description", "")).strip()
    if len(description) > DESCRIPTION_MAX:
        raise _Refused(400, f"description is longer than {DESCRIPTION_MAX} characters")
    dup = await find_duplicate(rd, tenant, code, lat, lng)
    now = rd.clock()
    report = Report(
        tenant=tenant,
        id=await rd.reports.next_id(tenant),
        category=code,
        lat=lat,
        lng=lng,
        created_at=now,
        updated_at=now,
        reporter=who,
        source="open311",
        comment=description,
        address=place,
        department=cfg.category(code).department,  # type: ignore[union-attr]
        history=[HistoryEntry(now, who, "created", {"source": "open311", "near": dup.id if dup else ""})],
    )
    await rd.reports.create(report)
    await rd.drafts.count(tenant, who, HOUR)
    await opened(rd, report)
    log.info("open311 request filed", extra={"tenant": tenant, "report": report.id, "client": client})
    notice = f"近くに同じ種類の通報 {dup.id} があります。" if dup else ""
    return web.json_response([{"service_request_id": report.id, "service_notice": notice, "account_id": None}], status=201)


@_handler
async def stats(request: web.Request) -> web.Response:
    """Open data: reports per category and status (CC BY 4.0, like the rest of the export)."""
    tenant = request.match_info["tenant"]
    deps = request.config_dict[DEPS]
    if tenant not in deps.tenants:
        raise _Refused(404, f"unknown jurisdiction {tenant!r}")
    cfg = deps.reports.config(tenant)
    table = await counts(deps.reports, tenant)
    rows = [
        {"category": c.id, "category_ja": category_label(cfg, c.id, "ja"), **table.get(c.id, {s: 0 for s in STATUSES})}
        for c in cfg.categories
    ]
    if request.match_info["fmt"] == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["category", "category_ja", *STATUSES])
        writer.writeheader()
        writer.writerows(rows)
        return web.Response(text=buf.getvalue(), content_type="text/csv", charset="utf-8")
    if request.match_info["fmt"] != "json":
        raise _Refused(400, "use .json or .csv")
    body = {"tenant": tenant, "license": "CC BY 4.0", "generated_at": iso(deps.reports.clock()), "counts": rows}
    return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="application/json")


def new_api_key() -> str:
    return "o311_" + secrets.token_urlsafe(24)
