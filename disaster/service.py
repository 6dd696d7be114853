"""Disaster room service functions: menus on LINE, the tenant's mode, thresholds, two-person switches, shelters.

* ``provision_menus`` uploads a tenant's normal and disaster menus (one per language) when their layout changed
  (fingerprint), with an alias per menu, then ``apply_menu`` makes LINE show the menu of the mode in force.
* ``switch_mode`` is the one way a mode changes (automatic from an alert, or a staff approval): atomic and
  idempotent in the store, audited when it changed, then applied on LINE. The store remembers which mode LINE shows
  (``applied``), so a crash between the two is finished by the next ``sync`` (the scheduler runs it every minute).
* ``on_telegram`` turns a JMA telegram into hazards for every tenant whose area reaches its thresholds.
* ``request_switch`` / ``approve_switch``: staff switch by hand with a second person's approval (as broadcasts to
  everyone): the requester cannot approve, approvers are supervisors or admins. Only staff switch back to normal.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from disaster.menus import content_type, fingerprint, menu_specs, render_image, rich_menu_json
from disaster.model import HAZARDS, MODES, MenuRecord, Mode, ModeState, Nearby, OpenStatus, Shelter, SwitchRequest
from disaster.richmenu import RichMenuApi, RichMenuError
from disaster.shelters import ShelterIndex
from disaster.store import DisasterStore, ShelterStore

log = logging.getLogger("civicbot.disaster")

APPROVE_ROLES = ("admin", "supervisor")  # the broadcast composer's rule: a supervisor or admin, not the requester
REQUEST_ROLES = ("editor", "admin", "supervisor")
STATUS_ROLES = ("editor", "admin", "supervisor", "counsellor")
INTENSITIES = ("5-", "5+", "6-", "6+", "7")  # JMA classes the thresholds may name (震度5弱 … 7)
_INTENSITY_ORDER = {"1": 1, "2": 2, "3": 3, "4": 4, "5-": 5, "5+": 6, "6-": 7, "6+": 8, "7": 9}
TSUNAMI_WARNINGS = {"warning": ("大津波警報", "津波警報"), "major": ("大津波警報",)}
# warning names (JMA words) → hazards of the sites residents are sent to
WARNING_HAZARDS = (("土砂", ("landslide",)), ("洪水", ("flood",)), ("高潮", ("storm_surge",)), ("大雨", ("flood", "landslide")))
_LIFTING = {"解除", "警報から注意報", "特別警報から警報", "特別警報から注意報"}

Audit = Callable[[str, str, str, str, dict[str, Any]], Awaitable[None]]  # (tenant, actor, action, target, detail)


class DisasterError(ValueError):
    """A staff action that cannot be done as asked (message shown to staff, in Japanese)."""


class DisasterPolicy(BaseModel):
    """The tenant's ``disaster:`` block: thresholds for the automatic switch and where residents look next."""

    intensity: Literal["5-", "5+", "6-", "6+", "7"] = "5+"  # 震度5強 or higher
    special_warning: bool = True  # any 特別警報 (level 5: also reached by warning_level ≤ 5)
    warning_level: int = Field(default=4, ge=3, le=5)  # 警戒レベル4 相当以上
    tsunami: Literal["warning", "major", "off"] = "warning"  # 津波警報 and 大津波警報
    municipality_url: str = ""  # 「3km 以内にない」ときの案内先


class TenantLike(Protocol):
    id: str
    display_name: str
    languages: list[Any]
    jis5: str


@dataclass
class DisasterDeps:
    store: DisasterStore
    shelters: ShelterStore
    menus_api: RichMenuApi
    tenants: Mapping[str, Any]  # tenant id -> bot.config.Tenant
    audit: Audit
    areas_of: Callable[[str], set[str]] = lambda code: {code}  # alert area code -> municipality codes (gazetteer)
    policies: Mapping[str, DisasterPolicy] = field(default_factory=dict)
    menu_config: Mapping[str, dict | None] = field(default_factory=dict)  # tenant -> rich_menus block
    clock: Callable[[], float] = time.time
    # the resident's registered places with a point (name, lat, lng): alerts' subscriptions, wired by the app
    places: Callable[[str, str], Awaitable[list[tuple[str, float, float]]]] | None = None
    # text folding before matching (the app passes the NLU's: NFKC, width, katakana → hiragana)
    fold: Callable[[str], str] = lambda s: unicodedata.normalize("NFKC", s).lower()
    _indexes: dict[str, tuple[int, ShelterIndex]] = field(default_factory=dict)

    def policy(self, tenant: str) -> DisasterPolicy:
        return self.policies.get(tenant) or DisasterPolicy()

    def languages(self, tenant: str) -> list[str]:
        return [str(x) for x in (self.tenants[tenant].languages or ["ja"])]


# ------------------------------------------------------------------------------------------------ rich menus


def alias_id(tenant: str, mode: str, lang: str) -> str:
    """LINE alias ids: 1–32 of [a-z0-9_-]."""
    return re.sub(r"[^a-z0-9_-]", "-", f"{tenant[:18]}-{mode[:3]}-{lang.lower()}")[:32]


async def provision_menus(deps: DisasterDeps, tenant: str, *, force: bool = False) -> MenuRecord:
    """Create + upload + alias every menu of the tenant when the layout changed; no call when it did not."""
    specs = menu_specs(deps.menu_config.get(tenant))
    langs = deps.languages(tenant)
    fp = fingerprint(specs, langs)
    record = await deps.store.menus(tenant)
    wanted = {f"{m}:{lang}" for m in MODES for lang in langs}
    if not force and record.fingerprint == fp and wanted <= set(record.ids):
        return record
    ids: dict[str, str] = {}
    stale = dict(record.stale)
    stale.update({rid: key for key, rid in record.ids.items()})  # the layout changed: these go once LINE has the new
    for mode in MODES:
        for lang in langs:
            body = rich_menu_json(specs[mode], mode, lang, tenant)
            rid = await deps.menus_api.create(tenant, body)
            image = render_image(specs[mode], mode, lang)
            await deps.menus_api.upload_image(tenant, rid, image, content_type(image))
            await deps.menus_api.set_alias(tenant, alias_id(tenant, mode, lang), rid)
            ids[f"{mode}:{lang}"] = rid
    record = MenuRecord(ids, fp, stale)
    await deps.store.save_menus(tenant, record)
    await deps.store.mark_applied(tenant, "")  # the new menus are not on LINE yet
    log.info("rich menus uploaded", extra={"tenant": tenant, "menus": len(ids)})
    return record


async def apply_menu(deps: DisasterDeps, tenant: str) -> bool:
    """Make LINE show the menus of the mode in force: 1 call for the default menu (every friend without a link),
    1 batch call moving the residents linked to a language menu. True when LINE now matches the store."""
    state = await deps.store.state(tenant)
    if state.applied == state.mode:
        return True
    record = await deps.store.menus(tenant)
    langs = deps.languages(tenant)
    target = record.ids.get(f"{state.mode}:{langs[0]}")
    if target is None:
        log.warning("rich menus not uploaded yet", extra={"tenant": tenant})
        return False
    other = "normal" if state.mode == "disaster" else "disaster"
    moves = {
        record.ids[f"{other}:{lang}"]: record.ids[f"{state.mode}:{lang}"]
        for lang in langs[1:]
        if f"{other}:{lang}" in record.ids and f"{state.mode}:{lang}" in record.ids
    }
    try:
        await deps.menus_api.set_default(tenant, target)
        await deps.menus_api.replace_linked(tenant, moves)
    except RichMenuError as exc:
        log.warning("rich menu switch failed; retried by the next sync", extra={"tenant": tenant, "status": exc.status})
        return False
    await deps.store.mark_applied(tenant, state.mode)
    log.info("rich menu switched", extra={"tenant": tenant, "mode": state.mode, "languages": len(moves)})
    return True


async def retire_stale(deps: DisasterDeps, tenant: str) -> None:
    """After a layout change: residents linked to a replaced language menu move to the new menu of the mode in force
    (one batch call), then the replaced menus are deleted. Only once LINE shows the new menus (``apply_menu``)."""
    record = await deps.store.menus(tenant)
    state = await deps.store.state(tenant)
    if not record.stale or state.applied != state.mode:
        return
    moves = {}
    for rid, key in record.stale.items():
        lang = key.split(":", 1)[1]
        target = record.ids.get(f"{state.mode}:{lang}")
        if target is not None and lang != deps.languages(tenant)[0]:
            moves[rid] = target
    await deps.menus_api.replace_linked(tenant, moves)
    for rid in record.stale:
        await deps.menus_api.delete(tenant, rid)
    await deps.store.save_menus(tenant, MenuRecord(record.ids, record.fingerprint))


async def sync(deps: DisasterDeps, tenants: Iterable[str]) -> None:
    """Scheduler job: upload changed layouts, finish any switch LINE has not seen yet."""
    for tenant in tenants:
        try:
            await provision_menus(deps, tenant)
            if await apply_menu(deps, tenant):
                await retire_stale(deps, tenant)
        except RichMenuError as exc:
            log.warning("rich menu sync failed", extra={"tenant": tenant, "status": exc.status})


async def link_language(deps: DisasterDeps, tenant: str, user_id: str, lang: str) -> None:
    """A resident chose a language: link them to that language's menu of the mode in force (the tenant's first
    language is the default menu: unlink)."""
    langs = deps.languages(tenant)
    if lang == langs[0]:
        await deps.menus_api.unlink(tenant, user_id)
        return
    state = await deps.store.state(tenant)
    record = await deps.store.menus(tenant)
    rid = record.ids.get(f"{state.mode}:{lang}")
    if rid is not None:
        await deps.menus_api.link(tenant, user_id, rid)


# ------------------------------------------------------------------------------------------------------ mode


async def switch_mode(deps: DisasterDeps, tenant: str, mode: Mode, hazards: tuple[str, ...], actor: str, reason: str) -> bool:
    if tenant not in deps.tenants:
        raise DisasterError(f"unknown tenant {tenant}")
    unknown = [h for h in hazards if h not in HAZARDS]
    if unknown:
        raise DisasterError(f"不明な災害種別です：{', '.join(unknown)}")
    before = await deps.store.state(tenant)
    changed = await deps.store.switch(tenant, mode, hazards, actor, reason, deps.clock())
    after = await deps.store.state(tenant)
    if changed:
        await deps.audit(tenant, actor, f"disaster.mode.{mode}", tenant, {"hazards": list(after.hazards), "reason": reason})
    elif after.hazards != before.hazards:
        await deps.audit(tenant, actor, "disaster.hazards", tenant, {"hazards": list(after.hazards), "reason": reason})
    await apply_menu(deps, tenant)
    return changed


async def request_switch(
    deps: DisasterDeps, tenant: str, mode_name: str, hazards: tuple[str, ...], by: str, role: str, reason: str = ""
) -> SwitchRequest:
    """A staff member asks for a switch (``mode_name`` as posted by the form: checked here)."""
    if role not in REQUEST_ROLES:
        raise DisasterError("この操作の権限がありません")
    mode = next((m for m in MODES if m == mode_name), None)
    if mode is None:
        raise DisasterError("モードは normal か disaster です")
    if mode == "disaster" and not hazards:
        raise DisasterError("災害の種類を1つ以上選んでください")
    unknown = [h for h in hazards if h not in HAZARDS]
    if unknown:
        raise DisasterError(f"不明な災害種別です：{', '.join(unknown)}")
    req = SwitchRequest(uuid.uuid4().hex[:12], mode, tuple(hazards) if mode == "disaster" else (), by, deps.clock(), reason[:200])
    await deps.store.put_request(tenant, req)
    await deps.audit(tenant, by, "disaster.request", req.id, {"mode": mode, "hazards": list(req.hazards), "reason": req.reason})
    return req


async def approve_switch(deps: DisasterDeps, tenant: str, request_id: str, by: str, role: str) -> bool:
    if role not in APPROVE_ROLES:
        raise DisasterError("承認できるのはスーパーバイザーか管理者です")
    pending = await deps.store.request(tenant)
    if pending is None or pending.id != request_id:
        raise DisasterError("承認待ちの切り替えが見つかりません（すでに承認・取り消し済みです）")
    if pending.requested_by == by:
        raise DisasterError("依頼した本人は承認できません。別の職員が承認してください")
    taken = await deps.store.take_request(tenant, request_id)
    if taken is None:
        raise DisasterError("承認待ちの切り替えが見つかりません（すでに承認・取り消し済みです）")
    await deps.audit(tenant, by, "disaster.approve", taken.id, {"mode": taken.mode, "requested_by": taken.requested_by})
    reason = f"{taken.reason}（依頼：{taken.requested_by}、承認：{by}）".strip()
    return await switch_mode(deps, tenant, taken.mode, taken.hazards, f"{taken.requested_by}+{by}", reason)


async def cancel_request(deps: DisasterDeps, tenant: str, request_id: str, by: str) -> None:
    taken = await deps.store.take_request(tenant, request_id)
    if taken is not None:
        await deps.audit(tenant, by, "disaster.request.cancel", taken.id, {})


# ------------------------------------------------------------------------------------------------ thresholds


@dataclass(frozen=True)
class Trigger:
    """A telegram reached a tenant's thresholds. ``hazards`` may be empty: a 特別警報 for wind or snow switches the
    mode without a shelter hazard (residents are then asked which hazard they flee)."""

    hazards: tuple[str, ...]


def telegram_trigger(
    tg: Any, tenant_codes: set[str], policy: DisasterPolicy, areas_of: Callable[[str], set[str]]
) -> Trigger | None:
    """Whether a JMA telegram (``alerts.jma.parser.Telegram``, read by attribute) reaches the tenant's thresholds in
    its area, and for which hazards. Drills, tests and cancellations never switch anything."""
    if getattr(tg, "status", "") != "actual" or getattr(tg, "info_type", "") == "cancelled":
        return None
    reached = False
    found: set[str] = set()
    for area in getattr(tg, "areas", ()):
        if not (areas_of(area.code) & tenant_codes):
            continue
        if tg.kind == "earthquake":
            if _INTENSITY_ORDER.get((area.intensity or "").strip(), 0) >= _INTENSITY_ORDER[policy.intensity]:
                reached = True
                found.add("earthquake")
        elif tg.kind == "tsunami":
            names = TSUNAMI_WARNINGS.get(policy.tsunami, ())
            if area.category in names:
                reached = True
                found.add("tsunami")
        elif tg.kind in ("weather_warning", "landslide_warning"):
            for w in area.warnings:
                if w.status in _LIFTING or w.level <= 0:
                    continue
                if (w.level >= 5 and policy.special_warning) or w.level >= policy.warning_level:
                    reached = True
                    for word, hazards in WARNING_HAZARDS:
                        if word in w.name:
                            found.update(hazards)
                            break
    return Trigger(tuple(sorted(found))) if reached else None


async def on_telegram(deps: DisasterDeps, tg: Any) -> dict[str, tuple[str, ...]]:
    """The alerts pipeline's observer: switch every tenant whose thresholds the telegram reaches. Returns
    tenant → hazards for the tenants it touched."""
    touched: dict[str, tuple[str, ...]] = {}
    for tid, tenant in deps.tenants.items():
        codes = {tenant.jis5}
        trigger = telegram_trigger(tg, codes | deps.areas_of(tenant.jis5), deps.policy(tid), deps.areas_of)
        if trigger is None:
            continue
        reason = f"{getattr(tg, 'title', '')}（{getattr(tg, 'type', '')} {getattr(tg, 'event_id', '')}）"
        await switch_mode(deps, tid, "disaster", trigger.hazards, "jma", reason)
        touched[tid] = trigger.hazards
    return touched


# ------------------------------------------------------------------------------------------------ shelters


async def shelter_index(deps: DisasterDeps, tenant: str) -> ShelterIndex:
    version = await deps.shelters.version(tenant)
    cached = deps._indexes.get(tenant)
    if cached is None or cached[0] != version:
        cached = (version, ShelterIndex(await deps.shelters.all(tenant)))
        deps._indexes[tenant] = cached
    return cached[1]


async def nearest_sites(
    deps: DisasterDeps, tenant: str, lat: float, lng: float, hazards: tuple[str, ...], limit: int = 5
) -> list[Nearby]:
    index, statuses = await asyncio.gather(shelter_index(deps, tenant), deps.shelters.statuses(tenant))
    return index.nearest(lat, lng, hazards, limit=limit, statuses=statuses)


async def set_shelter_status(deps: DisasterDeps, tenant: str, shelter_id: str, status: str, by: str) -> OpenStatus:
    if status not in ("open", "crowded", "full", "closed"):
        raise DisasterError("状況は 開設・混雑・満員・閉鎖 のどれかです")
    index = await shelter_index(deps, tenant)
    if not any(s.id == shelter_id for s in index.shelters):
        raise DisasterError("その避難場所は登録されていません")
    value = OpenStatus(status, deps.clock(), by)  # type: ignore[arg-type]
    await deps.shelters.set_status(tenant, shelter_id, value)
    await deps.audit(tenant, by, "shelter.status", shelter_id, {"status": status})
    return value


async def import_shelters(deps: DisasterDeps, tenant: str, shelters: list[Shelter], by: str, source: str) -> int:
    """Replace the sites of each municipality present in ``shelters`` (other municipalities' sites stay)."""
    by_muni: dict[str, list[Shelter]] = {}
    for s in shelters:
        by_muni.setdefault(s.municipality, []).append(s)
    total = 0
    for muni, items in by_muni.items():
        total += await deps.shelters.replace_all(tenant, items, municipality=muni or None)
    await deps.audit(tenant, by, "shelters.import", source, {"sites": total, "municipalities": sorted(by_muni)})
    return total


async def open_shelters(deps: DisasterDeps, tenant: str) -> list[tuple[Shelter, OpenStatus]]:
    """Sites staff marked 開設 or 混雑 (the public dashboard shows them in disaster mode)."""
    statuses = await deps.shelters.statuses(tenant)
    index = await shelter_index(deps, tenant)
    rows = [(s, statuses[s.id]) for s in index.shelters if s.id in statuses and statuses[s.id].status in ("open", "crowded")]
    return sorted(rows, key=lambda r: (r[1].status != "open", r[0].name))


async def mode_summary(deps: DisasterDeps) -> dict[str, ModeState]:
    return {tid: await deps.store.state(tid) for tid in deps.tenants}
