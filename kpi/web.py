"""Public pages: ``/dashboard`` (prefecture), ``/dashboard/{tenant}``, and the open-data files under ``/opendata``.

No login, no JavaScript, no third-party requests: HTML from Jinja2 with server-side SVG charts and one local
stylesheet, so the page works on a phone and under a strict CSP. Japanese first; ``?lang=en`` switches to English.
Wire with ``kpi.web.setup(app)`` when building the app and ``kpi.web.bind(app, KpiWebDeps(recorder=...,
tenants=container.tenants))`` once the container is open (or pass the deps to ``setup`` directly).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from kpi import charts, labels, opendata
from kpi import recorder as R
from kpi.aggregate import PERIODS, Cell, PeriodView, combine, period_view, publish_day, rollup_area, vocabulary
from kpi.geo import Gazetteer
from kpi.labels import key_label, lang_of, t
from kpi.recorder import KpiRecorder, date_range

HERE = Path(__file__).resolve().parent
KPI_JINJA = web.AppKey("kpi_jinja", jinja2.Environment)
DEFAULT_PERIOD = "30d"
MAX_OPEN_DATA_DAYS = 800
CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class CountTable:
    """A small table another room publishes on its tenant's dashboard (e.g. 通報: category × status), labelled already."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[int]]]


TableSource = Callable[[str, str], Awaitable[CountTable | None]]  # (tenant, lang) -> the table, or None


@dataclass
class KpiWebDeps:
    recorder: KpiRecorder
    tenants: Mapping[str, Any]  # tenant id -> bot.config.Tenant (display_name, lg_code)
    publisher: str = "大阪府"
    cache_seconds: float = 60.0  # also blunts "watch the live counter tick" inference
    clock: Callable[[], float] = time.time
    base_url: str = ""
    gazetteer: Gazetteer = field(default_factory=Gazetteer.load)
    # tenant -> the shelters open during disaster mode ({"rows": [...], "attribution", "caution"}), None otherwise;
    # a port the composition root fills from the disaster room
    open_shelters: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None
    # tables the composition root plugs in per tenant page: (tenant, lang) -> CountTable | None
    tables: list[TableSource] = field(default_factory=list)
    view_cache_size: int = 256  # dashboard views: a few per tenant and period
    file_cache_size: int = 32  # open-data files: any range can be asked for, so they get their own small LRU
    _cache: OrderedDict[tuple, tuple[float, Any]] = field(default_factory=OrderedDict, init=False, repr=False)
    _files: OrderedDict[tuple, tuple[float, Any]] = field(default_factory=OrderedDict, init=False, repr=False)

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), R.JST).date()

    def areas_of(self, tenant_id: str) -> list[str]:
        """The tenant's own area codes: its wards for 大阪市/堺市, else its own code."""
        jis5 = self.tenants[tenant_id].lg_code[:5]
        wards = [p.jis5 for p in self.gazetteer.places.values() if p.parent == jis5]
        return wards or [jis5]

    def vocab(self, tenant_ids) -> dict[str, dict[str, tuple[str, ...]]]:
        return {tid: vocabulary(self.areas_of(tid)) for tid in tenant_ids}


@dataclass
class KpiWebSlot:
    """Holds the deps; filled at setup or later by ``bind`` (e.g. from a cleanup_ctx once Redis is open)."""

    deps: KpiWebDeps | None = None


KPI_WEB = web.AppKey("kpi_web", KpiWebSlot)


def setup(app: web.Application, deps: KpiWebDeps | None = None) -> None:
    """Add the routes. Pass ``deps`` now, or call ``bind(app, deps)`` later (before the first request)."""
    app[KPI_WEB] = KpiWebSlot(deps)
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), app_key=KPI_JINJA, autoescape=True)
    env.globals.update(t=t, key_label=key_label, duration=labels.duration)
    r = app.router
    r.add_get("/dashboard", dashboard_all)
    r.add_get("/dashboard/{tenant}", dashboard_tenant)
    r.add_get("/opendata", opendata_index)
    r.add_get("/opendata/schema.json", opendata_schema)
    r.add_get("/opendata/daily.{ext:csv|json}", opendata_all)
    r.add_get("/opendata/{tenant}/daily.{ext:csv|json}", opendata_tenant)
    r.add_static("/kpi-static", HERE / "static")


def bind(app: web.Application, deps: KpiWebDeps) -> None:
    app[KPI_WEB].deps = deps


def _deps(request: web.Request) -> KpiWebDeps:
    deps = request.config_dict[KPI_WEB].deps
    if deps is None:
        raise web.HTTPServiceUnavailable(text="starting")
    return deps


async def cached(
    deps: KpiWebDeps, key: tuple, make: Callable[[], Any], ttl: float | None = None, *, files: bool = False
) -> Any:
    """A bounded LRU: the least recently used entry goes, never the whole cache — and open-data files live in their
    own, so no number of odd date ranges can push the dashboard's views out."""
    store, size = (deps._files, deps.file_cache_size) if files else (deps._cache, deps.view_cache_size)
    now = deps.clock()
    hit = store.get(key)
    if hit and hit[0] > now:
        store.move_to_end(key)
        return hit[1]
    value = await make()
    store[key] = (now + (deps.cache_seconds if ttl is None else ttl), value)
    store.move_to_end(key)
    while len(store) > size:
        store.popitem(last=False)
    return value


PAST_TTL = 26 * 3600.0  # past days do not change; the key carries today's date, so midnight starts afresh


async def load_view(deps: KpiWebDeps, scope: str, period: str) -> PeriodView:
    """The period view for one tenant or for ``"all"`` (every configured tenant).

    The days before today are aggregated once per day and kept; only today is re-read (every ``cache_seconds``)
    and merged with ``combine`` — a year for the whole prefecture costs seconds cold, milliseconds after that.
    """
    tenant_ids = list(deps.tenants) if scope == "all" else [scope]
    days = date_range(deps.today(), PERIODS[period])
    vocab = deps.vocab(tenant_ids)

    async def make(span: list[dt.date]) -> PeriodView:
        raw = {tid: await deps.recorder.days(tid, span) for tid in tenant_ids}
        return period_view(scope, period, raw, vocab)

    today = await cached(deps, ("today", scope, days[-1]), lambda: make(days[-1:]))
    if len(days) == 1:
        return today
    past = await cached(deps, ("past", scope, period, days[-1]), lambda: make(days[:-1]), ttl=PAST_TTL)
    return combine(past, today)


async def prewarm(deps: KpiWebDeps) -> None:
    """Fill the caches for the prefecture views and the default all-tenant files (call at start-up and ~00:05 JST)."""
    for period in PERIODS:
        await load_view(deps, "all", period)
    days = _default_range(deps)
    for ext in ("csv", "json"):
        await _file_body(deps, ext, list(deps.tenants), days)


def _headers(resp: web.StreamResponse) -> web.StreamResponse:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp


def _query(request: web.Request) -> tuple[str, str]:
    lang = lang_of(request.query.get("lang"))
    period = request.query.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    return lang, period


def _link(path: str, **params: str) -> str:
    params = {k: v for k, v in params.items() if v and not (k == "lang" and v == "ja")}
    return path + ("?" + urlencode(params) if params else "")


def _cell_items(breakdown: str, cells: Mapping[str, Cell], lang: str) -> list[tuple[str, Cell]]:
    items = [(key_label(breakdown, k, lang), c) for k, c in cells.items()]
    # biggest first; hidden (unknown) ones last so the chart reads top-down
    return sorted(items, key=lambda kv: (kv[1].state in ("lt5", "withheld"), -kv[1].value, kv[0]))


def _context(request: web.Request, deps: KpiWebDeps, view: PeriodView, scope: str, lang: str, period: str) -> dict[str, Any]:
    path = request.path
    scope_name = t("all", lang) if scope == "all" else deps.tenants[scope].display_name
    s = view.series
    charts_out = {
        "messages": charts.time_bars(view.days, s[R.MESSAGES], label=t("messages_per_day", lang), lang=lang, chart_id="msg"),
        "friends": charts.time_line(view.days, s[R.SNAP_FRIENDS], label=t("friends_trend", lang), lang=lang, chart_id="fr"),
    }
    bd = view.breakdowns
    if bd.get("consult_category"):
        charts_out["consult"] = charts.hbars(_cell_items("consult_category", bd["consult_category"], lang), label=t("by_category", lang), lang=lang, chart_id="cc")
    if bd.get("alert_kind"):
        charts_out["alerts"] = charts.hbars(_cell_items("alert_kind", bd["alert_kind"], lang), label=t("by_kind", lang), lang=lang, chart_id="ak")
    if bd.get("language"):
        charts_out["language"] = charts.hbars(_cell_items("language", bd["language"], lang), label=t("by_language", lang), lang=lang, chart_id="lg")
    if bd.get("subscriber_category"):
        charts_out["subcat"] = charts.hbars(
            _cell_items("subscriber_category", bd["subscriber_category"], lang), label=t("by_subscriber_category", lang), lang=lang, chart_id="sc"
        )
    gaz = deps.gazetteer
    if scope == "all":
        by_city = rollup_area(bd.get("area", {}), gaz.parent_map())
        charts_out["map"] = charts.tile_map(gaz.tiles(), by_city, label=t("subscribers_map", lang), lang=lang, chart_id="map")
    elif bd.get("area"):
        items = sorted(((gaz.local_name(k, lang), c) for k, c in bd["area"].items()), key=lambda kv: (kv[1].state in ("lt5", "withheld"), -kv[1].value))
        charts_out["area"] = charts.hbars(items, label=t("by_area", lang), lang=lang, chart_id="ar")
    tenants_rows = []
    if scope == "all":
        for tid, cells in view.by_tenant.items():
            ten = deps.tenants[tid]
            tenants_rows.append({"name": ten.display_name, "href": _link(f"/dashboard/{tid}", period=period, lang=lang), "cells": cells})
    return {
        "lang": lang,
        "html_lang": "en" if lang == "en" else "ja",
        "period": period,
        "periods": [(p, t(p, lang), _link(path, period=p, lang=lang)) for p in PERIODS],
        "lang_link": _link(path, period=period, lang="ja" if lang == "en" else "en"),
        "scope": scope,
        "scope_name": scope_name,
        "scopes": [("all", t("all", lang), _link("/dashboard", period=period, lang=lang))]
        + [(tid, ten.display_name, _link(f"/dashboard/{tid}", period=period, lang=lang)) for tid, ten in deps.tenants.items()],
        "view": view,
        "totals": view.totals,
        "shares": view.shares,
        "charts": charts_out,
        "tenants_rows": tenants_rows,
        "R": R,
        "snapshot_day": view.snapshot_day.isoformat() if view.snapshot_day else None,
        "updated": dt.datetime.fromtimestamp(deps.clock(), R.JST).strftime("%Y-%m-%d %H:%M"),
        "opendata_csv": "/opendata/daily.csv" if scope == "all" else f"/opendata/{scope}/daily.csv",
        "opendata_json": "/opendata/daily.json" if scope == "all" else f"/opendata/{scope}/daily.json",
        "period_label": f"{view.days[0].isoformat()} – {view.days[-1].isoformat()}" if view.days else "",
    }


async def dashboard_all(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    lang, period = _query(request)
    view = await load_view(deps, "all", period)
    ctx = _context(request, deps, view, "all", lang, period)
    return _headers(aiohttp_jinja2.render_template("dashboard.html", request, ctx, app_key=KPI_JINJA))


async def dashboard_tenant(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    tenant = request.match_info["tenant"]
    if tenant not in deps.tenants:
        raise web.HTTPNotFound(text="unknown municipality")
    lang, period = _query(request)
    view = await load_view(deps, tenant, period)
    ctx = _context(request, deps, view, tenant, lang, period)
    ctx["shelters"] = await deps.open_shelters(tenant) if deps.open_shelters is not None else None
    ctx["tables"] = [
        table
        for n, source in enumerate(deps.tables)
        if (table := await cached(deps, ("table", n, tenant, lang), lambda source=source: source(tenant, lang))) is not None
    ]
    resp = _headers(aiohttp_jinja2.render_template("dashboard.html", request, ctx, app_key=KPI_JINJA))
    if ctx["shelters"] is not None:  # open/full changes by the minute during a disaster
        resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- open data ----------------------------------------------------------------------------------------------


def _default_range(deps: KpiWebDeps) -> list[dt.date]:
    """Complete days only: the 365 days up to yesterday (today's counts are still moving)."""
    return date_range(deps.today() - dt.timedelta(days=1), 365)


def _last_complete_day(deps: KpiWebDeps) -> dt.date:
    return deps.today() - dt.timedelta(days=1)


def _range(request: web.Request, deps: KpiWebDeps) -> list[dt.date]:
    if "from" not in request.query and "to" not in request.query:
        return _default_range(deps)
    try:
        end = dt.date.fromisoformat(request.query["to"]) if "to" in request.query else deps.today() - dt.timedelta(days=1)
        start = dt.date.fromisoformat(request.query["from"]) if "from" in request.query else end - dt.timedelta(days=364)
    except ValueError as exc:
        raise web.HTTPBadRequest(text="from/to must be YYYY-MM-DD") from exc
    # complete days only, whatever ``to`` says: today's live counts (and their small dv/suicide cells, minute by
    # minute) are never published; the dashboard shows today from its own cache
    end = min(end, _last_complete_day(deps))
    if start > end:
        raise web.HTTPBadRequest(text="from is after to")
    n = (end - start).days + 1
    if n > MAX_OPEN_DATA_DAYS:
        raise web.HTTPBadRequest(text=f"at most {MAX_OPEN_DATA_DAYS} days per file")
    return date_range(end, n)


async def _file_body(deps: KpiWebDeps, ext: str, tenant_ids: list[str], days: list[dt.date]) -> str:
    """The rendered file; kept all day when it ends before today (its days no longer change)."""
    infos = opendata.tenant_infos(deps.tenants)
    vocab = deps.vocab(tenant_ids)

    async def make() -> str:
        rows = []
        for tid in tenant_ids:
            for raw in await deps.recorder.days(tid, days):
                rows.append((publish_day(raw, vocab[tid]), infos[tid]))
        rows.sort(key=lambda pair: (pair[0].day, pair[1].lg_code))
        if ext == "csv":
            return await asyncio.to_thread(opendata.csv_text, rows)  # hundreds of ms for 800 days: off the event loop
        generated = dt.datetime.fromtimestamp(deps.clock(), R.JST).isoformat(timespec="seconds")
        doc = opendata.json_document(rows, publisher=deps.publisher, generated_at=generated, base_url=deps.base_url)
        return await asyncio.to_thread(opendata.dumps, doc)

    today = deps.today()
    ttl = PAST_TTL if days[-1] < today else None
    return await cached(deps, ("file", ext, tuple(tenant_ids), days[0], days[-1], today), make, ttl=ttl, files=True)


def _file_response(deps: KpiWebDeps, ext: str, body: str, filename: str) -> web.Response:
    if ext == "csv":
        resp = web.Response(text=body, content_type="text/csv", charset="utf-8")
    else:
        resp = web.Response(text=body, content_type="application/json", charset="utf-8")
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}.{ext}"'
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Link"] = f'<{opendata.LICENSE["url"]}>; rel="license", <{deps.base_url}/opendata/schema.json>; rel="describedby"'
    resp.headers["X-License"] = "CC-BY-4.0"
    return _headers(resp)


async def opendata_all(request: web.Request) -> web.Response:
    deps = _deps(request)
    ext = request.match_info["ext"]
    body = await _file_body(deps, ext, list(deps.tenants), _range(request, deps))
    return _file_response(deps, ext, body, "civicbot_all_daily")


async def opendata_tenant(request: web.Request) -> web.Response:
    deps = _deps(request)
    tenant = request.match_info["tenant"]
    if tenant not in deps.tenants:
        raise web.HTTPNotFound(text="unknown municipality")
    ext = request.match_info["ext"]
    body = await _file_body(deps, ext, [tenant], _range(request, deps))
    return _file_response(deps, ext, body, f"civicbot_{tenant}_daily")


async def opendata_schema(request: web.Request) -> web.Response:
    deps = _deps(request)
    resp = web.Response(text=opendata.dumps(opendata.schema(deps.base_url)), content_type="application/json", charset="utf-8")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return _headers(resp)


async def opendata_index(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    lang = lang_of(request.query.get("lang"))
    ctx = {
        "lang": lang,
        "html_lang": "en" if lang == "en" else "ja",
        "lang_link": _link("/opendata", lang="ja" if lang == "en" else "en"),
        "tenants": [(tid, ten.display_name, ten.lg_code) for tid, ten in deps.tenants.items()],
        "columns": opendata.COLUMNS,
        "license": opendata.LICENSE,
        "dashboard_link": _link("/dashboard", lang=lang),
    }
    return _headers(aiohttp_jinja2.render_template("opendata.html", request, ctx, app_key=KPI_JINJA))
