"""FAQ room: storage (FaqStore port), Japanese retrieval (LiveIndex), import/export, chat handlers.

Door for bootstrap/cli: ``RedisFaqStore``/``MemoryFaqStore``, ``LiveIndex`` (+ optional ``load_ginza_vectors()``),
``faq.io`` (import/export/search functions), ``faq.chat`` (answer, on_postback, FaqDeps), ``faq.admin`` (staff pages).
"""

from faq.index import FaqIndex, Hit, LiveIndex, RankerConfig, build_index
from faq.models import FaqChange, FaqEntry, FaqFeedback, query_hash
from faq.store import FaqStore, MemoryFaqStore, PutResult, RedisFaqStore, VersionConflict
from faq.text import Analyzer
from faq.vectors import WordVectors, load_ginza_vectors

__all__ = [
    "Analyzer", "FaqChange", "FaqEntry", "FaqFeedback", "FaqIndex", "FaqStore", "Hit", "LiveIndex",
    "MemoryFaqStore", "PutResult", "RankerConfig", "RedisFaqStore", "VersionConflict", "WordVectors", "build_index",
    "load_ginza_vectors", "query_hash",
]
