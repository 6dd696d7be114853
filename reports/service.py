"""Service functions of the reports room. They take the ports (``ReportsDeps``) as an argument; no I/O elsewhere.

Chat handlers (``reports.chat``), staff pages (``reports.web``), Open311 (``reports.open311``) and the scheduler jobs
all call these, so a status change made anywhere reaches residents the same way and lands in the report's history.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot import i18n
from bot.users import UserStore
from reports.config import ReportsConfig
from reports.model import OPEN_STATUSES, STATUSES, Draft, HistoryEntry, Note, Report, Status
from reports.photos import PhotoStore
from reports.store import DraftStore, ReportStore
from reports.texts import TEXTS, t

log = logging.getLogger("civicbot.reports")
JST = dt.timezone(dt.timedelta(hours=9))
HOUR = 3600


class Area(Protocol):
    """The tenant's territory: where reports may be filed, and an outline for the staff map."""

    def place(self, tenant: str, lat: float, lng: float) -> str | None:
        """A place label (大阪市北区梅田一丁目) when the point is inside the tenant's area, else None."""
        ...

    def outline(self, tenant: str) -> list[tuple[float, float]]:
        """(lat, lng) points of the area's boundary, in order (may be an approximation)."""
        ...


class ContentSource(Protocol):
    """The image a resident sent (LINE's message content API)."""

    async def fetch(self, tenant: str, message_id: str, max_bytes: int) -> bytes:
        """The bytes; raises ``ContentTooLarge`` above ``max_bytes`` and ``ContentUnavailable`` otherwise."""
        ...


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Send one plain-text mail; raises ``MailError`` when the relay refuses it or cannot be reached."""
        ...


class MailError(Exception):
    """The mail was not sent (relay unreachable, TLS or login refused); the message names the relay, never a secret."""


@dataclass(frozen=True)
class StatusNotice:
    """A status change to tell a report's reporter and followers (who exactly is resolved when it is sent, by
    ``notice_audience``)."""

    tenant: str
    report_id: str
    key: str  # "<report id>:<history length>": the same change handed over twice is delivered once
    messages: dict[str, list[dict]]  # language -> LINE messages; "ja" always (the fallback)


class StatusNotices(Protocol):
    """Where status notices go: the delivery engine (the composition root wires it), which sends each with a retry
    key written before the first attempt and retries LINE's 429/5xx with backoff, so a failing LINE loses nothing
    and a retried push is never delivered twice."""

    async def submit(self, notice: StatusNotice) -> str:
        """Queue the notice (idempotent on ``key``); returns the delivery's id."""
        ...


class ReportsKpi(Protocol):
    """The statistics this room feeds to the open data (``kpi.recorder.KpiRecorder`` fits): counts per category."""

    async def report_opened(self, tenant: str, category: str) -> None: ...
    async def report_closed(self, tenant: str, category: str) -> None: ...


class ContentTooLarge(Exception):
    pass


class ContentUnavailable(Exception):
    pass


class ReportError(Exception):
    """A refused staff/API action, with a message safe to show."""


@dataclass
class ReportsDeps:
    reports: ReportStore
    drafts: DraftStore
    photos: PhotoStore
    notices: StatusNotices
    users: UserStore
    area: Area
    configs: Mapping[str, ReportsConfig]
    content: ContentSource | None = None
    mailer: Mailer | None = None
    kpi: ReportsKpi | None = None  # daily counts for the open data; None = not recorded
    clock: Callable[[], float] = time.time
    display_names: Mapping[str, str] = field(default_factory=dict)  # tenant -> city name for texts

    def config(self, tenant: str) -> ReportsConfig:
        return self.configs.get(tenant) or ReportsConfig()


def category_label(cfg: ReportsConfig, cid: str, lang: str) -> str:
    """The tenant's own label for ``lang`` if it gave one, else the catalogue's; the catalogue's fallback rule
    (ja-easy → ja, others → en → ja) applies to the tenant's labels too."""
    cat = cfg.category(cid)
    labels = cat.labels if cat is not None else {}
    if lang in labels:
        return labels[lang]
    if f"cat.{cid}" in TEXTS:
        return t(f"cat.{cid}", lang)
    return i18n.pick(labels, lang) or next(iter(labels.values()), cid)


def status_label(status: str, lang: str) -> str:
    return t(f"status.{status}", lang)


def date_label(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, JST).strftime("%Y-%m-%d")


# ---------------------------------------------------------------- resident side


async def may_file(deps: ReportsDeps, tenant: str, who: str, per_hour: int) -> bool:
    return await deps.drafts.hits(tenant, who, HOUR) < per_hour


async def find_duplicate(deps: ReportsDeps, tenant: str, category: str, lat: float, lng: float) -> Report | None:
    """The nearest open report of the same category within the tenant's radius (30 m), following merges."""
    near = await deps.reports.near_open(tenant, category, lat, lng, deps.config(tenant).duplicate_radius_m)
    for rid, _ in near:
        report = await deps.reports.get(tenant, rid)
        if report is not None and report.is_open:
            return report
    return None


async def file_report(deps: ReportsDeps, draft: Draft) -> Report:
    """Turn a finished draft into a report (the draft is deleted by the caller)."""
    if draft.lat is None or draft.lng is None or not draft.category:
        raise ReportError("draft is not complete")
    cfg = deps.config(draft.tenant)
    cat = cfg.category(draft.category)
    now = deps.clock()
    report = Report(
        tenant=draft.tenant,
        id=await deps.reports.next_id(draft.tenant),
        category=draft.category,
        lat=draft.lat,
        lng=draft.lng,
        created_at=now,
        updated_at=now,
        reporter=draft.user_id,
        comment=draft.comment,
        address=draft.address,
        photos=list(draft.photos),
        department=cat.department if cat else "",
        history=[HistoryEntry(now, "resident", "created", {"source": "line"})],
    )
    await deps.reports.create(report)
    await deps.drafts.count(draft.tenant, draft.user_id, HOUR)
    await opened(deps, report)
    log.info("report filed", extra={"tenant": draft.tenant, "report": report.id, "category": report.category})
    return report


async def opened(deps: ReportsDeps, report: Report) -> None:
    """Count a new report (LINE or Open311) in the day's statistics."""
    if deps.kpi is not None:
        await deps.kpi.report_opened(report.tenant, report.category)


async def follow(deps: ReportsDeps, tenant: str, report_id: str, user_id: str, photos: Sequence[str] = ()) -> Report | None:
    """The resident adds theirs to an existing report: they get its updates; their photos join it."""

    def add(r: Report) -> None:
        if user_id != r.reporter and user_id not in r.followers:
            r.followers.append(user_id)
        r.photos.extend(p for p in photos if p not in r.photos)
        r.history.append(HistoryEntry(deps.clock(), "resident", "follow", {"photos": str(len(photos))}))

    return await deps.reports.update(tenant, report_id, add)


async def reports_of(deps: ReportsDeps, tenant: str, user_id: str, limit: int = 10) -> list[Report]:
    rows = [r for r in await deps.reports.get_many(tenant, await deps.reports.of_user(tenant, user_id)) if r is not None]
    return sorted(rows, key=lambda r: r.created_at, reverse=True)[:limit]


async def drop_photos(deps: ReportsDeps, tenant: str, keys: Sequence[str]) -> None:
    for key in keys:
        await deps.photos.delete(tenant, key)


# ---------------------------------------------------------------- staff side


async def change_status(
    deps: ReportsDeps,
    tenant: str,
    report_id: str,
    status: str,
    text: str,
    actor: str,
    fix_photo: str = "",
    photo_url: str | None = None,
) -> Report:
    """受付 → 対応中 → 完了 / 対応できません (a reason is required); residents following it are told."""
    if status not in STATUSES:
        raise ReportError(f"unknown status {status!r}")
    if status == "declined" and not text.strip():
        raise ReportError("「対応できません」には理由（住民向けの説明）が必要です。")
    new_status: Status = status  # type: ignore[assignment]
    ended = False  # this change closed an open report (counted once, whatever the update's retries)

    def apply(r: Report) -> None:
        nonlocal ended
        if r.merged_into:
            raise ReportError(f"{r.id} は {r.merged_into} に統合済みです。統合先を更新してください。")
        ended = r.is_open and new_status not in OPEN_STATUSES
        r.status = new_status
        r.status_text = text.strip()[:1000]
        if fix_photo:
            r.fix_photo = fix_photo
        r.updated_at = deps.clock()
        r.history.append(
            HistoryEntry(
                r.updated_at, actor, "status", {"status": status, "text": r.status_text, "photo": "1" if fix_photo else ""}
            )
        )

    report = await deps.reports.update(tenant, report_id, apply)
    if report is None:
        raise ReportError(f"no report {report_id}")
    if ended and deps.kpi is not None:
        await deps.kpi.report_closed(tenant, report.category)
    await notify(deps, report, photo_url)
    return report


def status_messages(deps: ReportsDeps, report: Report, lang: str, photo_url: str | None) -> list[dict]:
    cfg = deps.config(report.tenant)
    body = t(
        "status_push",
        lang,
        ref=report.id,
        category=category_label(cfg, report.category, lang),
        status=status_label(report.status, lang),
    )
    if report.status_text:
        body += "\n" + t("status_note", lang, text=report.status_text)
    messages: list[dict[str, Any]] = [{"type": "text", "text": body[:5000]}]
    if photo_url:
        messages.append({"type": "image", "originalContentUrl": photo_url, "previewImageUrl": photo_url})
    return messages


async def notice_audience(reports: ReportStore, users: UserStore, tenant: str, report_id: str) -> list[tuple[str, str]]:
    """Who hears about a report's status: (LINE id, language) of its reporter (when from LINE) and every follower —
    merged duplicates' people included — who is still a friend of the account."""
    report = await reports.get(tenant, report_id)
    recipients = report.recipients() if report is not None else []
    if not recipients:
        return []
    found = await users.get_many(tenant, recipients)
    return [(uid, user.language if user else "ja") for uid, user in zip(recipients, found) if user is None or user.active]


async def notify(deps: ReportsDeps, report: Report, photo_url: str | None = None) -> str | None:
    """Hand the new status to the delivery engine, in the language of each resident who will hear it; returns the
    delivery's id (None: nobody to tell). A LINE 429/5xx is the engine's to retry, not this request's."""
    audience = await notice_audience(deps.reports, deps.users, report.tenant, report.id)
    if not audience:
        return None
    languages = sorted({"ja", *(lang for _, lang in audience)})
    messages = {lang: status_messages(deps, report, lang, photo_url) for lang in languages}
    return await deps.notices.submit(StatusNotice(report.tenant, report.id, f"{report.id}:{len(report.history)}", messages))


async def assign(deps: ReportsDeps, tenant: str, report_id: str, department: str, actor: str) -> Report:
    if department not in deps.config(tenant).departments:
        raise ReportError(f"unknown department {department!r}")

    def apply(r: Report) -> None:
        r.department = department
        r.updated_at = deps.clock()
        r.history.append(HistoryEntry(r.updated_at, actor, "assign", {"department": department}))

    report = await deps.reports.update(tenant, report_id, apply)
    if report is None:
        raise ReportError(f"no report {report_id}")
    return report


async def add_note(deps: ReportsDeps, tenant: str, report_id: str, text: str, actor: str) -> Report:
    text = text.strip()
    if not text:
        raise ReportError("メモが空です。")

    def apply(r: Report) -> None:
        now = deps.clock()
        r.notes.append(Note(now, actor, text[:2000]))
        r.history.append(HistoryEntry(now, actor, "note"))

    report = await deps.reports.update(tenant, report_id, apply)
    if report is None:
        raise ReportError(f"no report {report_id}")
    return report


async def merge(deps: ReportsDeps, tenant: str, duplicate_id: str, into_id: str, actor: str) -> Report:
    """Fold a duplicate into another report: its reporter and followers follow the target, its photos join it."""
    if duplicate_id == into_id:
        raise ReportError("同じ通報どうしは統合できません。")
    dup = await deps.reports.get(tenant, duplicate_id)
    target = await deps.reports.get(tenant, into_id)
    if dup is None or target is None:
        raise ReportError("通報が見つかりません。")
    if target.merged_into:
        raise ReportError(f"{into_id} は {target.merged_into} に統合済みです。")
    if dup.merged_into:
        raise ReportError(f"{duplicate_id} は統合済みです。")
    now = deps.clock()

    def fold(r: Report) -> None:
        for uid in dup.recipients():
            if uid != r.reporter and uid not in r.followers:
                r.followers.append(uid)
        r.photos.extend(p for p in dup.photos if p not in r.photos)
        r.updated_at = now
        r.history.append(HistoryEntry(now, actor, "merge", {"from": duplicate_id}))

    def mark(r: Report) -> None:
        r.merged_into = into_id
        r.updated_at = now
        r.history.append(HistoryEntry(now, actor, "merge", {"into": into_id}))

    merged = await deps.reports.update(tenant, into_id, fold)
    await deps.reports.update(tenant, duplicate_id, mark)
    assert merged is not None
    return merged


async def purge_expired(deps: ReportsDeps, tenant: str) -> int:
    """Retention: reports closed/declined/merged longer ago than ``retention_days`` go, with their photos; photos of
    drafts that were never filed go after a day."""
    cfg = deps.config(tenant)
    now = deps.clock()
    gone = 0
    for rid in await deps.reports.ended_before(tenant, now - cfg.retention_days * 86400):
        report = await deps.reports.get(tenant, rid)
        if report is None:
            continue
        await drop_photos(deps, tenant, [*report.photos, *([report.fix_photo] if report.fix_photo else [])])
        await deps.reports.delete(tenant, rid)
        gone += 1
    kept: set[str] = set()
    stale = await deps.photos.older_than(tenant, now - 86400)
    if stale:
        for report in await deps.reports.get_many(tenant, await deps.reports.ids(tenant)):
            if report is not None:
                kept.update(report.photos)
                kept.add(report.fix_photo)
        await drop_photos(deps, tenant, [k for k in stale if k not in kept])
    return gone


def digest_text(deps: ReportsDeps, tenant: str, department: str, reports: Sequence[Report], base_url: str) -> str:
    cfg = deps.config(tenant)
    lines = [f"{cfg.departments[department].name} 御中", "", f"未完了の通報 {len(reports)} 件（新しい順）", ""]
    for r in reports:
        age = int((deps.clock() - r.created_at) // 86400)
        lines.append(
            f"- {r.id} {category_label(cfg, r.category, 'ja')} {status_label(r.status, 'ja')} 受付 {date_label(r.created_at)}（{age}日経過） {r.address}"
        )
        if base_url:
            lines.append(f"  {base_url.rstrip('/')}/admin/reports/{r.id}")
    lines += ["", "このメールは civicbot から毎日送られます。通報者の個人情報は含みません。"]
    return "\n".join(lines)


async def send_digests(deps: ReportsDeps, tenant: str, base_url: str = "") -> dict[str, int]:
    """One e-mail per department with an address: its open reports. Returns department → count sent (a department
    whose mail the relay refused is logged and left out)."""
    if deps.mailer is None:
        return {}
    cfg = deps.config(tenant)
    open_reports = [r for r in await deps.reports.get_many(tenant, await deps.reports.ids(tenant)) if r is not None and r.is_open]
    sent: dict[str, int] = {}
    for dept_id, dept in cfg.departments.items():
        mine = [r for r in open_reports if r.department == dept_id]
        if not dept.email or not mine:
            continue
        subject = f"[{deps.display_names.get(tenant, tenant)}] 通報の日次まとめ {date_label(deps.clock())}：未完了 {len(mine)} 件"
        try:
            await deps.mailer.send(dept.email, subject, digest_text(deps, tenant, dept_id, mine, base_url))
        except MailError as exc:  # one refused mail does not keep the other departments' digests back
            log.warning("digest not sent", extra={"tenant": tenant, "department": dept_id, "error": str(exc)})
            continue
        sent[dept_id] = len(mine)
    return sent


async def counts(deps: ReportsDeps, tenant: str) -> dict[str, dict[str, int]]:
    """Reports per category and status (dashboard, open data); merged duplicates are not counted twice."""
    out: dict[str, dict[str, int]] = {}
    for r in await deps.reports.get_many(tenant, await deps.reports.ids(tenant)):
        if r is None or r.merged_into:
            continue
        out.setdefault(r.category, {s: 0 for s in STATUSES})[r.status] += 1
    return out


async def count_table(deps: ReportsDeps, tenant: str, lang: str) -> tuple[str, list[str], list[tuple[str, list[int]]]]:
    """The public dashboard's table: (title, status column labels, [(category label, counts per status)])."""
    cfg = deps.config(tenant)
    table = await counts(deps, tenant)
    rows = [(category_label(cfg, c.id, lang), [table.get(c.id, {}).get(s, 0) for s in STATUSES]) for c in cfg.categories]
    return t("dashboard_title", lang), [status_label(s, lang) for s in STATUSES], rows
