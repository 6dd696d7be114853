"""Supervisors' review list for counsellors' crisis marks (``/admin/crisis-review``). Mounted by the composition
root as a sub-app::

    app.add_subapp("/admin/crisis-review", crisisreview.web.create_app(review_deps))

Gate: ``staff.web.require_role("admin", "supervisor")``; data only from the session's tenant, so another tenant's
item id is simply not found. Every decision is in the staff audit log (item id, decision, label; never the text).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from crisisreview import service
from crisisreview.model import CATEGORIES, CATEGORY_LABELS, ReviewError
from crisisreview.service import ReviewDeps
from staff import service as staff_service
from staff.web import SESSION, STAFF_DEPS, format_ts, require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
REVIEW = web.AppKey("crisis_review_deps", ReviewDeps)
REVIEW_JINJA = web.AppKey("crisis_review_jinja", jinja2.Environment)
ROLES = ("admin", "supervisor")
CSP = "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
LEVEL_LABELS = {"crisis": "危機", "concern": "懸念", "none": "検知なし"}
VERDICT_LABELS = {"missed": "危険を見逃した", "not_crisis": "危険ではない"}
STATUS_LABELS = {"confirmed": "確認", "rejected": "却下"}


def create_app(deps: ReviewDeps) -> web.Application:
    app = web.Application()
    app[REVIEW] = deps
    setup_room_templates(app, TEMPLATES, REVIEW_JINJA, jst=format_ts)
    app.router.add_get("/", review_page, name="crisis_review")
    app.router.add_post("/{item_id}/decide", decide_submit)
    return app


def _base(request: web.Request) -> str:
    return str(request.app.router["crisis_review"].url_for()).rstrip("/")


async def _render(request: web.Request, *, status: int = 200, error: str = "", message: str = "") -> web.Response:
    deps = request.config_dict[REVIEW]
    tenant = request[SESSION].tenant
    ctx = {
        **template_context(request),
        "items": await deps.store.pending(tenant),
        "recent": (await deps.store.reviewed(tenant))[:50],
        "categories": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        "category_labels": CATEGORY_LABELS,
        "level_labels": LEVEL_LABELS,
        "verdict_labels": VERDICT_LABELS,
        "status_labels": STATUS_LABELS,
        "base": _base(request),
        "error": error,
        "message": message,
    }
    resp = aiohttp_jinja2.render_template("crisis_review.html", request, ctx, status=status, app_key=REVIEW_JINJA)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Cache-Control"] = "no-store"
    return resp


@require_role(*ROLES)
async def review_page(request: web.Request) -> web.Response:
    await staff_service.audit(request.config_dict[STAFF_DEPS].store, request[SESSION], "crisis_review.view")
    return await _render(request, message=request.query.get("done", "")[:100])


@require_role(*ROLES)
async def decide_submit(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    form = await request.post()
    item_id = request.match_info["item_id"]
    decision = str(form.get("decision", ""))
    category = str(form.get("category", "")) or None
    if decision not in STATUS_LABELS:
        return await _render(request, status=400, error="「確認」か「却下」を選んでください。")
    try:
        item = await service.decide(request.config_dict[REVIEW], session.tenant, item_id, decision, category, session.username)
    except LookupError:
        return await _render(request, status=404, error="この項目は見つかりません（確認済みか、保存期間を過ぎました）。")
    except ReviewError:
        return await _render(request, status=400, error="危険だった場合は、カテゴリを選んでください。")
    await staff_service.audit(
        request.config_dict[STAFF_DEPS].store,
        session,
        f"crisis_review.{decision}",
        item.id,
        label=item.label,
        verdict=item.verdict,
    )
    raise web.HTTPSeeOther(f"{_base(request)}/?done={STATUS_LABELS[decision]}しました")
