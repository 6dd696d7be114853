"""Chat door of the disaster room: the disaster menu's postbacks, 「避難所はどこ？」, shared locations, 安否.

``DisasterRoom`` answers ``on_postback`` for ``room=disaster``, ``on_text`` for shelter questions and the 安否 place,
``on_location`` when the resident is finding a shelter (or any location during disaster mode); otherwise None, so
other rooms (alerts registration) take the event. ``language_menu_middleware`` links a resident to the rich menu of
the language they just chose.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.chat import Incoming, postback_data, qr_location, qr_postback, text
from disaster.model import HAZARDS, Nearby, required_hazards
from disaster.richmenu import RichMenuError
from disaster.service import DisasterDeps, link_language, nearest_sites, shelter_index
from disaster.texts import ATTRIBUTION, distance_label, hazard_names, t

log = logging.getLogger("civicbot.disaster")
ROOM = "disaster"
ASK_HAZARDS = ("earthquake", "tsunami", "flood", "landslide", "storm_surge", "inland_flood", "fire", "volcano")
STATUS_COLORS = {"open": "#06C755", "crowded": "#E8A000", "full": "#D62828", "closed": "#777777"}
SHARE_URL = "https://line.me/R/share?text="
MAX_PLACE = 60
MAX_PLACES = 5
_QUESTION = re.compile(r"(どこ|探|さが|近く|ちかく|教え|おしえ|知りたい|\?|？|where|find|哪|어디|ở đâu)", re.IGNORECASE)


def _pb(label: str, action: str, display: str | None = None, **params: str) -> dict:
    return qr_postback(label, postback_data(ROOM, action, **params), display_text=display or label)


def _since(ts: float, tz: str) -> str:
    return dt.datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%m/%d %H:%M")


class DisasterRoom:
    """The disaster room (``bot.router.Room``)."""

    name = ROOM

    def __init__(self, deps: DisasterDeps) -> None:
        self.deps = deps

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None:
        await self.deps.store.set_pending(tenant_id, user_id, None)

    # -- postbacks from the disaster menu -----------------------------------------------------------------------

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        action = data.get("action", "")
        lang = incoming.language
        if action == "find":
            wanted = tuple(h for h in data.get("hz", "").split(",") if h in HAZARDS)
            return await self._find(incoming, wanted)
        if action == "near":  # a registered place tapped instead of sharing a location
            hazards = tuple(h for h in data.get("hz", "").split(",") if h in HAZARDS)
            try:
                lat, lng = float(data["lat"]), float(data["lng"])
            except (KeyError, ValueError):
                return None
            return await self.answer(incoming, lat, lng, hazards) if hazards else await self._find(incoming, ())
        if action == "info":
            state = await self.deps.store.state(incoming.tenant.id)
            if state.mode != "disaster":
                return [text(t("info_normal", lang))]
            names = hazard_names(state.hazards, lang) if state.hazards else "—"
            since = _since(state.since, incoming.tenant.office_hours.timezone)
            return [text(t("info_disaster", lang, since=since, hazards=names), [_pb(t("area.shelters", lang), "find")])]
        if action == "back":
            return [text(t("back_info", lang))]
        if action == "safety":
            items = [_pb(t("safety_ok", lang), "safe", s="ok"), _pb(t("safety_shelter", lang), "safe", s="shelter")]
            return [text(t("safety_ask", lang), items)]
        if action == "safe":
            if data.get("s") == "shelter":
                await self.deps.store.set_pending(incoming.tenant.id, incoming.user_id, "safety")
                return [text(t("safety_place", lang))]
            return [self._share(t("safety_msg_ok", lang), lang)]
        return None

    async def _find(self, incoming: Incoming, wanted: tuple[str, ...]) -> list[dict]:
        lang = incoming.language
        hazards = wanted
        if not hazards:
            state = await self.deps.store.state(incoming.tenant.id)
            hazards = required_hazards(state.hazards) if state.mode == "disaster" else ()
        if not hazards:  # no hazard in force: ask which one, never guess
            items = [_pb(t(f"hz.{h}", lang), "find", hz=h) for h in ASK_HAZARDS]
            return [text(t("ask_hazard", lang), items)]
        await self.deps.store.set_pending(incoming.tenant.id, incoming.user_id, "find:" + ",".join(hazards))
        items = [qr_location(t("location_button", lang))]
        if self.deps.places is not None:  # or a place the resident registered for alerts (自宅, 学校 …)
            for name, lat, lng in (await self.deps.places(incoming.tenant.id, incoming.user_id))[:MAX_PLACES]:
                items.append(_pb(name[:20], "near", lat=f"{lat:.6f}", lng=f"{lng:.6f}", hz=",".join(hazards)))
        return [text(t("ask_location", lang, hazard=hazard_names(hazards, lang)), items)]

    # -- text ------------------------------------------------------------------------------------------------------

    async def on_text(self, incoming: Incoming, parse: Any) -> list[dict] | None:
        body = incoming.text or ""
        pending = await self.deps.store.pending(incoming.tenant.id, incoming.user_id)
        if pending == "safety" and body.strip():
            await self.deps.store.set_pending(incoming.tenant.id, incoming.user_id, None)
            place = unicodedata.normalize("NFKC", body).strip()[:MAX_PLACE]
            return [self._share(t("safety_msg_shelter", incoming.language, place=place), incoming.language)]
        if self._asks_for_shelter(body, incoming.language):
            return await self._find(incoming, ())
        return None

    def _asks_for_shelter(self, body: str, lang: str) -> bool:
        """Short shelter questions, matched on folded text (the app's folding: ヒナンジョ matches ひなんじょ)."""
        fold = self.deps.fold
        s = fold(body).strip()
        if len(s) > 40:
            return False
        words = {w for code in ("ja", "ja-easy", lang) for w in fold(t("shelter_words", code)).split("|")}
        return any(w and w in s for w in words) and (bool(_QUESTION.search(s)) or len(s) <= 6)

    # -- location --------------------------------------------------------------------------------------------------

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        if incoming.location is None:
            return None
        tenant = incoming.tenant.id
        pending = await self.deps.store.pending(tenant, incoming.user_id)
        if pending and pending.startswith("find:"):
            hazards = tuple(h for h in pending[5:].split(",") if h in HAZARDS)
        else:
            state = await self.deps.store.state(tenant)
            if state.mode != "disaster":
                return None  # not looking for a shelter: the alerts room registers the place
            hazards = required_hazards(state.hazards)
            if not hazards:
                return await self._find(incoming, ())
        lat, lng = incoming.location
        return await self.answer(incoming, lat, lng, hazards)

    async def answer(self, incoming: Incoming, lat: float, lng: float, hazards: tuple[str, ...]) -> list[dict]:
        lang, tenant = incoming.language, incoming.tenant
        names = hazard_names(hazards, lang)
        if len(await shelter_index(self.deps, tenant.id)) == 0:
            return [text(t("no_data", lang, city=tenant.display_name))]
        sites = await nearest_sites(self.deps, tenant.id, lat, lng, hazards)
        if not sites:
            url = self.deps.policy(tenant.id).municipality_url
            msg = t("none_near", lang, hazard=names, city=tenant.display_name) + (f"\n{url}" if url else "")
            return [text(msg + f"\n{ATTRIBUTION}")]
        header = f"{t('results', lang, hazard=names)}\n{t('caution', lang)}\n{ATTRIBUTION}"
        bubbles = [self._bubble(n, lang, tenant.office_hours.timezone) for n in sites]
        alt = f"{t('results', lang, hazard=names)} " + " / ".join(n.shelter.name for n in sites)
        return [text(header), {"type": "flex", "altText": alt[:400], "contents": {"type": "carousel", "contents": bubbles}}]

    def _bubble(self, n: Nearby, lang: str, tz: str) -> dict:
        s = n.shelter
        if n.status is not None:
            status = f"{t('st.' + n.status.status, lang)}（{_since(n.status.at, tz)}）"
            color = STATUS_COLORS[n.status.status]
        else:
            status, color = t("st.unknown", lang), "#555555"
        hazards = [h for h in HAZARDS if h in s.hazards]
        body = [
            {"type": "text", "text": s.name[:100], "weight": "bold", "wrap": True, "size": "md"},
            {
                "type": "text",
                "text": t("walk", lang, minutes=n.walk_minutes, distance=distance_label(n.distance_m)),
                "size": "sm",
                "wrap": True,
            },
            {
                "type": "text",
                "text": t("status", lang, status=status),
                "size": "sm",
                "weight": "bold",
                "color": color,
                "wrap": True,
            },
            {
                "type": "text",
                "text": t("designated", lang, hazards=hazard_names(hazards, lang)),
                "size": "xs",
                "wrap": True,
                "color": "#555555",
            },
            {"type": "text", "text": ATTRIBUTION, "size": "xxs", "wrap": True, "color": "#888888"},
        ]
        if s.address:
            body.insert(1, {"type": "text", "text": s.address[:100], "size": "xs", "wrap": True, "color": "#555555"})
        uri = f"https://maps.gsi.go.jp/#17/{s.lat:.6f}/{s.lng:.6f}/"
        return {
            "type": "bubble",
            "size": "kilo",
            "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
            "footer": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {
                        "type": "button",
                        "style": "primary",
                        "height": "sm",
                        "action": {"type": "uri", "label": t("map", lang)[:20], "uri": uri},
                    }
                ],
            },
        }

    # -- 安否 -------------------------------------------------------------------------------------------------------

    @staticmethod
    def _share(message: str, lang: str) -> dict:
        """The resident forwards the message to whom they choose (LINE's share screen); the city stores nothing."""
        bubble = {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "spacing": "md",
                "contents": [
                    {"type": "text", "text": message, "wrap": True, "weight": "bold"},
                    {"type": "text", "text": t("safety_link", lang), "wrap": True, "size": "sm", "color": "#555555"},
                ],
            },
            "footer": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {
                        "type": "button",
                        "style": "primary",
                        "action": {"type": "uri", "label": t("safety_share", lang)[:20], "uri": SHARE_URL + quote(message)},
                    },
                ],
            },
        }
        return {"type": "flex", "altText": message[:400], "contents": bubble}


def language_menu_middleware(deps: DisasterDeps):
    """After any handler: when the resident's language changed (alerts' language choice), link the rich menu of that
    language. A failure is logged and never blocks the reply."""

    async def middleware(handler, incoming: Incoming, data: dict[str, Any]) -> list[dict] | None:
        before = incoming.language
        out = await handler(incoming, data)
        if incoming.kind == "postback" and incoming.language != before:
            try:
                await link_language(deps, incoming.tenant.id, incoming.user_id, incoming.language)
            except RichMenuError as exc:
                log.warning("could not link the language menu", extra={"tenant": incoming.tenant.id, "status": exc.status})
        return out

    return middleware
