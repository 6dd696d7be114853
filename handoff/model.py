"""Handoff vocabulary: a resident's conversation with people, its messages and notes, and per-tenant policy.

A ``Conversation`` is one consultation: queued → active (one holder) → closed / handed_back / timeout / cancelled.
The LINE user id stays inside the domain; the console sees a pseudonym (see ``views.py``).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

# Statistics category ids (kpi's fixed ``consult_category`` vocabulary): short ids, never resident text
KPI_CATEGORIES = ("crisis", "suicide", "dv", "child", "living", "general")
RISKS: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "crisis": 3}
RISK_LABELS = {"low": "低", "normal": "通常", "high": "高", "crisis": "危機"}
OPEN_STATUSES = ("queued", "active")
END_STATUSES = ("closed", "handed_back", "timeout", "cancelled")


@dataclass
class Conversation:
    id: str
    tenant: str
    user_id: str
    category: str = "general"  # e.g. crisis/suicide, dv, child, living, general (what the bot decided)
    risk: str = "normal"
    reason: str = "request"  # crisis | intent | request (「人と話したい」) | fallback (bot failed repeatedly)
    summary: str = ""  # short, written by the bot; never the raw crisis text unless the tenant allows it
    crisis_text: str = ""  # the resident's own words, only stored when HandoffPolicy.include_crisis_text
    created_at: float = field(default_factory=time.time)
    status: str = "queued"
    holder: str = ""  # username of the counsellor holding the conversation (the lock)
    supervisors: list[str] = field(default_factory=list)  # supervisors who joined
    emergency: bool = False
    labels: list[str] = field(default_factory=list)
    closing_category: str = ""
    taken_at: float = 0.0
    closed_at: float = 0.0
    last_activity: float = field(default_factory=time.time)
    last_notice_at: float = 0.0  # last "please wait" notice to a queued resident
    unread: int = 0  # resident messages the holder has not opened yet (markAsRead pending)
    read_token: str = ""  # markAsReadToken of the newest unread resident message (kept for the token-based API)
    display_name: str = ""  # LINE display name, shown only when the tenant allows
    stat_category: str = "general"  # KPI_CATEGORIES id fixed when opened, so opened and taken counts stay comparable
    language: str = "ja"  # the resident's language (resolved for the tenant, bot.i18n) for every text pushed to them

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    @property
    def risk_rank(self) -> int:
        return RISKS.get(self.risk, 1)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def may_write(self, username: str) -> bool:
        return self.status == "active" and (username == self.holder or username in self.supervisors)


@dataclass
class Message:
    """One line of the transcript. ``sender``: resident | counsellor | system."""

    id: str
    ts: float
    sender: str
    text: str
    author: str = ""  # staff username for counsellor messages
    kind: str = "text"  # text | sticker | image | location | other (non-text is shown as a placeholder)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts, "sender": self.sender, "text": self.text, "author": self.author, "kind": self.kind}


@dataclass
class Note:
    """Private counsellor note: never sent to the resident, visible to staff allowed to read the conversation."""

    ts: float
    author: str
    text: str


@dataclass
class CannedResponse:
    key: str
    title: str
    text: str


@dataclass
class Referral:
    """One line of the emergency checklist shown to the counsellor."""

    name: str
    contact: str
    note: str = ""


DEFAULT_CANNED: tuple[CannedResponse, ...] = (
    CannedResponse("greet", "はじめのあいさつ", "相談員です。メッセージを読みました。よければ、今の状況をもう少し教えてください。"),
    CannedResponse("wait", "少しお待ちください", "確認しますので、少しお待ちください。"),
    CannedResponse("safe", "安全の確認", "今、あなたは安全な場所にいますか？"),
    CannedResponse(
        "welfare",
        "福祉事務所の紹介",
        "生活のこと（お金・住まい・仕事）は、お住まいの市区町村の福祉事務所で相談できます。窓口で「生活の相談をしたい」と伝えてください。",
    ),
    CannedResponse(
        "jidou",
        "児童相談所の紹介",
        "子どもや子育てのことは、児童相談所に相談できます。電話 189（いちはやく）は24時間、近くの児童相談所につながります。",
    ),
    CannedResponse(
        "police",
        "警察の紹介",
        "危険が迫っているときは、すぐに110番してください。急ぎでない相談は、警察相談専用電話 #9110 で受け付けています。",
    ),
    CannedResponse(
        "dv",
        "配偶者暴力相談支援センターの紹介",
        "パートナーからの暴力は、配偶者暴力相談支援センターで相談できます。「DV相談＋」0120-279-889 は24時間つながります。",
    ),
    CannedResponse("close", "終わりのあいさつ", "お話ししてくださってありがとうございました。また困ったときは、いつでも連絡してください。"),
)

@dataclass
class HandoffPolicy:
    """Per-tenant choices for consultations (the tenants file has no section for these yet; defaults are safe)."""

    show_display_name: bool = False  # residents are pseudonymous in the console by default
    include_crisis_text: bool = False
    minutes_per_case: int | None = None  # None: tell the position only, no wait estimate we cannot back up
    inactivity_minutes: int = 30
    retention_days: int = 365
    canned: tuple[CannedResponse, ...] = DEFAULT_CANNED
    labels: tuple[str, ...] = ("自殺念慮", "DV", "虐待", "いじめ", "生活困窮", "心の健康", "家族", "学校", "仕事", "その他")
    categories: tuple[str, ...] = ("解決", "他機関へ紹介", "継続相談", "緊急対応", "いたずら・無言", "その他")
    child_guidance_center: Referral = field(default_factory=lambda: Referral("児童相談所", "189", "児童相談所虐待対応ダイヤル（24時間）"))
    # a tenant's own wording (one language, sent to every resident); empty = the catalogue's handoff.closing /
    # handoff.handback / handoff.timeout in the resident's language
    closing_message: str = ""
    handback_message: str = ""
    timeout_message: str = ""


def pseudonym(tenant: str, user_id: str) -> str:
    """Stable per tenant, meaningless outside it: counsellors can recognise a returning resident without the LINE id."""
    return "相談者-" + hashlib.sha256(f"{tenant}:{user_id}".encode()).hexdigest()[:6].upper()
