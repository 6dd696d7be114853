"""Police / child-safety notices (安まちメール …): ingest, parse, geocode, keep, deliver, answer in chat.

The door of the notices room. Wiring (``app/bootstrap.py``): build a ``NoticeDeps`` with the gazetteer, an
``IncidentStore`` (``RedisIncidentStore(redis)``), the delivery engine's ``Deliverer`` and the subscription
store; wrap the engine's ``AudienceSource`` in ``NoticeAudience``; call ``schedule_jobs(scheduler, deps)``.
"""

from alerts.notices.audience import NoticeAudience
from alerts.notices.chat import NoticesRoom, is_nearby_question, nearby
from alerts.notices.config import FeedSourceConfig, ImapSourceConfig, NoticesConfig
from alerts.notices.geocode import geocode, normalize_place, town_choices
from alerts.notices.ingest import FeedSource, ImapSource, NoticeSource, poll_tenant, schedule_jobs
from alerts.notices.model import AuditEntry, Incident, Notice, Placement, ReviewItem
from alerts.notices.parse import NoticeError, parse_mail, parse_notice, read_mail
from alerts.notices.service import NoticeDeps, Outcome, RawNotice, dismiss, place_and_send, process, send
from alerts.notices.store import IncidentStore, MemoryIncidentStore, RedisIncidentStore

__all__ = [
    "AuditEntry", "FeedSource", "FeedSourceConfig", "ImapSource", "ImapSourceConfig", "Incident", "IncidentStore",
    "MemoryIncidentStore", "Notice", "NoticeAudience", "NoticesRoom", "NoticeDeps", "NoticeError", "NoticeSource", "NoticesConfig",
    "Outcome", "Placement", "RawNotice", "RedisIncidentStore", "ReviewItem", "dismiss", "geocode", "is_nearby_question",
    "nearby", "normalize_place", "parse_mail", "parse_notice", "place_and_send", "poll_tenant", "process", "read_mail",
    "schedule_jobs", "send", "town_choices",
]
