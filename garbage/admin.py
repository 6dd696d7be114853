"""/admin/garbage — the editor for city staff: items, areas (collection days), calendar exceptions, unknown items
asked by residents, and the 5374 CSV round trip (download each file, upload a set; an upload with any row error
changes nothing and lists the rows).

An aiohttp sub-application mounted by the composition root after ``staff.web.setup``; every handler reads and
writes the logged-in session's tenant only. Edits are checked by writing the dataset to CSV and parsing it back
(the same checks as an import) and are refused if another edit landed since the page was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from garbage.csvio import FILES, GarbageImportError, parse_files, rule_problem, to_files
from garbage.model import ALL, Area, CalendarException, Dataset, Item
from garbage.store import DatasetStore, UnknownLog
from staff import service as staff_service
from staff.web import SESSION, STAFF_DEPS, require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
VIEW = ("admin", "editor", "viewer")
EDIT = ("admin", "editor")
MAX_UPLOAD = 5 * 1024 * 1024


@dataclass
class GarbageAdminDeps:
    datasets: DatasetStore
    unknown: UnknownLog


GARBAGE_ADMIN = web.AppKey("garbage_admin", GarbageAdminDeps)
GARBAGE_JINJA = web.AppKey("garbage_admin_jinja", jinja2.Environment)


def create_app(deps: GarbageAdminDeps) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD * 6)
    app[GARBAGE_ADMIN] = deps
    setup_room_templates(app, TEMPLATES, GARBAGE_JINJA)
    app.router.add_get("/", page, name="garbage_home")
    app.router.add_post("/items", item_submit)
    app.router.add_post("/items/delete", item_delete)
    app.router.add_post("/areas", area_submit)
    app.router.add_post("/exceptions", exception_submit)
    app.router.add_post("/exceptions/delete", exception_delete)
    app.router.add_post("/import", import_submit)
    app.router.add_get("/export/{name}", export_file)
    return app


def _deps(request: web.Request) -> GarbageAdminDeps:
    return request.config_dict[GARBAGE_ADMIN]


def _base(request: web.Request) -> str:
    return str(request.app.router["garbage_home"].url_for()).rstrip("/")


def _back(request: web.Request, notice: str, tab: str = "items") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{_base(request)}/?tab={tab}&notice={quote(notice[:300])}")


async def _audit(request: web.Request, action: str, target: str = "") -> None:
    await staff_service.audit(request.config_dict[STAFF_DEPS].store, request[SESSION], action, target)


def _render(request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    resp = aiohttp_jinja2.render_template(
        "garbage_admin.html",
        request,
        {**template_context(request), "base": _base(request), **context},
        app_key=GARBAGE_JINJA,
        status=status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@require_role(*VIEW)
async def page(request: web.Request) -> web.Response:
    deps, tenant = _deps(request), request[SESSION].tenant
    ds = await deps.datasets.get(tenant) or Dataset()
    q = request.query.get("q", "").strip()[:100]
    items = [i for i in ds.items if not q or q in i.name or q in i.furigana or q in i.category or q.lower() in i.name_en.lower()]
    return _render(
        request,
        {
            "ds": ds,
            "items": items[:600],
            "q": q,
            "rev": await deps.datasets.revision(tenant),
            "tab": request.query.get("tab", "items"),
            "notice": request.query.get("notice", "")[:300],
            "columns": ds.scheduled_categories() or [c.label for c in ds.categories],
            "unknown": await deps.unknown.top(tenant, 100),
            "files": FILES,
            "can_edit": request[SESSION].role in EDIT,
            "errors": [],
            "area_rules": {a.name: dict(a.rules) for a in ds.areas},
        },
    )


async def _save(request: web.Request, ds: Dataset, tab: str, what: str) -> web.HTTPSeeOther:
    """Validate through the CSV round trip, refuse a stale page, store, audit."""
    deps, tenant = _deps(request), request[SESSION].tenant
    form = await request.post()
    if str(form.get("rev", "")) != str(await deps.datasets.revision(tenant)):
        return _back(request, "ほかの人が先に変更しました。もう一度開き直してから変更してください。", tab)
    try:
        checked = parse_files(to_files(ds))
    except GarbageImportError as exc:
        return _back(request, "保存できません：" + "／".join(str(e) for e in exc.errors[:5]), tab)
    await deps.datasets.put(tenant, checked)
    await _audit(request, f"garbage.{what}")
    return _back(request, "保存しました。ボットの回答にすぐ反映されます。", tab)


async def _current(request: web.Request) -> Dataset:
    return await _deps(request).datasets.get(request[SESSION].tenant) or Dataset()


def _text(form: Any, name: str, limit: int = 500) -> str:
    return str(form.get(name, "")).strip()[:limit]


@require_role(*EDIT)
async def item_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ds = await _current(request)
    new = Item(
        _text(form, "category", 60),
        _text(form, "name", 100),
        _text(form, "notice"),
        _text(form, "furigana", 100),
        _text(form, "name_en", 200),
    )
    if not new.name or ds.category(new.category) is None:
        return _back(request, "品目名と分別区分を入れてください。")
    orig = (_text(form, "orig_category", 60), _text(form, "orig_name", 100))
    items = [i for i in ds.items if (i.category, i.name) != orig and (i.category, i.name) != (new.category, new.name)]
    pos = next((n for n, i in enumerate(ds.items) if (i.category, i.name) == orig), len(items))
    items.insert(min(pos, len(items)), new)
    if new.name:
        await _deps(request).unknown.forget(request[SESSION].tenant, new.name)
    return await _save(request, replace(ds, items=items), "items", "item")


@require_role(*EDIT)
async def item_delete(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ds = await _current(request)
    key = (_text(form, "category", 60), _text(form, "name", 100))
    return await _save(request, replace(ds, items=[i for i in ds.items if (i.category, i.name) != key]), "items", "item.delete")


@require_role(*EDIT)
async def area_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ds = await _current(request)
    name, orig = _text(form, "name", 100), _text(form, "orig_name", 100)
    if not name:
        return _back(request, "地名を入れてください。", "areas")
    rules = []
    for label in ds.scheduled_categories() or [c.label for c in ds.categories]:
        rule = _text(form, f"rule:{label}", 100)
        problem = rule_problem(rule)
        if problem:
            return _back(request, f"{label}：{problem}", "areas")
        if rule:
            rules.append((label, rule))
    area = Area(name, _text(form, "center", 100), tuple(rules))
    areas = list(ds.areas)
    pos = next((n for n, a in enumerate(areas) if a.name == orig), None)
    if pos is None:
        areas.append(area)
    else:
        areas[pos] = area
    if form.get("delete") and pos is not None:
        areas.pop(pos)
    return await _save(request, replace(ds, areas=areas), "areas", "area")


@require_role(*EDIT)
async def exception_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ds = await _current(request)
    e = CalendarException(
        _text(form, "date", 10),
        _text(form, "area", 100) or ALL,
        _text(form, "category", 60) or ALL,
        _text(form, "action", 10),
        _text(form, "moved_to", 10),
        _text(form, "reason", 200),
    )
    return await _save(request, replace(ds, exceptions=[*ds.exceptions, e]), "calendar", "exception")


@require_role(*EDIT)
async def exception_delete(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ds = await _current(request)
    try:
        n = int(str(form.get("n", "")))
        exceptions = [e for i, e in enumerate(ds.exceptions) if i != n]
    except ValueError:
        return _back(request, "削除する行がわかりません。", "calendar")
    return await _save(request, replace(ds, exceptions=exceptions), "calendar", "exception.delete")


@require_role(*EDIT)
async def import_submit(request: web.Request) -> web.Response:
    """A set of 5374 files (one file input per name, or several files in one input named by their file names);
    missing optional files keep nothing from before (the upload is the whole dataset)."""
    deps, tenant = _deps(request), request[SESSION].tenant
    form = await request.post()
    files: dict[str, bytes] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            name = key if key in FILES else Path(value.filename or "").name
            if name in FILES:
                files[name] = value.file.read(MAX_UPLOAD + 1)
    try:
        ds = parse_files(files)
    except GarbageImportError as exc:
        current = await deps.datasets.get(tenant) or Dataset()
        return _render(
            request,
            {
                "ds": current,
                "items": current.items[:600],
                "q": "",
                "rev": await deps.datasets.revision(tenant),
                "tab": "csv",
                "notice": "取り込めませんでした。データは変わっていません。",
                "errors": exc.errors,
                "columns": current.scheduled_categories(),
                "unknown": [],
                "files": FILES,
                "can_edit": True,
                "area_rules": {a.name: dict(a.rules) for a in current.areas},
            },
            status=422,
        )
    await deps.datasets.put(tenant, ds)
    await _audit(request, "garbage.import")
    counts = f"品目 {len(ds.items)} 件、地区 {len(ds.areas)} 件、例外 {len(ds.exceptions)} 件"
    return _back(request, f"取り込みました：{counts}。", "csv")


@require_role(*VIEW)
async def export_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    ds = await _current(request)
    return web.Response(
        body=to_files(ds)[name],
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"},
    )
