"""Chat flows for alert subscriptions: places, categories, 震度, language, quiet hours, list, stop.

Stateless by design: every step is a quick reply whose postback data (``room=alerts&action=…``) carries what
the next step needs (a code, a point, a name), so there is no conversation state to lose between events and a
resident can tap an old button safely. Entry points (what ``bot/router.py`` and the composition root call):

* ``on_postback(incoming, data, deps)``, ``on_location(incoming, deps)``, ``on_intent(incoming, intent, deps)``,
  ``on_text(incoming, deps)`` (plain 「通知停止」/「通知再開」), ``on_unfollow(tenant, user_id, deps)``;
* ``AlertsRoom(deps)`` adapts them to the router's room protocol (``on_text(incoming, parse)`` …).

Texts (``alerts.chat_texts``) exist in ja (です・ます), en, zh-Hans, ko and vi; ja-easy has its own wording for the
main prompts and falls back to ja elsewhere.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.categories import CATEGORIES, DEFAULT_CATEGORIES, EARTHQUAKE, INTENSITY_THRESHOLDS
from alerts.chat_texts import CATEGORY_LABELS, LABELS, LIST_FIELDS, PLACE_NAMES, TEXTS, THRESHOLD_LABELS, pick
from alerts.geo import Gazetteer, Municipality
from alerts.subscriptions import LANGUAGES, MAX_PLACES, Place, Subscription, SubscriptionStore
from bot.chat import Incoming, postback_data, qr_location, qr_postback, text
from bot.quiet import QuietHours
from bot.users import UserStore

ROOM = "alerts"
PAGE = 10  # municipalities/wards per quick-reply page (leaves room for 次へ/戻る/位置情報)
PLACE_NAME_CHOICES = ("自宅", "学校", "職場", "実家", "その他")
QUIET_OPTIONS = (("22:00", "07:00"), ("23:00", "06:00"), ("21:00", "06:00"))
LANGUAGE_LABELS = {"ja": "日本語", "ja-easy": "やさしい日本語", "en": "English", "zh-Hans": "简体中文", "ko": "한국어", "vi": "Tiếng Việt"}
STOP_WORDS = {"通知停止", "通知を停止", "通知をとめて", "通知を止めて", "通知いらない", "配信停止", "stop", "stopalerts"}
RESUME_WORDS = {"通知再開", "通知を再開", "配信再開", "resume", "resumealerts"}

@dataclass
class ChatDeps:
    store: SubscriptionStore
    gazetteer: Gazetteer
    users: UserStore | None = None  # language changes are mirrored to the resident's profile
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


def _en(lang: str) -> bool:
    """Latin-script readers (en, vi) and ko see romanized place names; ja/zh read the kanji."""
    return lang in ("en", "ko", "vi")


def _t(key: str, lang: str, **kw: Any) -> str:
    return pick(TEXTS[key], lang).format(**kw)


def _l(key: str, lang: str) -> str:
    return pick(LABELS[key], lang)


def _place_name(name: str, lang: str) -> str:
    return PLACE_NAMES.get(name, {}).get(lang, name)


def _cat(c: str, lang: str) -> str:
    return pick(CATEGORY_LABELS[c], lang)


def _thr(t: str, lang: str) -> str:
    return pick(THRESHOLD_LABELS[t], lang)


def _pb(label: str, action: str, display: str | None = None, **params: str) -> dict:
    return qr_postback(label, postback_data(ROOM, action, **params), display_text=display or label)


def _label(m: Municipality, lang: str) -> str:
    return m.name_en if _en(lang) and m.name_en else m.name


def _place_label(p: Place, g: Gazetteer, lang: str) -> str:
    m = g.get(p.code)
    base = _label(m, lang) if m else p.code
    return f"{base}{p.town}" if p.town and not _en(lang) else base


def _short(p: Place, g: Gazetteer, lang: str) -> str:
    """Quick-reply sized: 北区 / 吹田市 (labels are cut at 20 characters)."""
    m = g.get(p.code)
    if m is None:
        return p.code
    if _en(lang):
        return m.name_en.split(",")[0]
    return m.short_name


async def _load(incoming: Incoming, deps: ChatDeps) -> Subscription:
    sub = await deps.store.get(incoming.tenant.id, incoming.user_id)
    if sub is None:
        lang = incoming.language if incoming.language in LANGUAGES else "ja"
        sub = Subscription(tenant=incoming.tenant.id, user_id=incoming.user_id, language=lang)
    return sub


def _menu_items(sub: Subscription, lang: str) -> list[dict]:
    items = [_pb(_l("add", lang), "add"), _pb(_l("list", lang), "list"), _pb(_l("cats", lang), "cats"),
             _pb(_l("eq", lang), "eq"), _pb(_l("lang", lang), "lang"), _pb(_l("quiet", lang), "quiet")]
    items.append(_pb(_l("resume", lang), "resume") if sub.paused else _pb(_l("stop", lang), "stop"))
    return items


async def show_menu(incoming: Incoming, deps: ChatDeps) -> list[dict]:
    sub = await _load(incoming, deps)
    lang = incoming.language
    if not sub.places:
        return await _ask_where(incoming, deps, intro=_t("menu_empty", lang))
    return [text(_t("menu", lang), _menu_items(sub, lang))]


async def _ask_where(incoming: Incoming, deps: ChatDeps, intro: str | None = None) -> list[dict]:
    lang = incoming.language
    sub = await _load(incoming, deps)
    if len(sub.places) >= MAX_PLACES:
        return [text(_t("full", lang), [_pb(_l("delete", lang), "delmenu"), _pb(_l("list", lang), "list")])]
    g = deps.gazetteer
    home = g.get(incoming.tenant.jis5)
    items: list[dict] = []
    if home is not None:
        items.append(_pb(_label(home, lang), "pick", code=home.jis5))
    items += [_pb(_l("other_city", lang), "cities", page="0"), qr_location(_l("location", lang))]
    msgs = [] if intro is None else [text(intro)]
    return msgs + [text(_t("where", lang), items)]


def _page(units: list[Municipality], page: int, lang: str, action: str, extra: list[dict], **params: str) -> list[dict]:
    chunk = units[page * PAGE : (page + 1) * PAGE]
    items = [_pb(_label(m, lang) if not m.parent or _en(lang) else m.short_name, "pick", code=m.jis5) for m in chunk]
    if (page + 1) * PAGE < len(units):
        items.append(_pb(_l("next", lang), action, page=str(page + 1), **params))
    if page > 0:
        items.append(_pb(_l("back", lang), action, page=str(page - 1), **params))
    return (items + extra)[:13]


async def on_postback(incoming: Incoming, data: dict[str, str], deps: ChatDeps) -> list[dict]:
    """Every ``room=alerts`` postback. Unknown or stale data answers politely with the menu."""
    action = data.get("action", "menu")
    lang = incoming.language
    g = deps.gazetteer
    try:
        if action == "menu":
            return await show_menu(incoming, deps)
        if action == "add":
            return await _ask_where(incoming, deps)
        if action == "cities":
            page = int(data.get("page", "0"))
            return [text(_t("which_city", lang), _page(g.municipalities(), page, lang, "cities", [qr_location(_l("location", lang))]))]
        if action == "wards":
            city = g.get(data["code"])
            page = int(data.get("page", "0"))
            extra = [_pb(_l("whole", lang), "name", code=city.jis5)]
            return [text(_t("which_ward", lang, city=_label(city, lang)), _page(g.wards_of(city.jis5), page, lang, "wards", extra, code=city.jis5))]
        if action == "pick":
            unit = g.get(data["code"])
            if unit is None:
                raise KeyError(data["code"])
            if g.wards_of(unit.jis5):
                return await on_postback(incoming, {"action": "wards", "code": unit.jis5}, deps)
            return _ask_name(lang, _label(unit, lang), code=unit.jis5)
        if action == "name":
            unit = g.get(data["code"])
            if unit is None:
                raise KeyError(data["code"])
            return _ask_name(lang, _label(unit, lang), code=unit.jis5)
        if action == "save":
            return await _save_place(incoming, data, deps)
        if action == "list":
            return await _list(incoming, deps)
        if action == "delmenu":
            sub = await _load(incoming, deps)
            items = [_pb(f"{_place_name(p.name, lang)}（{_short(p, g, lang)}）", "del", place=p.id) for p in sub.places]
            if not items:
                return [text(_t("no_places", lang), [_pb(_l("add", lang), "add")])]
            return [text(_t("which_delete", lang), items)]
        if action == "del":
            sub = await _load(incoming, deps)
            gone = next((p for p in sub.places if p.id == data["place"]), None)
            if gone is None:
                return [text(_t("bad", lang), _menu_items(sub, lang))]
            sub.places = [p for p in sub.places if p.id != gone.id]
            await deps.store.save(sub)
            return [text(_t("deleted", lang, name=_place_name(gone.name, lang)), _menu_items(sub, lang))]
        if action == "cats":
            return await _categories(incoming, deps)
        if action == "cat":
            sub = await _load(incoming, deps)
            cat = data["id"]
            if cat not in CATEGORIES:
                raise KeyError(cat)
            sub.categories = [c for c in sub.categories if c != cat] if cat in sub.categories else [*sub.categories, cat]
            await deps.store.save(sub)
            return await _categories(incoming, deps)
        if action == "lift":
            sub = await _load(incoming, deps)
            sub.notify_lift = not sub.notify_lift
            await deps.store.save(sub)
            return [text(_t("lift_on" if sub.notify_lift else "lift_off", lang), _menu_items(sub, lang))]
        if action == "eq":
            items = [_pb(_thr(t, lang), "eqset", t=t) for t in INTENSITY_THRESHOLDS]
            return [text(_t("eq", lang), items)]
        if action == "eqset":
            sub = await _load(incoming, deps)
            if data["t"] not in INTENSITY_THRESHOLDS:
                raise KeyError(data["t"])
            sub.threshold = data["t"]
            if EARTHQUAKE not in sub.categories:
                sub.categories.append(EARTHQUAKE)
            await deps.store.save(sub)
            label = _thr(sub.threshold, lang)
            return [text(_t("eq_set", lang, label=label), _menu_items(sub, lang))]
        if action == "lang":
            items = [_pb(LANGUAGE_LABELS[code], "langset", code=code) for code in _languages(incoming)]
            return [text(_t("lang", lang), items)]
        if action == "langset":
            return await _set_language(incoming, data["code"], deps)
        if action == "quiet":
            items = [_pb(f"{s}〜{e}", "quietset", s=s, e=e) for s, e in QUIET_OPTIONS]
            items.append(_pb(_l("quiet_off", lang), "quietset", s="", e=""))
            return [text(_t("quiet", lang), items)]
        if action == "quietset":
            sub = await _load(incoming, deps)
            if data.get("s"):
                sub.quiet_hours = QuietHours(data["s"], data["e"], incoming.tenant.office_hours.timezone)
                msg = _t("quiet_set", lang, start=data["s"], end=data["e"])
            else:
                sub.quiet_hours = None
                msg = _t("quiet_off", lang)
            await deps.store.save(sub)
            return [text(msg, _menu_items(sub, lang))]
        if action == "stop":
            return await stop(incoming, deps)
        if action == "resume":
            return await resume(incoming, deps)
        if action == "forget":
            await deps.store.delete(incoming.tenant.id, incoming.user_id)
            return [text(_t("forgot", lang), [_pb(_l("add", lang), "add")])]
        if action == "done":
            return [text(_t("done", lang))]
    except (KeyError, ValueError, AttributeError):
        pass
    sub = await _load(incoming, deps)
    return [text(_t("bad", lang), _menu_items(sub, lang))]


def _ask_name(lang: str, label: str, **where: str) -> list[dict]:
    items = [_pb(_place_name(n, lang), "save", name=n, **where) for n in PLACE_NAME_CHOICES]
    return [text(_t("name_it", lang, label=label), items)]


async def _save_place(incoming: Incoming, data: dict[str, str], deps: ChatDeps) -> list[dict]:
    lang = incoming.language
    g = deps.gazetteer
    sub = await _load(incoming, deps)
    if len(sub.places) >= MAX_PLACES:
        return [text(_t("full", lang), [_pb(_l("delete", lang), "delmenu")])]
    name = data.get("name", "")[:20] or "場所"
    if "lat" in data:
        lat, lng = float(data["lat"]), float(data["lng"])
        loc = g.locate(lat, lng)
        if loc is None:
            return [text(_t("outside", lang), [_pb(_l("other_city", lang), "cities", page="0")])]
        place = Place(sub.next_place_id(), name, loc.code, lat, lng, loc.town.name)
        label = (loc.ward or loc.municipality).name + loc.town.name if not _en(lang) else _label(loc.ward or loc.municipality, lang)
    else:
        unit = g.get(data["code"])
        if unit is None:
            raise KeyError(data["code"])
        place = Place(sub.next_place_id(), name, unit.jis5)
        label = _label(unit, lang)
    first = not sub.places
    sub.places.append(place)
    sub.paused = False
    if first and not sub.categories:
        sub.categories = list(DEFAULT_CATEGORIES)
    await deps.store.save(sub)
    items = [_pb(_l("cats", lang), "cats"), _pb(_l("add", lang), "add"), _pb(_l("done", lang), "done")]
    return [text(_t("saved", lang, name=_place_name(name, lang), label=label) + "\n" + _t("saved_next", lang), items)]


async def _categories(incoming: Incoming, deps: ChatDeps) -> list[dict]:
    lang = incoming.language
    sub = await _load(incoming, deps)
    items = []
    for c in CATEGORIES:
        label = _cat(c, lang)
        items.append(_pb(("✓" if c in sub.categories else "□") + label, "cat", id=c))
    items += [_pb(_l("eq", lang), "eq"), _pb(("✓" if sub.notify_lift else "□") + _l("lift", lang), "lift"), _pb(_l("done", lang), "done")]
    return [text(_t("cats", lang), items)]


async def _list(incoming: Incoming, deps: ChatDeps) -> list[dict]:
    lang = incoming.language
    g = deps.gazetteer
    sub = await _load(incoming, deps)
    if not sub.places:
        return [text(_t("no_places", lang), [_pb(_l("add", lang), "add")])]
    lines = [_t("list_head", lang)]
    for i, p in enumerate(sub.places, 1):
        lines.append(f"{i}. {_place_name(p.name, lang)}：{_place_label(p, g, lang)}")
    sep = "、" if lang.startswith("ja") or lang == "zh-Hans" else ", "
    lines.append(pick(LIST_FIELDS["types"], lang) + (sep.join(_cat(c, lang) for c in sub.categories) or "—"))
    if EARTHQUAKE in sub.categories:
        lines.append(pick(LIST_FIELDS["eq"], lang) + _thr(sub.threshold, lang))
    lines.append(pick(LIST_FIELDS["lang"], lang) + LANGUAGE_LABELS.get(sub.language, sub.language))
    if sub.quiet_hours:
        lines.append(pick(LIST_FIELDS["quiet"], lang) + f"{sub.quiet_hours.start}〜{sub.quiet_hours.end}")
    if sub.paused:
        lines.append(pick(LIST_FIELDS["paused"], lang))
    items = [_pb(_l("add", lang), "add"), _pb(_l("delete", lang), "delmenu"), *_menu_items(sub, lang)[2:]]
    return [text("\n".join(lines), items)]


def _languages(incoming: Incoming) -> list[str]:
    offered = [code for code in incoming.tenant.languages if code in LANGUAGES]
    return offered or ["ja"]


async def _set_language(incoming: Incoming, code: str, deps: ChatDeps) -> list[dict]:
    if code not in LANGUAGES:
        raise KeyError(code)
    sub = await _load(incoming, deps)
    sub.language = code
    if sub.places:
        await deps.store.save(sub)
    if deps.users is not None:
        user = await deps.users.get(incoming.tenant.id, incoming.user_id)
        if user is not None:
            user.language = code
            await deps.users.save(user)
    incoming.language = code
    return [text(_t("lang_set", code, label=LANGUAGE_LABELS[code]), _menu_items(sub, code))]


async def stop(incoming: Incoming, deps: ChatDeps) -> list[dict]:
    lang = incoming.language
    sub = await deps.store.get(incoming.tenant.id, incoming.user_id)
    if sub is not None and not sub.paused:
        sub.paused = True
        await deps.store.save(sub)
    return [text(_t("stopped", lang), [_pb(_l("resume", lang), "resume"), _pb(_l("forget", lang), "forget")])]


async def resume(incoming: Incoming, deps: ChatDeps) -> list[dict]:
    lang = incoming.language
    sub = await _load(incoming, deps)
    if not sub.places:
        return await _ask_where(incoming, deps, intro=_t("menu_empty", lang))
    sub.paused = False
    await deps.store.save(sub)
    return [text(_t("resumed", lang), _menu_items(sub, lang))]


async def on_location(incoming: Incoming, deps: ChatDeps) -> list[dict]:
    """A shared LINE location: resolve it and ask for the place's name (the point travels in the postbacks)."""
    lang = incoming.language
    if incoming.location is None:
        return [text(_t("outside", lang))]
    lat, lng = incoming.location
    loc = deps.gazetteer.locate(lat, lng)
    if loc is None:
        return [text(_t("outside", lang), [_pb(_l("other_city", lang), "cities", page="0")])]
    sub = await _load(incoming, deps)
    if len(sub.places) >= MAX_PLACES:
        return [text(_t("full", lang), [_pb(_l("delete", lang), "delmenu")])]
    label = loc.label if not _en(lang) else _label(loc.ward or loc.municipality, lang)
    return _ask_name(lang, label, lat=f"{lat:.6f}", lng=f"{lng:.6f}")


async def on_intent(incoming: Incoming, intent: str, deps: ChatDeps) -> list[dict] | None:
    """NLU intents (nlu/intents.py CONTROL): register/subscribe, change_area, stop_notifications, change_language."""
    if intent in ("subscribe", "register"):
        return await show_menu(incoming, deps)
    if intent == "change_area":
        sub = await _load(incoming, deps)
        return await (_list(incoming, deps) if sub.places else _ask_where(incoming, deps))
    if intent == "stop_notifications":
        return await stop(incoming, deps)
    if intent == "change_language":
        return await on_postback(incoming, {"action": "lang"}, deps)
    return None


def _plain(s: str) -> str:
    return unicodedata.normalize("NFKC", s).replace(" ", "").replace("。", "").replace("!", "").lower()


async def on_text(incoming: Incoming, deps: ChatDeps) -> list[dict] | None:
    """Plain 「通知停止」/「通知再開」 work without NLU (and before it, so they are never misread)."""
    s = _plain(incoming.text or "")
    if s in STOP_WORDS:
        return await stop(incoming, deps)
    if s in RESUME_WORDS:
        return await resume(incoming, deps)
    if s in ("防災・防犯通知の登録", "通知の登録", "registerforalerts", "alerts"):
        return await show_menu(incoming, deps)
    return None


async def on_unfollow(tenant: str, user_id: str, deps: ChatDeps) -> None:
    """Unfollow stops everything: the subscription and all its index entries are deleted."""
    await deps.store.delete(tenant, user_id)


class AlertsRoom:
    """The router's room protocol over the functions above (``dispatcher.include(AlertsRoom(deps))``)."""

    name = "alerts"

    def __init__(self, deps: ChatDeps) -> None:
        self.deps = deps

    async def on_text(self, incoming: Incoming, parse: Any) -> list[dict] | None:
        out = await on_text(incoming, self.deps)
        if out is not None:
            return out
        intent = getattr(parse, "intent", None)
        return await on_intent(incoming, intent, self.deps) if intent else None

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        return await on_postback(incoming, data, self.deps)

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        return await on_location(incoming, self.deps)

    async def on_unfollow(self, tenant: str, user_id: str) -> None:
        await on_unfollow(tenant, user_id, self.deps)
