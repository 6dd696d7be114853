"""FAQ room: storage (FaqStore port), Japanese retrieval (LiveIndex), import/export, chat handlers.

Door for bootstrap/cli: ``RedisFaqStore``/``MemoryFaqStore``, ``LiveIndex``, ``faq.io`` functions, ``faq.chat``.
"""

from faq.index import FaqIndex, Hit, LiveIndex, RankerConfig, build_index
from faq.models import FaqChange, FaqEntry, FaqFeedback, query_hash
from faq.store import FaqStore, MemoryFaqStore, PutResult, RedisFaqStore, VersionConflict
from faq.text import Analyzer

__all__ = [
    "Analyzer", "FaqChange", "FaqEntry", "FaqFeedback", "FaqIndex", "FaqStore", "Hit", "LiveIndex",
    "MemoryFaqStore", "PutResult", "RankerConfig", "RedisFaqStore", "VersionConflict", "build_index", "query_hash",
]
