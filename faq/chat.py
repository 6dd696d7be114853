"""FAQ in the chat: answer a resident's question, offer choices when unsure, record 👍/👎.

The router calls ``answer`` only after the NLU's crisis and consultation paths declined the message (those always
win); ``FaqRoom`` adapts ``answer``/``on_postback`` to ``bot.router``'s room protocol. Replies are LINE message dicts
built with ``bot.chat`` helpers and kept within LINE's limits: ≤ 5 messages per reply, ≤ 5,000 characters per text,
≤ 13 quick replies, labels ≤ 20 characters, postback data ≤ 300 characters.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.chat import Incoming, postback_data, qr_message, qr_postback, text
from faq.i18n import t
from faq.index import Hit, LiveIndex
from faq.lang import detect_language
from faq.models import FaqEntry, FaqFeedback, query_hash, voter_hash
from faq.store import FaqStore
from faq.unanswered import UnansweredStore, admissible

log = logging.getLogger("civicbot.faq")

TEXT_LIMIT = 5000
MAX_MESSAGES = 5


def confidence_features(hits: list[Hit]) -> tuple[float, ...]:
    """What the calibrated confidence looks at: the top hit's lexical confidence, its lead over the strongest other
    hit (in lexical confidence and in the first-stage fused score; the strongest, not the second listed, since the
    learned second stage re-orders the hits after the first) and the confidence squared; 1.0 first (the intercept)."""
    c1 = hits[0].confidence if hits else 0.0
    c2 = max((h.confidence for h in hits[1:]), default=0.0)
    s1 = hits[0].score if hits else 0.0
    s2 = max((h.score for h in hits[1:]), default=0.0)
    return (1.0, c1, math.log((c1 + 0.05) / (c2 + 0.05)), math.log((s1 + 1e-6) / (s2 + 1e-6)), c1 * c1)


@dataclass(frozen=True)
class ConfidencePolicy:
    """When to answer directly, when to offer choices (もしかして), when to say we do not know.

    ``weights``: a logistic model of P(the top hit answers the question) over ``confidence_features``, fitted on
    LocalGovFAQ dev half A; the thresholds were chosen on half A too (utility: right answer +1, wrong answer -1.5,
    a もしかして with a relevant choice +0.6, without -0.1, "don't know" 0; no off-topic message may be answered).
    Fitted on the hits of the learned second stage cross-fitted (half A's hits ranked by weights fitted on half B),
    so neither the ranker nor this policy saw half B: ``bench/faq_localgovfaq.py`` reports it there (and the
    policy fitted on B on half A). ``answer_min`` and ``nothing_below`` are floors
    on the lexical confidence (the share of the resident's words the entry matches). Not from dev (which has no
    unanswerable questions): a question with a word the FAQ never uses is not answered directly (``Hit.novel``).
    """

    weights: tuple[float, ...] = (-2.119, 3.11, -2.061, 5.806, 0.275)
    answer_p: float = 0.80  # answer when P(right) is at least this …
    answer_min: float = 0.55  # … and the lexical confidence at least this
    nothing_below: float = 0.10  # below this lexical confidence, no entry is worth showing

    def p_right(self, hits: list[Hit]) -> float:
        z = sum(w * x for w, x in zip(self.weights, confidence_features(hits)))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


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
    # questions the FAQ could not answer (or answered with 👎), for editors; None = not kept
    unanswered: UnansweredStore | None = None
    # the crisis layer's verdict on a text (True = flagged: the FAQ neither answers it nor keeps it). The router
    # will pass its flag; until then the composition root passes the existing crisis check.
    flagged: Callable[[str], bool] = field(default=lambda _text: False)


async def keep_unanswered(
    deps: FaqDeps, tenant: str, query: str, lang: str, verdict: str, flagged: bool | None = None
) -> None:
    """What the improvement loop keeps of a question, by the FAQ's verdict: "nothing" and "choices" (もしかして) put it
    into the unanswered list; "answer" and "choices" remember it for a day so that a 👎 can put it there.
    Only FAQ-like messages (``faq.unanswered.admissible``). Best effort: a failure never stops a reply, and the
    text never reaches the logs."""
    if deps.unanswered is None:
        return
    if not admissible(query, deps.flagged(query) if flagged is None else flagged):
        return
    try:
        if verdict in ("nothing", "choices"):
            await deps.unanswered.record(tenant, query, lang, "nothing" if verdict == "nothing" else "choices")
        if verdict in ("answer", "choices"):
            await deps.unanswered.remember_answered(tenant, query, lang)
    except Exception:  # noqa: BLE001 - best effort by design (no exc_info: it could carry the text)
        log.warning("unanswered question not kept", extra={"tenant": tenant})


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


def _handoff_replies(lang: str = "ja") -> list[dict]:
    return [qr_message(t("consult", lang), t("consult_text", lang)), qr_message(t("person", lang), t("person_text", lang))]


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


def localized(entry: FaqEntry, lang: str) -> tuple[str, str, str]:
    """(question, answer, note) for a resident writing in ``lang``: the entry's translation into that language; else
    its やさしい日本語 version; else the Japanese entry. ``note`` says so in the resident's language ("" if none)."""
    if not lang.startswith("ja") or lang == "ja-easy":
        own = entry.translations.get(lang)
        if own is not None:
            return own.question, own.answer, ""
    easy = entry.translations.get("ja-easy")
    if lang != "ja" and easy is not None:
        return easy.question, easy.answer, t("only_easy_japanese", lang)
    return entry.question, entry.answer, "" if lang.startswith("ja") else t("only_japanese", lang)


def answer_messages(entry: FaqEntry, qhash: str, lang: str = "ja") -> list[dict]:
    """The entry's answer in the resident's language if it can (split to LINE's limits), its URL, and the
    「役に立ちましたか？」 buttons."""
    question, answer_text, note = localized(entry, lang)
    body = (f"{note}\n\n" if note else "") + f"Q. {question}\n\n{answer_text}"
    parts = split_text(body)
    room_for_text = MAX_MESSAGES - 1
    if len(parts) > room_for_text:
        parts = parts[:room_for_text]
        tail = "\n" + t("truncated" if entry.url else "omitted", lang)
        parts[-1] = parts[-1][: TEXT_LIMIT - len(tail)] + tail
    if entry.url:
        more = f"\n\n{t('more', lang)}\n{entry.url}"
        if len(parts[-1]) + len(more) <= TEXT_LIMIT:
            parts[-1] += more
        elif len(parts) < room_for_text:
            parts.append(more.strip())
    messages = [text(p) for p in parts]

    def vote(v: str) -> str:
        return postback_data("faq", "feedback", id=entry.id, v=v, q=qhash, lang=lang)

    up, down = t("vote_up", lang), t("vote_down", lang)
    messages.append(
        text(
            t("helpful", lang),
            [qr_postback(up, vote("up"), up.removeprefix("👍 ")), qr_postback(down, vote("down"), down.removeprefix("👎 "))],
        )
    )
    return messages


def _label(question: str) -> str:
    return question if len(question) <= 20 else question[:19] + "…"


def classify(hits: list[Hit], policy: ConfidencePolicy) -> str:
    """"answer", "choices" or "nothing" for a ranked hit list."""
    if not hits or hits[0].confidence < policy.nothing_below:
        return "nothing"
    # a word the FAQ never uses (アライグマ, ドローン) may make it another question: もしかして, never a direct answer
    if not hits[0].novel and hits[0].confidence >= policy.answer_min and policy.p_right(hits) >= policy.answer_p:
        return "answer"
    return "choices"


async def answer(
    incoming: Incoming, query: str, topic_intent: str | None, deps: FaqDeps, flagged: bool | None = None
) -> list[dict]:
    """Reply to a resident's question: the answer, a choice of three questions, or an honest 'not found'.
    ``flagged``: the crisis layer's verdict when the caller already has it (None: asked when needed)."""
    verdict, messages = await respond(incoming, query, topic_intent, deps)
    await record_kpi(deps, incoming.tenant.id, verdict)
    await keep_unanswered(deps, incoming.tenant.id, query, detect_language(query, incoming.language), verdict,
                          flagged)
    return messages


async def respond(incoming: Incoming, query: str, topic_intent: str | None, deps: FaqDeps) -> tuple[str, list[dict]]:
    """Like ``answer`` but also says which case it was ("answer", "choices", "nothing"). The question's language
    (``faq.lang.detect_language``, the resident's setting as a hint) picks the route and the reply's language."""
    tenant = incoming.tenant.id
    lang = detect_language(query, incoming.language)
    topic = deps.topic_labels.get(topic_intent, topic_intent) if topic_intent else None
    hits = await deps.index.search(tenant, query, 5, topic=topic, lang=lang)
    qhash = query_hash(query)
    verdict = classify(hits, deps.policy)
    if verdict == "answer":
        entry = await deps.index.entry(tenant, hits[0].id)
        if entry is not None:
            return verdict, answer_messages(entry, qhash, lang)
        verdict = "choices"
    if verdict == "choices":
        questions = []
        for h in hits[:3]:
            entry = await deps.index.entry(tenant, h.id)
            questions.append(localized(entry, lang)[0] if entry is not None else h.question)
        choices = [
            qr_postback(_label(q), postback_data("faq", "show", id=h.id, q=qhash, lang=lang), q[:300])
            for h, q in zip(hits[:3], questions)
        ]
        items = "\n".join(f"・{q}" for q in questions)
        return verdict, [text(t("choices", lang, items=items), [*choices, *_handoff_replies(lang)])]
    return verdict, [text(t("nothing", lang), _handoff_replies(lang))]


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
        if not query or self.deps.flagged(query):
            return None  # a message the crisis layer flagged never gets an FAQ answer
        intent = getattr(parse, "intent", None)
        if intent is not None and intent in self.deps.topic_labels:
            return await answer(incoming, query, intent, self.deps, flagged=False)
        if intent is None or intent in self.unsure_intents:
            verdict, messages = await respond(incoming, query, None, self.deps)
            lang = detect_language(query, incoming.language)
            if verdict == "nothing":
                # not ours: the router's own fallback replies; an FAQ-like question is kept for the editors
                await keep_unanswered(self.deps, incoming.tenant.id, query, lang, "nothing", flagged=False)
                return None
            await record_kpi(self.deps, incoming.tenant.id, verdict)
            await keep_unanswered(self.deps, incoming.tenant.id, query, lang, verdict, flagged=False)
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
    lang = data.get("lang", "ja")[:16] or "ja"
    if action == "show":
        entry = await deps.index.entry(tenant, entry_id) or await deps.store.get(tenant, entry_id)
        if entry is None:
            return [text(t("gone", lang), _handoff_replies(lang))]
        if deps.unanswered is not None and qhash:
            try:  # the resident found their answer among the もしかして choices
                await deps.unanswered.remove(tenant, [qhash])
            except Exception:  # noqa: BLE001 - best effort by design (no exc_info: it could carry the text)
                log.warning("unanswered question not updated", extra={"tenant": tenant})
        return answer_messages(entry, qhash, lang)
    if action == "feedback":
        vote = data.get("v")
        if vote not in ("up", "down") or await deps.store.get(tenant, entry_id) is None:
            return [text(t("invalid", lang))]
        fresh = await deps.store.add_feedback(
            FaqFeedback(tenant, entry_id, qhash, vote, voter=voter_hash(tenant, incoming.user_id))
        )
        if not fresh:
            return [text(t("already_voted", lang))]
        if deps.kpi is not None:
            try:
                await deps.kpi.faq_feedback(tenant, up=vote == "up")
            except Exception:  # noqa: BLE001 - best effort by design
                log.warning("faq kpi not recorded", exc_info=True, extra={"tenant": tenant})
        if vote == "down" and deps.unanswered is not None and qhash:
            try:
                await deps.unanswered.voted_down(tenant, qhash)
            except Exception:  # noqa: BLE001 - best effort by design (no exc_info: it could carry the text)
                log.warning("unanswered question not kept", extra={"tenant": tenant})
        if vote == "up":
            return [text(t("thanks_up", lang))]
        return [text(t("thanks_down", lang), _handoff_replies(lang))]
    return [text(t("invalid", lang))]
