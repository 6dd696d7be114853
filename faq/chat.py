"""FAQ in the chat: answer a resident's question, offer choices when unsure, record 👍/👎.

The router calls ``answer`` only after the NLU's crisis and consultation paths declined the message (those always
win); ``FaqRoom`` adapts ``answer``/``on_postback`` to ``bot.router``'s room protocol. Replies are LINE message dicts
built with ``bot.chat`` helpers and kept within LINE's limits: ≤ 5 messages per reply, ≤ 5,000 characters per text,
≤ 13 quick replies, labels ≤ 20 characters, postback data ≤ 300 characters.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.chat import Incoming, postback_data, qr_message, qr_postback, text
from faq.index import Hit, LiveIndex
from faq.models import FaqEntry, FaqFeedback, query_hash, voter_hash
from faq.store import FaqStore

log = logging.getLogger("civicbot.faq")

TEXT_LIMIT = 5000
MAX_MESSAGES = 5


@dataclass(frozen=True)
class ConfidencePolicy:
    """When to answer directly, when to offer choices, when to admit we found nothing.

    Thresholds on ``Hit.confidence`` (score / best reachable score for the query) and on the lead over the runner-up,
    chosen on pseudo-queries made from the FAQ itself (bench/faq_localgovfaq.py --calibrate), not on dev queries.
    """

    answer_min: float = 0.55  # top hit at least this confident …
    answer_lead: float = 1.25  # … and this many times the runner-up's score
    nothing_below: float = 0.12  # below this, no entry is worth showing


@dataclass
class FaqDeps:
    index: LiveIndex
    store: FaqStore
    policy: ConfidencePolicy = ConfidencePolicy()
    # NLU intent name → topic label (the composition root passes nlu.intents.FAQ_TOPICS); a label passed directly
    # as ``topic_intent`` works too.
    topic_labels: Mapping[str, str] = field(default_factory=dict)
    # kpi.recorder.KpiRecorder (the composition root passes ports.kpi); None = no KPIs (tests, CLI search)
    kpi: Any = None


async def record_kpi(deps: FaqDeps, tenant: str, verdict: str) -> None:
    """Count what the FAQ did with a question, for the public dashboard (counts only, never the text).

    "answer" (the bot answered directly) counts as answered and self-resolved; "choices" as answered but not
    resolved (the resident still had to pick a question); "nothing" as unanswered. A KPI failure never stops a reply.
    """
    if deps.kpi is None:
        return
    try:
        if verdict == "nothing":
            await deps.kpi.faq_unanswered(tenant)
        else:
            await deps.kpi.faq_answered(tenant, resolved=verdict == "answer")
    except Exception:  # noqa: BLE001 - best effort by design
        log.warning("faq kpi not recorded", exc_info=True, extra={"tenant": tenant})


def _handoff_replies() -> list[dict]:
    return [qr_message("相談する", "相談したい"), qr_message("人と話す", "人と話したい")]


def split_text(body: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at paragraph, then line, then sentence boundaries so no part exceeds ``limit`` characters."""
    parts: list[str] = []
    rest = body.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind("。") + 1 if "。" in window else -1)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def answer_messages(entry: FaqEntry, qhash: str) -> list[dict]:
    """The entry's answer (split to LINE's limits), its URL, and the 「役に立ちましたか？」 buttons."""
    body = f"Q. {entry.question}\n\n{entry.answer}"
    parts = split_text(body)
    room_for_text = MAX_MESSAGES - 1
    if len(parts) > room_for_text:
        parts = parts[:room_for_text]
        tail = "\n…(続きは下のページをご覧ください)" if entry.url else "\n…(以下省略)"
        parts[-1] = parts[-1][: TEXT_LIMIT - len(tail)] + tail
    if entry.url:
        more = f"\n\n詳しくはこちら:\n{entry.url}"
        if len(parts[-1]) + len(more) <= TEXT_LIMIT:
            parts[-1] += more
        elif len(parts) < room_for_text:
            parts.append(more.strip())
    messages = [text(p) for p in parts]

    def vote(v: str) -> str:
        return postback_data("faq", "feedback", id=entry.id, v=v, q=qhash)

    messages.append(
        text(
            "役に立ちましたか？",
            [
                qr_postback("👍 役に立った", vote("up"), "役に立った"),
                qr_postback("👎 役に立たなかった", vote("down"), "役に立たなかった"),
            ],
        )
    )
    return messages


def _label(question: str) -> str:
    return question if len(question) <= 20 else question[:19] + "…"


def classify(hits: list[Hit], policy: ConfidencePolicy) -> str:
    """"answer", "choices" or "nothing" for a ranked hit list."""
    if not hits or hits[0].confidence < policy.nothing_below:
        return "nothing"
    top = hits[0]
    # the lead is measured on lexical evidence too (word-vector fusion lifts every entry and would hide it)
    runner_up = hits[1].confidence if len(hits) > 1 else 0.0
    if top.confidence >= policy.answer_min and top.confidence >= policy.answer_lead * runner_up:
        return "answer"
    return "choices"


async def answer(incoming: Incoming, query: str, topic_intent: str | None, deps: FaqDeps) -> list[dict]:
    """Reply to a resident's question: the answer, a choice of three questions, or an honest 'not found'."""
    verdict, messages = await respond(incoming, query, topic_intent, deps)
    await record_kpi(deps, incoming.tenant.id, verdict)
    return messages


async def respond(incoming: Incoming, query: str, topic_intent: str | None, deps: FaqDeps) -> tuple[str, list[dict]]:
    """Like ``answer`` but also says which case it was ("answer", "choices", "nothing")."""
    tenant = incoming.tenant.id
    topic = deps.topic_labels.get(topic_intent, topic_intent) if topic_intent else None
    hits = await deps.index.search(tenant, query, 5, topic=topic)
    qhash = query_hash(query)
    verdict = classify(hits, deps.policy)
    if verdict == "answer":
        entry = await deps.index.entry(tenant, hits[0].id)
        if entry is not None:
            return verdict, answer_messages(entry, qhash)
        verdict = "choices"
    if verdict == "choices":
        choices = [
            qr_postback(_label(h.question), postback_data("faq", "show", id=h.id, q=qhash), h.question[:300])
            for h in hits[:3]
        ]
        return verdict, [
            text(
                "お探しの内容は次のどれかに近いですか？\n"
                + "\n".join(f"・{h.question}" for h in hits[:3])
                + "\n\n当てはまるものを選んでください。",
                [*choices, *_handoff_replies()],
            )
        ]
    return verdict, [
        text(
            "すみません、そのご質問に合う回答が見つかりませんでした。\n"
            "言い方を変えてもう一度送っていただくか、相談窓口や職員におつなぎすることもできます。",
            _handoff_replies(),
        )
    ]


class FaqRoom:
    """The FAQ room as ``bot.router`` sees it (``on_text(incoming, parse)``, ``on_postback(incoming, data)``).

    Takes a text only when the NLU says it is an FAQ topic (then it always replies, honestly if nothing matches), or
    when the NLU is unsure/absent and the FAQ has at least candidates to show; consultation and control intents are
    never taken, so those paths (and the crisis middleware before them) always win.
    """

    name = "faq"

    def __init__(self, deps: FaqDeps, unsure_intents: frozenset[str] = frozenset({"nlu_fallback", "out_of_scope"})):
        self.deps = deps
        self.unsure_intents = unsure_intents  # pass {nlu.intents.FALLBACK_INTENT, nlu.intents.OUT_OF_SCOPE}

    async def on_text(self, incoming: Incoming, parse: object) -> list[dict] | None:
        query = (incoming.text or "").strip()
        if not query:
            return None
        intent = getattr(parse, "intent", None)
        if intent is not None and intent in self.deps.topic_labels:
            return await answer(incoming, query, intent, self.deps)
        if intent is None or intent in self.unsure_intents:
            verdict, messages = await respond(incoming, query, None, self.deps)
            if verdict == "nothing":
                return None  # not ours: the router's own fallback replies (and nothing is counted here)
            await record_kpi(self.deps, incoming.tenant.id, verdict)
            return messages
        return None

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        return await on_postback(incoming, data, self.deps)

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        return None

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None:
        return None  # feedback votes are pseudonymous and stay (KPIs)


async def on_postback(incoming: Incoming, data: dict, deps: FaqDeps) -> list[dict]:
    """Postbacks with ``room=faq``: ``show`` (a chosen question) and ``feedback`` (👍/👎)."""
    tenant = incoming.tenant.id
    action = data.get("action")
    entry_id = data.get("id", "")
    qhash = data.get("q", "")[:64]
    if action == "show":
        entry = await deps.index.entry(tenant, entry_id) or await deps.store.get(tenant, entry_id)
        if entry is None:
            return [text("申し訳ありません。この質問は見つかりませんでした（内容が更新された可能性があります）。"
                         "もう一度ご質問ください。", _handoff_replies())]
        return answer_messages(entry, qhash)
    if action == "feedback":
        vote = data.get("v")
        if vote not in ("up", "down") or await deps.store.get(tenant, entry_id) is None:
            return [text("申し訳ありません。この操作は受け付けられませんでした。")]
        fresh = await deps.store.add_feedback(
            FaqFeedback(tenant, entry_id, qhash, vote, voter=voter_hash(tenant, incoming.user_id))
        )
        if not fresh:
            return [text("この回答へのご意見は、すでにいただいています。ありがとうございます。")]
        if deps.kpi is not None:
            try:
                await deps.kpi.faq_feedback(tenant, up=vote == "up")
            except Exception:  # noqa: BLE001 - best effort by design
                log.warning("faq kpi not recorded", exc_info=True, extra={"tenant": tenant})
        if vote == "up":
            return [text("ありがとうございます。お役に立ててよかったです。")]
        return [
            text(
                "ご意見ありがとうございます。回答の改善に役立てます。\n"
                "よろしければ、相談窓口や職員におつなぎすることもできます。",
                _handoff_replies(),
            )
        ]
    return [text("申し訳ありません。この操作は受け付けられませんでした。")]
