"""Notices service functions: one raw notice in → parsed, placed, kept, delivered (or put on the review list).

Every path ends somewhere an admin can see: a delivered incident (audited ``notice.send``), a kept incident
outside the tenant's municipalities, or a review item with the raw text. Re-processing the same notice is a
no-op (the store refuses a known id, the engine refuses a known source_id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from alerts.geo import Gazetteer
from alerts.notices.config import NoticesConfig
from alerts.notices.delivery import make_job
from alerts.notices.geocode import geocode, town_choices, towns_of
from alerts.notices.model import JST, AuditEntry, Incident, Notice, Placement, ReviewItem, notice_id
from alerts.notices.parse import NoticeError, parse_mail, parse_notice
from alerts.notices.store import IncidentStore
from broadcasts.jobs import Deliverer

log = logging.getLogger("civicbot.notices")
RAW_KEEP = 20_000  # characters of an unreadable notice kept for the review list


@dataclass(frozen=True)
class RawNotice:
    """What an ingestion adapter hands over: a mail (``data``) or an already-textual item (feed entry)."""

    source: str  # imap:<name> / rss:<name>
    source_name: str  # 出典
    received_at: float
    data: bytes | None = None  # RFC 822 mail
    subject: str = ""
    body: str = ""
    published: dt.datetime | None = None


@dataclass
class NoticeDeps:
    gazetteer: Gazetteer
    store: IncidentStore
    deliverer: Deliverer
    config: Callable[[str], NoticesConfig] = field(default=lambda tenant: NoticesConfig())
    subscriptions: object | None = None  # alerts.subscriptions.SubscriptionStore, for chat `nearby`
    clock: Callable[[], float] = time.time
    tenant_ids: tuple[str, ...] = ()  # tenants the scheduler polls for


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered / stored / duplicate / stale / review
    incident: Incident | None = None
    review: ReviewItem | None = None
    job_id: str | None = None


def build_incident(tenant: str, notice: Notice, placement: Placement, *, source: str, source_name: str, received_at: float) -> Incident:
    return Incident(
        id=notice_id(notice),
        tenant=tenant,
        kind=notice.kind,
        heading=notice.heading,
        occurred_at=notice.occurred_at.isoformat() if notice.occurred_at else None,
        time_known=notice.time_known,
        place_text=notice.place_text,
        description=notice.description,
        suspect=notice.suspect,
        advice=notice.advice,
        station=notice.station,
        source=source,
        source_name=source_name,
        precision=placement.precision,
        municipality_code=placement.municipality_code,
        municipality_name=placement.municipality_name,
        town=placement.town,
        lat=placement.lat,
        lng=placement.lng,
        received_at=received_at,
    )


def _in_scope(code: str | None, cfg: NoticesConfig, g: Gazetteer) -> bool:
    if not cfg.municipalities:
        return True
    if code is None:
        return False
    city = g.city_of(code)
    return code in cfg.municipalities or (city is not None and city.jis5 in cfg.municipalities)


async def process(tenant: str, raw: RawNotice, deps: NoticeDeps) -> Outcome:
    """Parse, place, keep, deliver. Never raises for bad input: it becomes a review item."""
    cfg = deps.config(tenant)
    received = dt.datetime.fromtimestamp(raw.received_at, JST)
    try:
        if raw.data is not None:
            notice = parse_mail(raw.data, received_at=received)
        else:
            notice = parse_notice(raw.subject, raw.body, reference=raw.published or received)
    except NoticeError as exc:
        return await _to_review(tenant, raw, exc.reason, deps, subject=exc.subject, text=exc.text)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the notice either
        log.exception("notice parser failed", extra={"tenant": tenant, "source": raw.source})
        return await _to_review(tenant, raw, f"parser error: {type(exc).__name__}", deps)

    # a notice naming no municipality (「北区梅田1丁目」) falls back to the subject's, then to the tenant's own
    home = cfg.municipalities[0] if len(cfg.municipalities) == 1 else ""
    placement = geocode(notice.place_text, deps.gazetteer, hint=notice.municipality_hint or home)
    incident = build_incident(tenant, notice, placement, source=raw.source, source_name=raw.source_name, received_at=raw.received_at)
    if placement.precision == "none":
        incident.status = "review"
        incident.note = placement.reason
        return await _to_review(tenant, raw, f"not placed: {placement.reason}", deps, subject=notice.subject, incident=incident)
    in_scope = cfg.enabled and _in_scope(incident.municipality_code, cfg, deps.gazetteer)
    if not await deps.store.add(incident, retention_days=cfg.retention_days, now=deps.clock()):
        kept = await deps.store.get(tenant, incident.id)
        if kept is not None and kept.status == "stored" and in_scope:
            # kept but never handed over (a crash in between): send now; the engine dedupes on source_id
            return Outcome("delivered", incident=kept, job_id=await send(kept, deps, actor="system"))
        if kept is None:  # older than the retention: not news, not kept, not sent
            return Outcome("stale", incident=incident)
        return Outcome("duplicate", incident=kept)
    if not in_scope:
        return Outcome("stored", incident=incident)
    job_id = await send(incident, deps, actor="system")
    return Outcome("delivered", incident=incident, job_id=job_id)


async def send(incident: Incident, deps: NoticeDeps, *, actor: str) -> str:
    """Hand the incident to the delivery engine, mark it delivered, audit who sent it."""
    cfg = deps.config(incident.tenant)
    unit = deps.gazetteer.get(incident.municipality_code or "")
    job = make_job(incident, radius_m=cfg.radius_m, name_en=unit.name_en if unit else "")
    job_id = await deps.deliverer.submit(job)
    incident.status = "delivered"
    incident.job_id = job_id
    await deps.store.update(incident, retention_days=cfg.retention_days)
    await deps.store.append_audit(
        AuditEntry(
            tenant=incident.tenant, actor=actor, action="notice.send", target=incident.id,
            detail={"job_id": job_id, "precision": incident.precision, "code": incident.municipality_code, "town": incident.town},
            ts=deps.clock(),
        )
    )
    log.info("police notice delivered", extra={"tenant": incident.tenant, "incident": incident.id, "job": job_id})
    return job_id


async def _to_review(
    tenant: str, raw: RawNotice, reason: str, deps: NoticeDeps, *, subject: str = "", text: str = "", incident: Incident | None = None
) -> Outcome:
    if incident is not None:
        item_id = incident.id
    else:
        item_id = hashlib.sha256(raw.data if raw.data is not None else (raw.subject + "\x1f" + raw.body).encode()).hexdigest()[:24]
    kept = text or raw.body or (raw.data or b"")[:RAW_KEEP].decode("utf-8", errors="replace")
    candidates: list[dict] = []
    if incident is not None and incident.municipality_code:
        candidates = town_choices(deps.gazetteer, incident.municipality_code)
    item = ReviewItem(
        id=item_id, tenant=tenant, reason=reason, source=raw.source, received_at=raw.received_at,
        subject=subject or raw.subject, raw=kept[:RAW_KEEP], incident=asdict(incident) if incident else None,
        candidates=candidates,
    )
    if await deps.store.add_review(item):
        await deps.store.append_audit(AuditEntry(tenant, "system", "review.add", item_id, {"reason": reason}, deps.clock()))
        log.warning("police notice needs review", extra={"tenant": tenant, "item": item_id, "reason": reason})
    return Outcome("review", review=item)


async def place_and_send(tenant: str, item_id: str, *, code: str, town: str, actor: str, deps: NoticeDeps) -> Outcome:
    """Admin's manual placement: choose a town of ``code`` (a municipality/ward jis5) and send. Audited twice:
    ``review.place`` (what was chosen) then ``notice.send`` (the job)."""
    item = await deps.store.get_review(tenant, item_id)
    if item is None or item.incident is None:
        raise LookupError("no placeable review item with this id")
    matches = [t for t in towns_of(deps.gazetteer, code) if t.name == town]
    unit = deps.gazetteer.get(code)
    if unit is None:
        raise ValueError(f"市区町村コード {code!r} が見つかりません。")
    incident = Incident(**item.incident)
    if town:
        if not matches:
            raise ValueError(f"「{town}」は{unit.name}の町丁目にありません。一覧から選んでください。")
        t = matches[0]
        owner = deps.gazetteer.get(t.code)
        incident.precision, incident.town, incident.lat, incident.lng = "town", t.name, t.lat, t.lng
        incident.municipality_code, incident.municipality_name = t.code, owner.name if owner else unit.name
    else:
        incident.precision, incident.town, incident.lat, incident.lng = "municipality", "", unit.lat, unit.lng
        incident.municipality_code, incident.municipality_name = unit.jis5, unit.name
    incident.status, incident.note = "placed", f"placed by {actor}"
    cfg = deps.config(tenant)
    await deps.store.append_audit(
        AuditEntry(tenant, actor, "review.place", item_id, {"code": incident.municipality_code, "town": incident.town}, deps.clock())
    )
    if not await deps.store.add(incident, retention_days=cfg.retention_days, now=deps.clock()):
        await deps.store.update(incident, retention_days=cfg.retention_days)
    job_id = await send(incident, deps, actor=actor)
    await deps.store.close_review(tenant, item_id)
    return Outcome("delivered", incident=incident, job_id=job_id)


async def dismiss(tenant: str, item_id: str, *, actor: str, reason: str, deps: NoticeDeps) -> bool:
    """Close a review item without sending (not a notice, a duplicate …); audited with the reason."""
    closed = await deps.store.close_review(tenant, item_id)
    if closed:
        await deps.store.append_audit(AuditEntry(tenant, actor, "review.dismiss", item_id, {"reason": reason}, deps.clock()))
    return closed
