"""In-chat 「近くで不審者情報ある？」: recent incidents near the resident's registered places.

Places with a point are searched by radius (``NoticesConfig.nearby_radius_m``); places registered as a whole
municipality/ward match every incident placed in it. The answer lists at most ``MAX_ITEMS`` incidents, newest
first, at the same precision as the pushed alerts (町丁目 at most) with the source line.
"""

from __future__ import annotations

import re
import unicodedata

from alerts.notices.delivery import KIND_LABELS, LABELS, format_when, place_label
from alerts.notices.model import KINDS, Incident
from alerts.notices.service import NoticeDeps
from alerts.subscriptions import area_keys_for_place, area_keys_for_query
from bot.chat import Incoming, qr_message, text

MAX_ITEMS = 5
_ASK = re.compile(r"(不審者|ふしんしゃ|声かけ|こえかけ|防犯|ちかん|痴漢|つきまとい).*(ある|あります|ない|情報|教えて|？|\?)|^近くの不審者情報$")

_TEXTS = {
    "ja": {"none": "過去{days}日間、登録地点の近く（{km}km以内）で不審者情報はありません。",
           "found": "過去{days}日間、登録地点の近く（{km}km以内）の不審者情報です（{n}件）。",
           "noplace": "地点が登録されていません。「通知設定」から自宅や学校などの地点を登録すると、近くの情報をお知らせできます。",
           "register": "通知設定"},
    "ja-easy": {"none": "{days}にちの あいだ、とうろくした ばしょの ちかくで あぶない ひとの じょうほうは ありません。",
                "found": "{days}にちの あいだの、とうろくした ばしょの ちかくの じょうほうです（{n}けん）。",
                "noplace": "ばしょが とうろく されて いません。「通知設定」で いえや がっこうを とうろく してください。",
                "register": "通知設定"},
    "en": {"none": "No suspicious-person reports near your places (within {km} km) in the last {days} days.",
           "found": "{n} report(s) near your places (within {km} km) in the last {days} days:",
           "noplace": "You have no registered places. Register your home or school in the notification settings (通知設定).",
           "register": "通知設定"},
    "zh-Hans": {"none": "过去{days}天，您登记地点附近（{km}公里以内）没有可疑人员信息。",
                "found": "过去{days}天，您登记地点附近（{km}公里以内）有{n}条信息：",
                "noplace": "您还没有登记地点。请在通知设置（通知設定）中登记住所或学校。", "register": "通知設定"},
    "ko": {"none": "최근 {days}일간 등록 장소 근처({km}km 이내)에 수상한 사람 정보가 없습니다.",
           "found": "최근 {days}일간 등록 장소 근처({km}km 이내)의 정보 {n}건입니다:",
           "noplace": "등록된 장소가 없습니다. 알림 설정(通知設定)에서 집이나 학교를 등록해 주세요.", "register": "通知設定"},
    "vi": {"none": "Không có tin về người khả nghi gần địa điểm của bạn (trong {km} km) trong {days} ngày qua.",
           "found": "Có {n} tin gần địa điểm của bạn (trong {km} km) trong {days} ngày qua:",
           "noplace": "Bạn chưa đăng ký địa điểm. Hãy đăng ký nhà hoặc trường trong cài đặt thông báo (通知設定).",
           "register": "通知設定"},
}


def is_nearby_question(message: str | None) -> bool:
    """A cheap filter for the router before NLU: 「近くで不審者情報ある？」 and close variants."""
    if not message:
        return False
    s = unicodedata.normalize("NFKC", message).strip()
    return bool(_ASK.search(s)) and len(s) <= 40


def _line(inc: Incident, lang: str, name_en: str) -> str:
    kind = KIND_LABELS[KINDS.get(inc.kind, "fushinsha")][lang]
    return f"・{format_when(inc.occurred_at, inc.time_known, lang)} {kind}｜{place_label(inc, lang, name_en=name_en)}"


def _name_en(inc: Incident, deps: NoticeDeps) -> str:
    unit = deps.gazetteer.get(inc.municipality_code or "")
    return unit.name_en if unit else ""


async def nearby(incoming: Incoming, deps: NoticeDeps) -> list[dict]:
    lang = incoming.language if incoming.language in _TEXTS else "ja"
    tx = _TEXTS[lang]
    tenant = incoming.tenant.id
    cfg = deps.config(tenant)
    sub = await deps.subscriptions.get(tenant, incoming.user_id) if deps.subscriptions is not None else None
    places = sub.places if sub else []
    if not places:
        return [text(tx["noplace"], [qr_message(tx["register"])])]
    points = [(p.lat, p.lng) for p in places if p.lat is not None and p.lng is not None]
    codes = tuple(dict.fromkeys(p.code for p in places))
    now = deps.clock()
    found = {i.id: i for i in await deps.store.recent_near(tenant, points, cfg.nearby_radius_m, cfg.nearby_days, codes=codes, now=now)}
    whole = [p for p in places if p.lat is None]
    if whole:
        # a place registered as a whole municipality/ward: every incident placed inside it is "near"
        wanted = {k for p in whole for k in area_keys_for_place(p, deps.gazetteer)}
        for inc in await deps.store.recent(tenant, cfg.nearby_days, now=now):
            if inc.precision in ("town", "municipality") and inc.status != "review" and inc.municipality_code:
                if wanted & set(area_keys_for_query([inc.municipality_code], deps.gazetteer)):
                    found.setdefault(inc.id, inc)
    items = sorted(found.values(), key=lambda i: -i.ts)
    days, km = f"{cfg.nearby_days:g}", f"{cfg.nearby_radius_m / 1000:g}"
    qr = [qr_message(LABELS[lang]["qr"], "近くで不審者情報ある？")]
    if not items:
        return [text(tx["none"].format(days=days, km=km), qr)]
    lines = [tx["found"].format(days=days, km=km, n=len(items))]
    lines += [_line(i, lang, _name_en(i, deps)) for i in items[:MAX_ITEMS]]
    sources = dict.fromkeys(i.source_name or "大阪府警察" for i in items[:MAX_ITEMS])
    lines.append(LABELS[lang]["source"].format(src="・".join(sources)))
    return [text("\n".join(lines), qr)]


class NoticesRoom:
    """「近くで不審者情報ある？」: recent incidents near the resident's registered places (``dispatcher.include``)."""

    name = "notices"

    def __init__(self, deps: NoticeDeps) -> None:
        self.deps = deps

    async def on_text(self, incoming: Incoming, parse: object) -> list[dict] | None:
        return await nearby(incoming, self.deps) if is_nearby_question(incoming.text) else None

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        return None

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        return None

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None:
        return None  # the resident's places live in their subscription (alerts forgets them)
