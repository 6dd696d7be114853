"""Notices vocabulary: a parsed police notice, the incident we keep, review items and audit entries.

Small dataclasses, no I/O. ``Notice`` is what the text said; ``Incident`` adds where it is (geocoding) and
what happened to it (delivered, in review …). Times are aware datetimes in JST; stored as ISO strings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

JST = dt.timezone(dt.timedelta(hours=9), "JST")

Precision = Literal["town", "municipality", "none"]
Status = Literal["delivered", "review", "placed", "dismissed", "stored"]

# Canonical incident kinds (the label police use) → an id for messages and metrics. Order matters: the first
# keyword found in the heading wins, so the specific ones come before the generic 不審者.
KINDS: dict[str, str] = {
    "声かけ": "koekake",
    "つきまとい": "tsukimatoi",
    "盗撮": "tousatsu",
    "写真撮影": "satsuei",
    "露出": "roshutsu",
    "痴漢": "chikan",
    "暴行": "boukou",
    "ひったくり": "hittakuri",
    "路上強盗": "goutou",
    "のぞき": "nozoki",
    "不審者": "fushinsha",
}
# Other spellings in headings and bodies → canonical kind.
KIND_SYNONYMS: dict[str, str] = {
    "声掛け": "声かけ",
    "声がけ": "声かけ",
    "つけまとい": "つきまとい",
    "付きまとい": "つきまとい",
    "後をつけ": "つきまとい",
    "公然わいせつ": "露出",
    "下半身を露出": "露出",
    "撮影": "写真撮影",
    "わいせつ": "痴漢",
    "不審な人物": "不審者",
    "不審者情報": "不審者",
}


@dataclass(frozen=True)
class Notice:
    """What one police notice says, as published. ``occurred_at`` is None when the text gave no usable date."""

    kind: str  # canonical label from KINDS (声かけ …)
    heading: str  # the notice's own heading (子どもに対する声かけ)
    occurred_at: dt.datetime | None
    time_known: bool  # False when only the date was given
    place_text: str  # as published: 大阪市北区梅田1丁目付近の路上
    description: str  # the situation paragraph, as published
    suspect: str  # 男の特徴, as published
    advice: str  # 防犯アドバイス, as published
    station: str  # 曽根崎警察署
    subject: str
    municipality_hint: str = ""  # （大阪市北区） in the subject, when the body does not name one
    message_id: str = ""

    @property
    def kind_id(self) -> str:
        return KINDS.get(self.kind, "fushinsha")


@dataclass(frozen=True)
class Placement:
    """Where a place text lies, no more precisely than the notice said."""

    precision: Precision
    municipality_code: str | None = None  # jis5 of the finest unit named (ward for 政令市)
    municipality_name: str = ""
    town: str = ""  # 梅田一丁目 (or a 町 stem like 梅田 when the notice named no 丁目)
    lat: float | None = None
    lng: float | None = None
    reason: str = ""  # why precision is lower than town (for the review list)


@dataclass
class Incident:
    """A notice we keep: what it said, where, and its fate. ``id`` is a stable hash of the notice."""

    id: str
    tenant: str
    kind: str
    heading: str
    occurred_at: str | None  # ISO 8601 (JST) or None
    time_known: bool
    place_text: str
    description: str
    suspect: str
    advice: str
    station: str
    source: str  # "imap:<name>", "rss:<name>", "cli"
    source_name: str  # 大阪府警察 (shown as 出典)
    precision: Precision = "none"
    municipality_code: str | None = None
    municipality_name: str = ""
    town: str = ""
    lat: float | None = None
    lng: float | None = None
    received_at: float = 0.0  # epoch seconds
    status: Status = "stored"
    job_id: str | None = None
    note: str = ""  # why it is in review

    @property
    def ts(self) -> float:
        """The time retention and "recent" use: when it happened, else when we received it."""
        if self.occurred_at:
            try:
                return dt.datetime.fromisoformat(self.occurred_at).timestamp()
            except ValueError:
                pass
        return self.received_at

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Incident:
        return cls(**json.loads(raw))


def notice_id(notice: Notice) -> str:
    """Stable across re-deliveries of the same notice (same mail via two mailboxes, a feed re-read …).

    The Message-ID is not used: forwarded copies get new ones, while the published text stays the same.
    """
    key = "\x1f".join(
        [notice.kind, notice.occurred_at.isoformat() if notice.occurred_at else "", notice.place_text, notice.description]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


@dataclass
class ReviewItem:
    """A notice that could not be parsed or placed. ``raw`` keeps the text (bounded) so nothing is lost."""

    id: str
    tenant: str
    reason: str
    source: str
    received_at: float
    subject: str = ""
    raw: str = ""  # decoded text (or the mail's first bytes for unreadable mail)
    incident: dict | None = None  # the parsed-but-unplaced incident, if parsing worked
    candidates: list[dict] = field(default_factory=list)  # towns an admin can pick from

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> ReviewItem:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class AuditEntry:
    tenant: str
    actor: str
    action: str  # review.place, review.send, review.dismiss, notice.send
    target: str
    detail: dict = field(default_factory=dict)
    ts: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> AuditEntry:
        return cls(**json.loads(raw))
