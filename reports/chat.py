"""The resident's side in LINE: 「通報する」 → category → photos → location → comment → confirmation, and 「通報の状況」.

Entry points a rich menu (or any quick reply) can point at: the texts 「通報する」 / 「通報の状況」, or the postbacks
``room=reports&action=start`` / ``room=reports&action=list``. While a draft is open, this room sees the resident's
events before any other room (``on_event``), so a location or a comment is not taken for an alert place or a question.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from bot.chat import Incoming, postback_data, qr_location, qr_postback, text
from reports.model import Draft
from reports.photos import PhotoRefused, clean_photo
from reports.service import (
    ContentTooLarge,
    ContentUnavailable,
    ReportsDeps,
    category_label,
    date_label,
    drop_photos,
    file_report,
    find_duplicate,
    follow,
    may_file,
    reports_of,
    status_label,
)
from reports.texts import t

log = logging.getLogger("civicbot.reports.chat")
START_WORDS = frozenset({"通報する", "通報", "通報したい", "つうほうする", "つうほう", "report", "makeareport", "sendreport"})
LIST_WORDS = frozenset({"通報の状況", "通報状況", "つうほうのじょうきょう", "myreports", "reportstatus"})
COMMENT_MAX = 200
PHOTO_TRIES, PHOTO_WINDOW_S = 10, 600  # photos a resident may send per 10 minutes, accepted or not


def _plain(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).lower().split())


def _pb(label: str, action: str, **params: str) -> dict:
    return qr_postback(label, postback_data("reports", action, **params), display_text=label)


def _cancel(lang: str) -> dict:
    return _pb(t("btn.cancel", lang), "cancel")


def _camera(lang: str) -> list[dict]:
    return [
        {"type": "action", "action": {"type": "camera", "label": t("btn.camera", lang)[:20]}},
        {"type": "action", "action": {"type": "cameraRoll", "label": t("btn.album", lang)[:20]}},
    ]


class ReportsRoom:
    """Router room: ``on_event`` first while a draft is open, ``on_text``/``on_postback`` otherwise."""

    name = "reports"  # the postback namespace: room=reports&action=...

    def __init__(self, deps: ReportsDeps) -> None:
        self.deps = deps

    # ------------------------------------------------------------------ router doors
    async def on_event(self, incoming: Incoming) -> list[dict] | None:
        """Events during an open draft (and the entry words); None = not ours."""
        if not self.deps.config(incoming.tenant.id).enabled:
            return None
        if incoming.kind == "text" and incoming.text:
            word = _plain(incoming.text)
            if word in START_WORDS:
                return await self.start(incoming)
            if word in LIST_WORDS:
                return await self.status_list(incoming)
        if incoming.kind not in ("text", "image", "location"):
            return None
        draft = await self.deps.drafts.get(incoming.tenant.id, incoming.user_id)
        if draft is None:
            return None
        if incoming.kind == "image":
            return await self._photo(incoming, draft)
        if incoming.kind == "location":
            return await self._location(incoming, draft)
        return await self._text(incoming, draft)

    async def on_text(self, incoming: Incoming, parse: Any) -> list[dict] | None:
        return None  # everything textual is decided in on_event, before the NLU

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        action = data.get("action", "")
        if action == "start":
            return await self.start(incoming)
        if action == "list":
            return await self.status_list(incoming)
        draft = await self.deps.drafts.get(incoming.tenant.id, incoming.user_id)
        lang = incoming.language
        if draft is None:
            return [text(t("expired", lang), [_pb(t("btn.send", lang), "start")])]
        if action == "cancel":
            return await self.cancel(incoming, draft)
        if action == "cat" and draft.step == "category" and self.deps.config(draft.tenant).category(data.get("c", "")):
            draft.category = data["c"]
            draft.step = "photo"
            await self._save(draft)
            return [self._ask_photo(draft, lang)]
        if action == "next" and draft.step == "photo":
            draft.step = "location"
            await self._save(draft)
            return [self._ask_location(lang)]
        if action == "follow" and draft.step == "duplicate" and draft.duplicate_of:
            report = await follow(self.deps, draft.tenant, draft.duplicate_of, draft.user_id, draft.photos)
            await self.deps.drafts.delete(draft.tenant, draft.user_id)
            if report is None:
                return [text(t("expired", lang))]
            return [text(t("followed", lang, ref=report.id), [_pb(t("list_head", lang)[:20], "list")])]
        if action == "new" and draft.step == "duplicate":
            draft.step = "comment"
            draft.duplicate_of = ""
            await self._save(draft)
            return [self._ask_comment(lang)]
        if action == "none" and draft.step == "comment":
            draft.step = "confirm"
            await self._save(draft)
            return [self._confirm(draft, lang)]
        if action == "send" and draft.step == "confirm":
            return await self._send(incoming, draft)
        return [self._waiting(draft, lang)]

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        return None  # only inside a draft (on_event)

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None:
        """The resident left: the half-finished report and its photos go; filed reports stay for the city (pushes
        stop because the resident is inactive)."""
        draft = await self.deps.drafts.get(tenant_id, user_id)
        if draft is not None:
            await drop_photos(self.deps, tenant_id, draft.photos)
            await self.deps.drafts.delete(tenant_id, user_id)

    # ------------------------------------------------------------------ steps
    async def start(self, incoming: Incoming) -> list[dict]:
        lang = incoming.language
        tenant = incoming.tenant.id
        cfg = self.deps.config(tenant)
        if not await may_file(self.deps, tenant, incoming.user_id, cfg.reports_per_hour):
            return [text(t("rate_limited", lang))]
        old = await self.deps.drafts.get(tenant, incoming.user_id)
        if old is not None:
            await drop_photos(self.deps, tenant, old.photos)
        draft = Draft(tenant=tenant, user_id=incoming.user_id, started_at=self.deps.clock())
        await self._save(draft)
        items = [_pb(category_label(cfg, c.id, lang), "cat", c=c.id) for c in cfg.categories[:12]]
        return [text(t("ask_category", lang), [*items, _cancel(lang)])]

    async def cancel(self, incoming: Incoming, draft: Draft) -> list[dict]:
        await drop_photos(self.deps, draft.tenant, draft.photos)
        await self.deps.drafts.delete(draft.tenant, draft.user_id)
        return [text(t("cancelled", incoming.language))]

    async def status_list(self, incoming: Incoming) -> list[dict]:
        lang = incoming.language
        cfg = self.deps.config(incoming.tenant.id)
        rows = await reports_of(self.deps, incoming.tenant.id, incoming.user_id)
        if not rows:
            return [text(t("list_empty", lang), [_pb(t("btn.send", lang), "start")])]
        lines = [t("list_head", lang)]
        for r in rows:
            shown = r
            if r.merged_into:
                shown = await self.deps.reports.get(r.tenant, r.merged_into) or r
            lines.append(
                t(
                    "list_line",
                    lang,
                    ref=r.id,
                    category=category_label(cfg, r.category, lang),
                    status=status_label(shown.status, lang),
                    date=date_label(r.created_at),
                )
            )
        return [text("\n".join(lines))]

    async def _photo(self, incoming: Incoming, draft: Draft) -> list[dict]:
        lang = incoming.language
        cfg = self.deps.config(draft.tenant)
        if draft.step != "photo":
            return [self._waiting(draft, lang)]
        if len(draft.photos) >= cfg.max_photos:
            draft.step = "location"
            await self._save(draft)
            return [text(t("photo_max", lang, max=cfg.max_photos), [qr_location(t("btn.location", lang)), _cancel(lang)])]
        if self.deps.content is None or not incoming.message_id:
            return [text(t("photo_unavailable", lang), [_cancel(lang)])]
        # every photo is downloaded and decoded: a resident gets a bounded number of tries (refused ones count)
        if await self.deps.drafts.count(draft.tenant, f"photo:{draft.user_id}", PHOTO_WINDOW_S) > PHOTO_TRIES:
            return [text(t("rate_limited", lang), [qr_location(t("btn.location", lang)), _cancel(lang)])]
        mb = cfg.max_photo_bytes // (1024 * 1024)
        try:
            raw = await self.deps.content.fetch(draft.tenant, incoming.message_id, cfg.max_photo_bytes)
            clean = clean_photo(raw, max_bytes=cfg.max_photo_bytes, max_pixels=cfg.max_photo_pixels)
        except (ContentTooLarge, PhotoRefused) as exc:
            reason = exc.reason if isinstance(exc, PhotoRefused) else "too_large"
            log.info("photo refused", extra={"tenant": draft.tenant, "reason": reason})
            key = "photo_too_large" if reason == "too_large" else "photo_bad"
            return [text(t(key, lang, mb=mb), [*_camera(lang), _pb(t("btn.no_photo", lang), "next"), _cancel(lang)])]
        except ContentUnavailable:
            return [text(t("photo_unavailable", lang), [*_camera(lang), _cancel(lang)])]
        draft.photos.append(await self.deps.photos.put(draft.tenant, clean.data))
        if len(draft.photos) >= cfg.max_photos:
            draft.step = "location"
            await self._save(draft)
            return [
                text(
                    t("photo_ok", lang, n=len(draft.photos), max=cfg.max_photos) + "\n" + t("ask_location", lang),
                    [qr_location(t("btn.location", lang)), _cancel(lang)],
                )
            ]
        await self._save(draft)
        body = t("photo_ok", lang, n=len(draft.photos), max=cfg.max_photos) + "\n" + t("ask_location", lang)
        return [text(body, [qr_location(t("btn.location", lang)), *_camera(lang), _cancel(lang)])]

    async def _location(self, incoming: Incoming, draft: Draft) -> list[dict]:
        lang = incoming.language
        if draft.step not in ("photo", "location") or incoming.location is None:
            return [self._waiting(draft, lang)]
        lat, lng = incoming.location
        place = self.deps.area.place(draft.tenant, lat, lng)
        if place is None:
            city = self.deps.display_names.get(draft.tenant, incoming.tenant.display_name)
            return [text(t("outside", lang, city=city), [qr_location(t("btn.location", lang)), _cancel(lang)])]
        draft.lat, draft.lng, draft.address = lat, lng, place
        dup = await find_duplicate(self.deps, draft.tenant, draft.category, lat, lng)
        if dup is not None:
            draft.step = "duplicate"
            draft.duplicate_of = dup.id
            await self._save(draft)
            body = t("duplicate", lang, ref=dup.id, date=date_label(dup.created_at), status=status_label(dup.status, lang))
            return [text(body, [_pb(t("btn.follow", lang), "follow"), _pb(t("btn.new", lang), "new"), _cancel(lang)])]
        draft.step = "comment"
        await self._save(draft)
        return [self._ask_comment(lang)]

    async def _text(self, incoming: Incoming, draft: Draft) -> list[dict]:
        lang = incoming.language
        said = (incoming.text or "").strip()
        if _plain(said) in {_plain(t("btn.cancel", lang)), "やめる", "キャンセル", "cancel"}:
            return await self.cancel(incoming, draft)
        if draft.step == "comment":
            if len(said) > COMMENT_MAX:
                return [text(t("comment_long", lang), [_pb(t("btn.none", lang), "none"), _cancel(lang)])]
            draft.comment = "" if _plain(said) in {_plain(t("btn.none", lang)), "なし"} else said
            draft.step = "confirm"
            await self._save(draft)
            return [self._confirm(draft, lang)]
        if draft.step == "category":
            cfg = self.deps.config(draft.tenant)
            for c in cfg.categories:
                if _plain(said) == _plain(category_label(cfg, c.id, lang)):
                    draft.category, draft.step = c.id, "photo"
                    await self._save(draft)
                    return [self._ask_photo(draft, lang)]
        return [self._waiting(draft, lang)]

    async def _send(self, incoming: Incoming, draft: Draft) -> list[dict]:
        lang = incoming.language
        cfg = self.deps.config(draft.tenant)
        if not await may_file(self.deps, draft.tenant, draft.user_id, cfg.reports_per_hour):
            await self.cancel(incoming, draft)
            return [text(t("rate_limited", lang))]
        report = await file_report(self.deps, draft)
        await self.deps.drafts.delete(draft.tenant, draft.user_id)
        return [text(t("done", lang, ref=report.id), [_pb(t("list_head", lang)[:20], "list")])]

    # ------------------------------------------------------------------ prompts
    async def _save(self, draft: Draft) -> None:
        await self.deps.drafts.save(draft, self.deps.config(draft.tenant).draft_minutes * 60)

    def _ask_photo(self, draft: Draft, lang: str) -> dict:
        cfg = self.deps.config(draft.tenant)
        body = t("ask_photo", lang, category=category_label(cfg, draft.category, lang), max=cfg.max_photos)
        return text(body, [*_camera(lang), _pb(t("btn.no_photo", lang), "next"), _cancel(lang)])

    def _ask_location(self, lang: str) -> dict:
        return text(t("ask_location", lang), [qr_location(t("btn.location", lang)), _cancel(lang)])

    def _ask_comment(self, lang: str) -> dict:
        return text(t("ask_comment", lang), [_pb(t("btn.none", lang), "none"), _cancel(lang)])

    def _confirm(self, draft: Draft, lang: str) -> dict:
        cfg = self.deps.config(draft.tenant)
        body = t(
            "confirm",
            lang,
            category=category_label(cfg, draft.category, lang),
            photos=len(draft.photos),
            place=draft.address,
            comment=draft.comment or t("none", lang),
        )
        return text(body, [_pb(t("btn.send", lang), "send"), _cancel(lang)])

    def _waiting(self, draft: Draft, lang: str) -> dict:
        step = draft.step
        quick: list[dict] = []
        if draft.step == "photo":
            quick = [*_camera(lang), qr_location(t("btn.location", lang)), _pb(t("btn.no_photo", lang), "next")]
        elif draft.step == "location":
            quick = [qr_location(t("btn.location", lang))]
        elif draft.step == "comment":
            quick = [_pb(t("btn.none", lang), "none")]
        elif draft.step == "confirm":
            quick = [_pb(t("btn.send", lang), "send")]
        elif draft.step == "duplicate":
            quick = [_pb(t("btn.follow", lang), "follow"), _pb(t("btn.new", lang), "new")]
        elif draft.step == "category":
            cfg = self.deps.config(draft.tenant)
            quick = [_pb(category_label(cfg, c.id, lang), "cat", c=c.id) for c in cfg.categories[:12]]
        return text(t("waiting", lang, what=t(f"what.{step}", lang)), [*quick, _cancel(lang)])
