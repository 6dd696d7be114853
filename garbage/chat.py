"""The garbage room's chat door: item questions, 「今日は何ごみ？」, and reminder settings.

``on_text`` answers only what is clearly for it — an item it finds (or a garbage question about an item it does
not know, which is logged for editors), a day question, or the reminder menu — and returns None otherwise, so FAQ
and the other rooms still get the message. The crisis middleware has already run (a message about a rope or
knives that signals danger never reaches this room).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from bot.chat import Incoming, postback_data, qr_postback, text
from garbage import texts
from garbage.calendar import collected, notes
from garbage.model import Dataset, Item
from garbage.search import SearchResult
from garbage.service import GarbageDeps, area_for_place
from garbage.store import Reminder
from nlu.rasa_components.textfold import fold

ROOM = "garbage"
_DAY_Q = re.compile(
    r"^(今日|きょう|本日|明日|あした|あす)(の|は|って)?(何|なに|なん)?(の)?(ごみ|収集)?(の日)?(は|って|ですか|でしょうか)?"
    r"(何|なに|なん)?(ごみ|の日)?(ですか|でしょうか)?[?？!！。\s]*$"
)
_REMIND_Q = re.compile(
    r"(ごみ|収集)(の日|出し)?(の)?(お知らせ|おしらせ|通知|つうち|りまいんど|リマインド|アラーム)|ごみの日(の)?(登録|設定)"
)
_ITEM_FRAME = re.compile(
    r"^(?P<item>.{1,20}?)(は|って|の|を|も)?\s*((何|なに|なん)(ごみ|ゴミ)|どう(やって)?(捨て|すて|出せ|だせ|処分)|"
    r"捨て方|すてかた|出し方|だしかた|分別|ぶんべつ|捨てたい|すてたい|処分したい|処分方法|捨てられ|出せ)"
)
_SCHEDULE = re.compile(r"何曜|なんよう|いつ|曜日|収集日|回収日|何時|なんじ")  # when-questions are not about an item
_MAX_SHORT = 20  # a message that only names an item is short


class GarbageRoom:
    name = ROOM  # the postback namespace (room=garbage&action=…)

    def __init__(self, deps: GarbageDeps) -> None:
        self.deps = deps

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        return None

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None:
        """A resident who leaves gets no more reminders (the active bitmap already stops them; this forgets them)."""
        await self.deps.reminders.delete(tenant_id, user_id)

    # ----------------------------------------------------------------------------------------------- text
    async def on_text(self, incoming: Incoming, parse: object = None) -> list[dict] | None:
        raw = (incoming.text or "").strip()
        if not raw:
            return None
        folded = fold(raw)
        tenant, lang = incoming.tenant.id, incoming.language
        index = await self.deps.index(tenant)  # cached per revision: one small read per message
        if index is None:
            return None
        ds = index.dataset
        if _DAY_Q.match(folded) or _DAY_Q.match(raw):
            which = "tomorrow" if re.match(r"^(明日|あした|あす)", folded) else "today"
            return await self._with_notice(incoming, await self._day(incoming, ds, which))
        if _REMIND_Q.search(folded):
            return await self._with_notice(incoming, await self._menu(incoming, ds))
        result = index.search(raw)
        if result.language != "ja" and lang.startswith("ja"):  # asked in English: answered in English
            lang = result.language
        # a message that only names something: short, and in English nothing but the item's name (「bicycle parking」
        # is not about a bicycle)
        short = len(raw) <= _MAX_SHORT and (result.language == "ja" or (result.best is not None and result.best.score >= 0.99))
        out = self._answer_search(result, ds, lang, short=short)
        if out is not None:
            return await self._with_notice(incoming, out)
        m = _ITEM_FRAME.match(raw)
        if m and not result.candidates and not _SCHEDULE.search(folded):
            name = m.group("item").strip(" 　、。「」")
            if name and "ごみ" not in fold(name):  # 「燃えるゴミは…」 is about a category, not an unknown item
                await self.deps.unknown.record(tenant, name)
                url = next((c.url for c in ds.categories if c.url), "")
                return await self._with_notice(incoming, [text(texts.t("not_found", lang, query=name, url=url))])
        return None

    def _answer_search(self, r: SearchResult, ds: Dataset, lang: str, short: bool) -> list[dict] | None:
        """Items only: a question about a whole category (「粗大ごみの出し方」「燃えるゴミは何曜日」) is FAQ's."""
        best = r.best
        if best is None or best.item is None or not (r.framed or short):
            return None
        if r.confident:
            return [self._item_message(ds, best.item, best.item.category, lang)]
        if best.score < 0.6 and not r.framed:
            return None
        position = {id(i): n for n, i in enumerate(ds.items)}
        items = [
            qr_postback(
                _label(c.item, lang)[:20],
                postback_data(ROOM, "item", i=str(position.get(id(c.item), -1)), n=c.item.name[:10], l=lang),
                display_text=_label(c.item, lang),
            )
            for c in r.candidates
            if c.item is not None
        ]
        return [text(texts.t("pick", lang, query=r.query[:30]), items)]

    def _item_message(self, ds: Dataset, item: Item, label: str, lang: str) -> dict:
        cat = ds.category(label)
        english = item.english_names()
        name = f"{english[0]} ({item.name})" if english and lang == "en" else item.name
        lines = [texts.t("answer", lang, name=name, category=texts.category_name(label, lang))]
        if item.notice:
            lines.append(item.notice)
        if cat and cat.description:
            lines.append(texts.t("how", lang, how=cat.description))
        if cat and cat.url:
            lines.append(texts.t("more", lang, url=cat.url))
        return text("\n".join(lines))

    async def _with_notice(self, incoming: Incoming, out: list[dict]) -> list[dict]:
        """Append, once, that reminders were skipped for the monthly quota (replies cost no quota)."""
        if await self.deps.reminders.take_skipped(incoming.tenant.id, incoming.user_id):
            out = [*out, text(texts.t("skipped", incoming.language))]
        return out[:5]

    # ----------------------------------------------------------------------------------------------- days
    async def _day(self, incoming: Incoming, ds: Dataset, which: str, area_name: str | None = None) -> list[dict]:
        lang = incoming.language
        if area_name is None:
            mine = await self.deps.reminders.get(incoming.tenant.id, incoming.user_id)
            area_name = mine.area if mine else None
        area = ds.area(area_name) if area_name else None
        if area is None:
            return await self._area_picker(incoming, ds, ctx=which)
        day = self.deps.local_now().date() + dt.timedelta(days=1 if which == "tomorrow" else 0)
        cats = collected(ds, area, day)
        when, date = texts.t(which, lang), f"{day.month}/{day.day}"
        body = (
            texts.t("day", lang, when=when, date=date, cats=texts.join(cats, lang))
            if cats
            else texts.t("no_collection", lang, when=when, date=date)
        )
        extra = notes(ds, area, day)
        lines = [body + texts.t("area_of", lang, area=area.name), *extra]
        other = "today" if which == "tomorrow" else "tomorrow"
        again = postback_data(ROOM, "day", d=other, a=str(ds.areas.index(area)))
        return [text("\n".join(lines), [qr_postback(texts.t(f"btn_{other}", lang), again)])]

    async def _area_picker(self, incoming: Incoming, ds: Dataset, ctx: str) -> list[dict]:
        lang = incoming.language
        items: list[dict] = []
        if self.deps.places is not None:
            for p in await self.deps.places.places(incoming.tenant.id, incoming.user_id):
                area = area_for_place(ds, p)
                if area is not None:
                    data = postback_data(ROOM, "area", x=ctx, a=str(ds.areas.index(area)))
                    items.append(qr_postback(f"{p.name}（{area.name}）"[:20], data, display_text=p.name))
        places = bool(items)
        for i, a in enumerate(ds.areas):
            if len(items) >= 13:
                break
            items.append(qr_postback(a.name[:20], postback_data(ROOM, "area", x=ctx, a=str(i)), display_text=a.name))
        return [text(texts.t("need_area_places" if places else "need_area", lang), items)]

    # ----------------------------------------------------------------------------------------------- reminders
    async def _save(self, r: Reminder) -> Reminder:
        """Store the reminder with the quiet hours the resident set for alerts (read again at every change)."""
        if self.deps.places is not None:
            r = replace(r, quiet=await self.deps.places.quiet_hours(r.tenant, r.user_id))
        await self.deps.reminders.save(r)
        return r

    async def _menu(self, incoming: Incoming, ds: Dataset) -> list[dict]:
        lang = incoming.language
        mine = await self.deps.reminders.get(incoming.tenant.id, incoming.user_id)
        if mine is None:
            return await self._area_picker(incoming, ds, ctx="remind")
        state = texts.t("state_on", lang, area=mine.area, time=texts.t(mine.slot, lang), cats=texts.join(mine.categories, lang))
        buttons = [
            qr_postback(texts.t("btn_register", lang), postback_data(ROOM, "areas", x="remind")),
            qr_postback(texts.t("btn_categories", lang), postback_data(ROOM, "cats")),
            qr_postback(texts.t("btn_time", lang), postback_data(ROOM, "times")),
            qr_postback(texts.t("btn_stop", lang), postback_data(ROOM, "stop")),
        ]
        return [text(texts.t("menu", lang, state=state), buttons)]

    def _time_picker(self, lang: str, area: str) -> dict:
        return text(
            texts.t("choose_time", lang, area=area),
            [
                qr_postback(texts.t("eve", lang), postback_data(ROOM, "time", s="eve")),
                qr_postback(texts.t("morning", lang), postback_data(ROOM, "time", s="morning")),
            ],
        )

    def _cat_picker(self, ds: Dataset, r: Reminder, lang: str) -> dict:
        cats = ds.scheduled_categories()
        items = [
            qr_postback(
                ("✓ " if c in r.categories else "") + texts.category_name(c, lang)[:18], postback_data(ROOM, "cat", c=str(n))
            )
            for n, c in enumerate(cats)
        ][:12]
        items.append(qr_postback(texts.t("btn_done", lang), postback_data(ROOM, "saved")))
        return text(texts.t("choose_categories", lang, cats=texts.join(r.categories, lang)), items)

    def _saved(self, r: Reminder, lang: str) -> dict:
        return text(
            texts.t("saved", lang, area=r.area, cats=texts.join(r.categories, lang), time=texts.t(r.slot, lang)),
            [
                qr_postback(texts.t("btn_categories", lang), postback_data(ROOM, "cats")),
                qr_postback(texts.t("btn_time", lang), postback_data(ROOM, "times")),
                qr_postback(texts.t("btn_tomorrow", lang), postback_data(ROOM, "day", d="tomorrow")),
            ],
        )

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        tenant, uid, lang = incoming.tenant.id, incoming.user_id, incoming.language
        index = await self.deps.index(tenant)
        if index is None:
            return None
        ds = index.dataset
        action = data.get("action", "")
        mine = await self.deps.reminders.get(tenant, uid)
        if action == "item":
            asked = data.get("l", "")  # the language the question was answered in (English for a ja resident)
            if asked == "en" or asked in incoming.tenant.languages:
                lang = asked
            item = _item_at(ds, data.get("i", ""), data.get("n", ""))
            if item is None:
                return [text(texts.t("not_found", lang, query=data.get("n", ""), url=""))]
            return await self._with_notice(incoming, [self._item_message(ds, item, item.category, lang)])
        if action == "day":
            area = _at(ds.areas, data.get("a", ""))
            which = "tomorrow" if data.get("d") == "tomorrow" else "today"
            return await self._day(incoming, ds, which, area.name if area else None)
        if action == "menu":
            return await self._menu(incoming, ds)
        if action == "areas":
            return await self._area_picker(incoming, ds, ctx=data.get("x", "remind"))
        if action == "area":
            area = _at(ds.areas, data.get("a", ""))
            if area is None:
                return await self._area_picker(incoming, ds, ctx=data.get("x", "remind"))
            if data.get("x") in ("today", "tomorrow"):
                return await self._day(incoming, ds, data["x"], area.name)
            r = (
                replace(mine, area=area.name, language=lang)
                if mine
                else Reminder(tenant, uid, area.name, tuple(ds.scheduled_categories()), "eve", lang)
            )
            await self._save(r)
            return [self._time_picker(lang, area.name)]
        if mine is None:
            return await self._area_picker(incoming, ds, ctx="remind")
        if action == "times":
            return [self._time_picker(lang, mine.area)]
        if action == "time" and data.get("s") in ("eve", "morning"):
            r = await self._save(replace(mine, slot=data["s"], language=lang))
            return [self._saved(r, lang)]
        if action == "cats":
            return [self._cat_picker(ds, mine, lang)]
        scheduled = ds.scheduled_categories()
        if action == "cat" and data.get("c", "").isdigit() and int(data["c"]) < len(scheduled):
            c = scheduled[int(data["c"])]
            cats = tuple(x for x in scheduled if (x in mine.categories) != (x == c))
            r = await self._save(replace(mine, categories=cats, language=lang))
            return [self._cat_picker(ds, r, lang)]
        if action == "saved":
            return [self._saved(mine, lang)]
        if action == "stop":
            await self.deps.reminders.delete(tenant, uid)
            return [text(texts.t("stopped", lang))]
        return None


def _label(item: Item, lang: str) -> str:
    """An item's name for a quick reply: its English name for a question answered in English."""
    english = item.english_names()
    return english[0] if english and lang == "en" else item.name


def _at(seq: list, raw: str):
    """The element at a postback's index (None when it is not a valid index)."""
    return seq[int(raw)] if raw.isdigit() and int(raw) < len(seq) else None


def _item_at(ds: Dataset, raw: str, prefix: str) -> Item | None:
    """The item of a quick reply: by index, checked against the name's start (the data may have changed since)."""
    item = _at(ds.items, raw)
    if item is not None and item.name.startswith(prefix):
        return item
    return next((i for i in ds.items if prefix and i.name.startswith(prefix)), None)
