"""Staff pages ``/admin/reports``: list with filters and an offline SVG map, detail (photos, history, notes),
department assignment, status change with resident-facing text (and a photo of the repair), merging duplicates,
Open311 API keys. Gate: ``staff.web.require_role``; every change is written to the staff audit log and to the report's
history. Residents appear as pseudonyms (通報者-XXXXXX), never with their LINE id.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from reports.model import STATUS_JA, STATUSES, Report, pseudonym
from reports.open311 import new_api_key
from reports.photos import PhotoRefused, clean_photo
from reports.service import (
    JST,
    ReportError,
    ReportsDeps,
    add_note,
    assign,
    category_label,
    change_status,
    merge,
)
from reports.store import ApiKeyStore
from staff import audit
from staff.web import SESSION, STAFF_DEPS, require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
READ = ("admin", "supervisor", "editor", "viewer")
WRITE = ("admin", "supervisor", "editor")
PAGE = 200


@dataclass
class ReportsWebDeps:
    reports: ReportsDeps
    keys: ApiKeyStore
    public_base_url: str = ""  # https base for the repair photo in LINE pushes (LINE needs https image URLs)


DEPS = web.AppKey("reports_web_deps", ReportsWebDeps)
JINJA = web.AppKey("reports_jinja", jinja2.Environment)


def _jst(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, JST).strftime("%Y-%m-%d %H:%M")


def create_app(deps: ReportsWebDeps) -> web.Application:
    app = web.Application(client_max_size=12 * 1024 * 1024)
    app[DEPS] = deps
    setup_room_templates(app, TEMPLATES, JINJA, jst=_jst, status_ja=lambda s: STATUS_JA.get(s, s))
    r = app.router
    r.add_get("/", list_page)
    r.add_get("/keys", keys_page)
    r.add_post("/keys", keys_issue)
    r.add_get(r"/{id:R\d+}", detail_page)
    r.add_get(r"/{id:R\d+}/photo/{key:[0-9a-f]{32}}", photo)
    r.add_post(r"/{id:R\d+}/status", status_submit)
    r.add_post(r"/{id:R\d+}/assign", assign_submit)
    r.add_post(r"/{id:R\d+}/note", note_submit)
    r.add_post(r"/{id:R\d+}/merge", merge_submit)
    return app


def _deps(request: web.Request) -> ReportsWebDeps:
    return request.config_dict[DEPS]


async def _audit(request: web.Request, action: str, target: str = "", **detail: Any) -> None:
    await audit(request.config_dict[STAFF_DEPS].store, request[SESSION], action, target, **detail)


def _filters(request: web.Request) -> dict[str, str]:
    q = request.query
    return {k: q.get(k, "").strip() for k in ("category", "status", "department", "area", "age")}


def _matches(r: Report, f: dict[str, str], now: float) -> bool:
    if f["category"] and r.category != f["category"]:
        return False
    if f["status"] == "open" and not r.is_open:
        return False
    if f["status"] in STATUSES and r.status != f["status"]:
        return False
    if f["status"] == "merged" and not r.merged_into:
        return False
    if f["department"] and r.department != f["department"]:
        return False
    if f["area"] and f["area"] not in r.address:
        return False
    if f["age"].isdigit() and now - r.created_at < int(f["age"]) * 86400:
        return False
    return True


def _mercator(lat: float, lng: float) -> tuple[float, float]:
    """Web Mercator in world pixels at zoom 0 (256 px wide), the projection map tiles use."""
    lat = max(-85.0, min(85.0, lat))
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * 256
    return (lng + 180) / 360 * 256, y


def svg_map(
    outline: Sequence[tuple[float, float]], reports: Sequence[Report], size: int = 560, tile_url: str = ""
) -> dict[str, Any]:
    """The outline and the reports projected into an SVG box (Web Mercator). With a tile URL (``…/{z}/{x}/{y}.png``)
    the zoom snaps to a tile level and the tiles covering the box are listed as the background; without one the
    plot is offline and fills the box."""
    pts = [_mercator(lat, lng) for lat, lng in [*outline, *((r.lat, r.lng) for r in reports)]]
    if not pts:
        return {"size": size, "outline": "", "dots": [], "tiles": []}
    pad = 16
    min_x, max_x = min(p[0] for p in pts), max(p[0] for p in pts)
    min_y, max_y = min(p[1] for p in pts), max(p[1] for p in pts)
    span = max(max_x - min_x, max_y - min_y, 1e-6)
    scale = (size - 2 * pad) / span
    zoom = 0
    if tile_url:
        zoom = max(0, min(18, int(math.floor(math.log2(scale)))))
        scale = float(2**zoom)
    # world pixels (at this scale) of the box's top-left corner, centring the content
    ox = (min_x + max_x) / 2 * scale - size / 2
    oy = (min_y + max_y) / 2 * scale - size / 2

    def xy(lat: float, lng: float) -> tuple[float, float]:
        x, y = _mercator(lat, lng)
        return round(x * scale - ox, 1), round(y * scale - oy, 1)

    tiles = []
    if tile_url:
        for tx in range(int(ox // 256), int((ox + size) // 256) + 1):
            for ty in range(int(oy // 256), int((oy + size) // 256) + 1):
                tiles.append(
                    {"x": round(tx * 256 - ox, 1), "y": round(ty * 256 - oy, 1), "href": tile_url.format(z=zoom, x=tx, y=ty)}
                )
    colours = {"received": "#c81e1e", "in_progress": "#d97706", "closed": "#15803d", "declined": "#6b7280"}
    return {
        "size": size,
        "outline": " ".join(f"{x},{y}" for x, y in (xy(a, b) for a, b in outline)),
        "dots": [
            {"x": xy(r.lat, r.lng)[0], "y": xy(r.lat, r.lng)[1], "id": r.id, "colour": colours[r.status], "status": r.status}
            for r in reports
        ],
        "tiles": tiles,
    }


@require_role(*READ)
async def list_page(request: web.Request) -> web.Response:
    d = _deps(request)
    tenant = request[SESSION].tenant
    rd = d.reports
    cfg = rd.config(tenant)
    f = _filters(request)
    now = rd.clock()
    rows = [r for r in await rd.reports.get_many(tenant, await rd.reports.ids(tenant)) if r is not None and _matches(r, f, now)]
    shown = rows[:PAGE]
    ctx = {
        **template_context(request),
        "filters": f,
        "rows": [(r, category_label(cfg, r.category, "ja"), int((now - r.created_at) // 86400)) for r in shown],
        "total": len(rows),
        "categories": [(c.id, category_label(cfg, c.id, "ja")) for c in cfg.categories],
        "departments": cfg.departments,
        "statuses": STATUS_JA,
        "map": svg_map(rd.area.outline(tenant), shown, tile_url=cfg.tile_url),
        "tile_url": cfg.tile_url,
        "tile_attribution": cfg.tile_attribution,
    }
    return aiohttp_jinja2.render_template("reports_list.html", request, ctx, app_key=JINJA)


async def _load(request: web.Request) -> Report:
    d = _deps(request)
    report = await d.reports.reports.get(request[SESSION].tenant, request.match_info["id"])
    if report is None:
        raise web.HTTPNotFound(text="no such report")
    return report


@require_role(*READ)
async def detail_page(request: web.Request) -> web.Response:
    return await _detail(request)


async def _detail(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    d = _deps(request)
    report = await _load(request)
    cfg = d.reports.config(report.tenant)
    ctx = {
        **template_context(request),
        "r": report,
        "category": category_label(cfg, report.category, "ja"),
        "reporter": pseudonym(report.tenant, report.reporter),
        "followers": [pseudonym(report.tenant, f) for f in report.followers],
        "departments": cfg.departments,
        "statuses": STATUS_JA,
        "error": error,
        "can_write": request[SESSION].role in WRITE,
        "map": svg_map(d.reports.area.outline(report.tenant), [report], size=320, tile_url=cfg.tile_url),
    }
    return aiohttp_jinja2.render_template("reports_detail.html", request, ctx, app_key=JINJA, status=status)


@require_role(*READ)
async def photo(request: web.Request) -> web.Response:
    report = await _load(request)
    key = request.match_info["key"]
    if key not in report.photos and key != report.fix_photo:
        raise web.HTTPNotFound(text="no such photo")
    data = await _deps(request).reports.photos.get(report.tenant, key)
    if data is None:
        raise web.HTTPNotFound(text="photo removed")
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


def _back(report_id: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/admin/reports/{report_id}")


@require_role(*WRITE)
async def status_submit(request: web.Request) -> web.StreamResponse:
    d = _deps(request)
    session = request[SESSION]
    report = await _load(request)
    form = await request.post()
    fix_key = ""
    upload = form.get("photo")
    if isinstance(upload, web.FileField):
        data = upload.file.read(d.reports.config(report.tenant).max_photo_bytes + 1)
        if data:
            try:
                clean = clean_photo(data, max_bytes=d.reports.config(report.tenant).max_photo_bytes)
            except PhotoRefused as exc:
                return await _detail(
                    request, error=f"写真を受け付けられません（{exc.reason}）。JPEG/PNG・10MBまでです。", status=400
                )
            fix_key = await d.reports.photos.put(report.tenant, clean.data)
    # LINE shows only https images: the repair photo joins the push when the deployment has a public https address
    base = d.public_base_url.rstrip("/")
    photo_url = f"{base}/open311/v2/{report.tenant}/media/{report.id}.jpg" if fix_key and base.startswith("https://") else None
    try:
        updated = await change_status(
            d.reports,
            report.tenant,
            report.id,
            str(form.get("status", "")),
            str(form.get("text", "")),
            session.username,
            fix_key,
            photo_url,
        )
    except ReportError as exc:
        return await _detail(request, error=str(exc), status=400)
    await _audit(request, "reports.status", report.id, status=updated.status, photo=bool(fix_key))
    raise _back(report.id)


@require_role(*WRITE)
async def assign_submit(request: web.Request) -> web.StreamResponse:
    report = await _load(request)
    form = await request.post()
    try:
        await assign(_deps(request).reports, report.tenant, report.id, str(form.get("department", "")), request[SESSION].username)
    except ReportError as exc:
        return await _detail(request, error=str(exc), status=400)
    await _audit(request, "reports.assign", report.id, department=str(form.get("department", "")))
    raise _back(report.id)


@require_role(*WRITE)
async def note_submit(request: web.Request) -> web.StreamResponse:
    report = await _load(request)
    form = await request.post()
    try:
        await add_note(_deps(request).reports, report.tenant, report.id, str(form.get("text", "")), request[SESSION].username)
    except ReportError as exc:
        return await _detail(request, error=str(exc), status=400)
    await _audit(request, "reports.note", report.id)
    raise _back(report.id)


@require_role(*WRITE)
async def merge_submit(request: web.Request) -> web.StreamResponse:
    report = await _load(request)
    form = await request.post()
    into = str(form.get("into", "")).strip().upper()
    try:
        await merge(_deps(request).reports, report.tenant, report.id, into, request[SESSION].username)
    except ReportError as exc:
        return await _detail(request, error=str(exc), status=400)
    await _audit(request, "reports.merge", report.id, into=into)
    raise _back(into)


@require_role("admin")
async def keys_page(request: web.Request) -> web.Response:
    return await _keys(request)


async def _keys(request: web.Request, *, issued: str = "", client: str = "", error: str = "") -> web.Response:
    d = _deps(request)
    ctx = {
        **template_context(request),
        "clients": await d.keys.clients(request[SESSION].tenant),
        "issued": issued,
        "client": client,
        "error": error,
    }
    return aiohttp_jinja2.render_template("reports_keys.html", request, ctx, app_key=JINJA)


@require_role("admin")
async def keys_issue(request: web.Request) -> web.Response:
    d = _deps(request)
    form = await request.post()
    client = str(form.get("client", "")).strip()
    tenant = request[SESSION].tenant
    if str(form.get("revoke", "")):
        await d.keys.revoke(tenant, client)
        await _audit(request, "reports.apikey.revoke", client)
        return await _keys(request)
    if not client or len(client) > 40 or not client.replace("-", "").replace("_", "").isalnum():
        return await _keys(request, error="クライアント名は英数字・-・_ で40字までです。")
    key = new_api_key()
    await d.keys.add(tenant, client, key)
    await _audit(request, "reports.apikey.issue", client)
    return await _keys(request, issued=key, client=client)
