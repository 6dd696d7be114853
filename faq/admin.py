"""FAQ admin pages for city staff: list/search, create, edit, delete, change history, CSV import with preview, export.

An aiohttp sub-application; the composition root mounts it after ``staff.web.setup`` (which provides login, sessions,
roles and CSRF through ``require_role``)::

    app.add_subapp("/admin/faq", faq.admin.create_app(FaqAdminDeps(store=faq_store, index=faq_index)))

Every handler reads and writes only the logged-in session's tenant (never a tenant from the URL or form). Edits go
through the FaqStore, whose revision bump makes every process's LiveIndex rebuild before its next search; this
process also rebuilds at once so the page's own search shows the change.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from faq.i18n import LANGUAGE_NAMES
from faq.index import LiveIndex
from faq.io import EXPORT_COLUMNS, FaqImportError, ParsedFile, entry_from_fields, import_entries, parse_bytes, write_csv
from faq.models import FaqEntry
from faq.store import FaqStore, VersionConflict
from faq.unanswered import UnansweredStore, clusters
from staff import service as staff_service
from staff.web import SESSION, STAFF_DEPS, require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
VIEW = ("admin", "editor", "viewer")
EDIT = ("admin", "editor")
_ID = re.compile(r"^[\w.\-]{1,64}$")


@dataclass
class FaqAdminDeps:
    store: FaqStore
    index: LiveIndex
    max_upload: int = 5 * 1024 * 1024  # the root app's client_max_size must allow this too
    pending_ttl: float = 15 * 60
    # Uploaded files between preview and commit: token → (tenant, username, parsed, expiry). Per process: the
    # commit must reach the process that showed the preview (sticky sessions, or one web process).
    pending: dict[str, tuple[str, str, ParsedFile, float]] = field(default_factory=dict)
    unanswered: UnansweredStore | None = None  # the improvement loop's list (None: the page says it is off)
    languages: tuple[str, ...] = ("ja-easy", "en", "zh-Hans", "ko", "vi")  # translation fields in the edit form


FAQ_ADMIN = web.AppKey("faq_admin", FaqAdminDeps)
FAQ_JINJA = web.AppKey("faq_admin_jinja", jinja2.Environment)


def create_app(deps: FaqAdminDeps) -> web.Application:
    app = web.Application()
    app[FAQ_ADMIN] = deps
    setup_room_templates(app, TEMPLATES, FAQ_JINJA)
    app.router.add_get("/", list_page, name="faq_list")
    app.router.add_get("/new", new_page)
    app.router.add_post("/new", new_submit)
    app.router.add_get("/import", import_page)
    app.router.add_post("/import", import_preview)
    app.router.add_post("/import/commit", import_commit)
    app.router.add_get("/export.csv", export_csv)
    app.router.add_get("/entry/{id}", edit_page)
    app.router.add_post("/entry/{id}", edit_submit)
    app.router.add_post("/entry/{id}/delete", delete_submit)
    app.router.add_get("/entry/{id}/history", history_page)
    app.router.add_get("/unanswered", unanswered_page, name="faq_unanswered")
    app.router.add_post("/unanswered/attach", unanswered_attach)
    app.router.add_post("/unanswered/dismiss", unanswered_dismiss)
    return app


def _deps(request: web.Request) -> FaqAdminDeps:
    return request.config_dict[FAQ_ADMIN]


def _base(request: web.Request) -> str:
    return str(request.app.router["faq_list"].url_for()).rstrip("/")


def _back(request: web.Request, notice: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{_base(request)}/?notice={quote(notice)}")


def _render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    resp = aiohttp_jinja2.render_template(
        template, request, {**template_context(request), "base": _base(request), **context},
        app_key=FAQ_JINJA, status=status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _entry_id(request: web.Request) -> str:
    entry_id = request.match_info["id"]
    if not _ID.match(entry_id):
        raise web.HTTPNotFound()
    return entry_id


async def _audit(request: web.Request, action: str, target: str = "", **detail: Any) -> None:
    await staff_service.audit(request.config_dict[STAFF_DEPS].store, request[SESSION], action, target, **detail)


def _can_edit(request: web.Request) -> bool:
    return request[SESSION].role in EDIT


# -- list / search -------------------------------------------------------------------------------------------------
@require_role(*VIEW)
async def list_page(request: web.Request) -> web.Response:
    deps, tenant = _deps(request), request[SESSION].tenant
    query = request.query.get("q", "").strip()[:200]
    if query:
        hits = await deps.index.search(tenant, query, 30)
        by_id = {e.id: e for e in await deps.store.all(tenant)}
        entries = [by_id[h.id] for h in hits if h.id in by_id]
    else:
        entries = await deps.store.all(tenant)
    return _render(request, "faq_list.html", {
        "entries": entries[:500], "total": len(entries), "q": query, "can_edit": _can_edit(request),
        "notice": request.query.get("notice", "")[:200],
    })


# -- create / edit / delete ----------------------------------------------------------------------------------------
FORM_FIELDS = ("id", "question", "answer", "category", "url", "updated", "keywords", "alternatives")
_KEYS = re.compile(r"^[0-9a-f]{16}$")


def _languages(deps: FaqAdminDeps, entry: FaqEntry | None = None) -> list[str]:
    extra = [lang for lang in (entry.translations if entry else {}) if lang not in deps.languages]
    return [*deps.languages, *extra]


def _form_values(form: Any, languages: list[str]) -> dict[str, str]:
    values = {k: str(form.get(k, "")) for k in FORM_FIELDS}
    for lang in languages:
        for part in ("question", "answer"):
            values[f"{part}:{lang}"] = str(form.get(f"{part}:{lang}", ""))
    return values


def _values_of(entry: FaqEntry) -> dict[str, str]:
    values = {k: str(getattr(entry, k)) for k in FORM_FIELDS if k not in ("keywords", "alternatives")}
    values["keywords"] = "、".join(entry.keywords)
    values["alternatives"] = "\n".join(entry.alternatives)
    for lang, t in entry.translations.items():
        values[f"question:{lang}"], values[f"answer:{lang}"] = t.question, t.answer
    return values


def _edit_context(deps: FaqAdminDeps, values: dict[str, str], entry: FaqEntry | None = None) -> dict[str, Any]:
    return {"values": values, "languages": [(lang, LANGUAGE_NAMES.get(lang, lang)) for lang in
                                             _languages(deps, entry)]}


def _unanswered_keys(raw: Any) -> list[str]:
    return [k for k in str(raw or "").split(",") if _KEYS.match(k)][:200]


@require_role(*EDIT)
async def new_page(request: web.Request) -> web.Response:
    """A blank entry, or (``?from=<keys>``, the unanswered list's "new FAQ from this") one whose question is the
    cluster's most asked wording and whose other wordings become alternative questions."""
    deps, tenant = _deps(request), request[SESSION].tenant
    values = {k: "" for k in FORM_FIELDS}
    keys = _unanswered_keys(request.query.get("from"))
    if keys and deps.unanswered is not None:
        by_key = {q.key: q for q in await deps.unanswered.list(tenant)}
        found = [by_key[k] for k in keys if k in by_key]
        japanese = sorted((q for q in found if q.lang.startswith("ja")), key=lambda q: (-q.count, -q.last))
        if japanese:
            values["question"] = japanese[0].text
            values["alternatives"] = "\n".join(q.text for q in japanese[1:])
        for q in found:
            if not q.lang.startswith("ja") and not values.get(f"question:{q.lang}"):
                values[f"question:{q.lang}"] = q.text
    return _render(request, "faq_edit.html", {**_edit_context(deps, values), "is_new": True, "version": 0,
                                              "from_keys": ",".join(keys)})


@require_role(*EDIT)
async def new_submit(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    form = await request.post()
    values = _form_values(form, _languages(deps))
    keys = _unanswered_keys(form.get("from_keys"))
    entry, error = entry_from_fields(session.tenant, values)
    if entry is not None:
        try:
            await deps.store.put(entry, who=session.username, expected_version=0)
        except VersionConflict:
            error = f"ID {entry.id} は既に使われています。別の ID にしてください。"
    if error:
        return _render(request, "faq_edit.html", {**_edit_context(deps, values), "is_new": True, "version": 0,
                                                  "error": error, "from_keys": ",".join(keys)}, status=400)
    await _audit(request, "faq.create", entry.id, from_unanswered=len(keys))
    if keys and deps.unanswered is not None:
        await deps.unanswered.remove(session.tenant, keys)
    await deps.index.index(session.tenant)  # rebuild now, not on the next resident's question
    raise _back(request, f"{entry.id} を登録しました")


@require_role(*VIEW)
async def edit_page(request: web.Request) -> web.Response:
    deps, tenant = _deps(request), request[SESSION].tenant
    entry = await deps.store.get(tenant, _entry_id(request))
    if entry is None:
        raise web.HTTPNotFound(text="no such entry")
    return _render(request, "faq_edit.html", {
        **_edit_context(deps, _values_of(entry), entry), "is_new": False, "version": entry.version,
        "can_edit": _can_edit(request),
    })


@require_role(*EDIT)
async def edit_submit(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    entry_id = _entry_id(request)
    form = await request.post()
    current = await deps.store.get(session.tenant, entry_id)
    if current is None:
        raise web.HTTPNotFound(text="no such entry")
    values = _form_values(form, _languages(deps, current))
    values["id"] = entry_id  # the ID is the key: never renamed through the form
    version = int(form.get("version", "0")) if str(form.get("version", "0")).isdigit() else -1
    entry, error = entry_from_fields(session.tenant, values)
    if entry is not None:
        entry.municipality_code, entry.municipality_name = current.municipality_code, current.municipality_name
        try:
            await deps.store.put(entry, who=session.username, expected_version=version)
        except VersionConflict:
            error = "保存できませんでした。開いている間に他の職員がこの項目を更新しました。内容を確かめて、もう一度編集してください。"
    if error:
        status = 409 if entry is not None else 400
        return _render(request, "faq_edit.html", {
            **_edit_context(deps, values, current), "is_new": False, "version": version, "error": error,
            "can_edit": True}, status=status)
    await _audit(request, "faq.update", entry_id)
    await deps.index.index(session.tenant)
    raise _back(request, f"{entry_id} を更新しました")


@require_role(*EDIT)
async def delete_submit(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    entry_id = _entry_id(request)
    if await deps.store.delete(session.tenant, entry_id, who=session.username):
        await _audit(request, "faq.delete", entry_id)
        await deps.index.index(session.tenant)
    raise _back(request, f"{entry_id} を削除しました")


@require_role(*VIEW)
async def history_page(request: web.Request) -> web.Response:
    deps, tenant = _deps(request), request[SESSION].tenant
    entry_id = _entry_id(request)
    changes = await deps.store.history(tenant, entry_id, limit=100)
    labels = dict((name, label) for label, name in EXPORT_COLUMNS)
    rows = []
    for c in changes:
        before, after = c.before or {}, c.after or {}
        diffs = [(labels.get(k, k), before.get(k, ""), after.get(k, "")) for k in labels
                 if before.get(k, "") != after.get(k, "")]
        kind = "作成" if c.before is None else "削除" if c.after is None else "更新"
        rows.append({"who": c.who, "at": time.strftime("%Y-%m-%d %H:%M", time.localtime(c.at)), "kind": kind,
                     "diffs": diffs})
    return _render(request, "faq_history.html", {"entry_id": entry_id, "rows": rows})


# -- import / export -----------------------------------------------------------------------------------------------
@require_role(*EDIT)
async def import_page(request: web.Request) -> web.Response:
    return _render(request, "faq_import.html", {"stage": "upload"})


@require_role(*EDIT)
async def import_preview(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return _render(request, "faq_import.html", {"stage": "upload", "error": "ファイルを選んでください。"}, 400)
    data = upload.file.read(deps.max_upload + 1)
    try:
        parsed = parse_bytes(data, session.tenant, is_json=upload.filename.lower().endswith(".json"),
                             max_bytes=deps.max_upload)
    except FaqImportError as exc:
        return _render(request, "faq_import.html", {"stage": "upload", "error": str(exc)}, 400)
    now = time.time()
    for token in [t for t, p in deps.pending.items() if p[3] < now]:
        del deps.pending[token]
    token = secrets.token_urlsafe(18)
    deps.pending[token] = (session.tenant, session.username, parsed, now + deps.pending_ttl)
    existing = {e.id: e for e in await deps.store.all(session.tenant)}
    rows = []
    for e in parsed.entries:
        old = existing.get(e.id)
        status = "新規" if old is None else "変更なし" if old.content() == e.content() else "更新"
        rows.append({"line": parsed.lines.get(e.id), "id": e.id, "question": e.question, "status": status})
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("新規", "更新", "変更なし")}
    return _render(request, "faq_import.html", {
        "stage": "preview", "rows": rows[:1000], "errors": parsed.errors, "counts": counts, "token": token,
        "encoding": parsed.encoding, "filename": upload.filename,
    })


@require_role(*EDIT)
async def import_commit(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    token = str((await request.post()).get("token", ""))
    pending = deps.pending.pop(token, None)
    if pending is None or pending[0] != session.tenant or pending[1] != session.username or pending[3] < time.time():
        return _render(request, "faq_import.html", {
            "stage": "upload", "error": "プレビューの有効期限が切れました。もう一度ファイルを選んでください。"}, 400)
    report = await import_entries(deps.store, session.tenant, pending[2], who=session.username)
    await _audit(request, "faq.import", created=report.created, updated=report.updated, errors=len(report.errors))
    await deps.index.index(session.tenant)
    return _render(request, "faq_import.html", {"stage": "done", "report": report})


@require_role(*VIEW)
async def export_csv(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    out = io.StringIO()
    write_csv(await deps.store.all(session.tenant), out)
    await _audit(request, "faq.export")
    return web.Response(
        body=out.getvalue().encode("utf-8-sig"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="faq-{session.tenant}.csv"',
                 "Cache-Control": "no-store"},
    )


# -- the improvement loop: unanswered questions ----------------------------------------------------------------------
def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


@require_role(*EDIT)
async def unanswered_page(request: web.Request) -> web.Response:
    """Questions the bot could not answer or answered with 👎 (last 90 days), grouped by similarity, each group with
    the entries the bot would suggest for it (to attach the wording as an alternative question)."""
    deps, tenant = _deps(request), request[SESSION].tenant
    groups = []
    if deps.unanswered is not None:
        questions = await deps.unanswered.list(tenant)
        index = await deps.index.index(tenant)
        for cluster in clusters(questions, index.analyzer, index.idf)[:200]:
            label = cluster.label
            hits = await deps.index.search(tenant, label.text, 5, lang=label.lang)
            groups.append({
                "label": label.text, "lang": label.lang, "count": cluster.count, "first": _when(cluster.first),
                "last": _when(cluster.last), "down": "down" in cluster.reasons,
                "choices": cluster.reasons == {"choices"}, "member_keys": ",".join(cluster.keys),
                "others": [(q.text, q.count) for q in cluster.members if q.key != label.key],
                "suggestions": [(h.id, h.question) for h in hits],
            })
    return _render(request, "faq_unanswered.html", {
        "groups": groups, "enabled": deps.unanswered is not None, "notice": request.query.get("notice", "")[:200]})


def _back_to_unanswered(request: web.Request, notice: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{_base(request)}/unanswered?notice={quote(notice)}")


@require_role(*EDIT)
async def unanswered_attach(request: web.Request) -> web.Response:
    """Attach a group's wordings to an entry as alternative questions: indexed at once, searched like the question."""
    deps, session = _deps(request), request[SESSION]
    form = await request.post()
    keys = _unanswered_keys(form.get("keys"))
    entry_id = str(form.get("entry_id", "")).strip()
    if deps.unanswered is None or not keys or not _ID.match(entry_id):
        raise _back_to_unanswered(request, "追加先の質問 ID を指定してください")
    entry = await deps.store.get(session.tenant, entry_id)
    if entry is None:
        raise _back_to_unanswered(request, f"ID {entry_id} の質問はありません")
    by_key = {q.key: q for q in await deps.unanswered.list(session.tenant)}
    wordings = [by_key[k].text for k in keys if k in by_key]
    known = {entry.question, *entry.alternatives}
    entry.alternatives = [*entry.alternatives, *dict.fromkeys(w for w in wordings if w not in known)]
    try:
        await deps.store.put(entry, who=session.username, expected_version=entry.version)
    except VersionConflict:
        raise _back_to_unanswered(request, "同時に他の職員が更新しました。もう一度お試しください") from None
    await deps.unanswered.remove(session.tenant, keys)
    await _audit(request, "faq.attach_alternatives", entry_id, count=len(wordings))
    await deps.index.index(session.tenant)
    raise _back_to_unanswered(request, f"{len(wordings)} 件の言い方を {entry_id} に追加しました")


@require_role(*EDIT)
async def unanswered_dismiss(request: web.Request) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    keys = _unanswered_keys((await request.post()).get("keys"))
    removed = await deps.unanswered.remove(session.tenant, keys) if deps.unanswered is not None else 0
    await _audit(request, "faq.unanswered_dismiss", count=removed)
    raise _back_to_unanswered(request, f"{removed} 件を一覧から外しました")
