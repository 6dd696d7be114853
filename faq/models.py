"""FAQ domain records: entries, their change history and residents' feedback.

Plain dataclasses so that stores, the importer, the index and the chat speak one vocabulary; ``to_dict``/``from_dict``
are the only (de)serialisation, used by the Redis store and the JSON import/export.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Vote = Literal["up", "down"]


@dataclass
class Translation:
    """An entry in another language (``en``, ``zh-Hans``, ``ko``, ``vi``, ``ja-easy`` = やさしい日本語)."""

    question: str = ""
    answer: str = ""


@dataclass
class FaqEntry:
    """One question/answer of a tenant. ``version`` is bumped by the store on every change (optimistic edits).

    ``alternatives``: other wordings of the question that editors attached (often from the unanswered list); they
    are searched like the question itself. ``translations``: language code → the entry in that language.
    """

    tenant: str
    id: str
    question: str
    answer: str
    category: str = ""
    url: str = ""
    updated: str = ""  # 更新日 as the city writes it (free text, usually YYYY-MM-DD)
    keywords: list[str] = field(default_factory=list)
    municipality_code: str = ""  # 全国地方公共団体コード
    municipality_name: str = ""  # 地方公共団体名
    alternatives: list[str] = field(default_factory=list)
    translations: dict[str, Translation] = field(default_factory=dict)
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaqEntry:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in raw.items() if k in names}
        data["keywords"] = list(data.get("keywords") or [])
        data["alternatives"] = [str(a) for a in data.get("alternatives") or []]
        data["translations"] = {
            str(lang): t if isinstance(t, Translation) else Translation(str(t.get("question", "")),
                                                                         str(t.get("answer", "")))
            for lang, t in (data.get("translations") or {}).items()
        }
        data["version"] = int(data.get("version") or 0)
        return cls(**data)

    def content(self) -> dict[str, Any]:
        """The fields an editor changes (what history compares and re-import checks for 'unchanged')."""
        d = self.to_dict()
        d.pop("version")
        d.pop("tenant")
        return d


@dataclass
class FaqChange:
    """Who changed what, when: ``before`` is None for a creation, ``after`` None for a deletion."""

    tenant: str
    entry_id: str
    who: str
    at: float
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaqChange:
        return cls(**raw)


@dataclass
class FaqFeedback:
    """A resident's 👍/👎 on an answer. Only a hash of the query is kept (no resident text at rest)."""

    tenant: str
    entry_id: str
    query_hash: str
    vote: Vote
    at: float = field(default_factory=time.time)
    voter: str = ""  # hash of the resident's id: one vote per resident, entry and query ("" = not deduplicated)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaqFeedback:
        return cls(**raw)


def voter_hash(tenant: str, user_id: str) -> str:
    """Pseudonymous voter key (no LINE user id at rest in feedback records)."""
    return hashlib.sha256(f"{tenant}:{user_id}".encode()).hexdigest()[:16]


def query_hash(query: str) -> str:
    """Stable short hash of a normalized query, to count feedback per (entry, query) without storing the text."""
    norm = unicodedata.normalize("NFKC", query).strip().lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]
