"""Delivery engine: rate-limited, exactly-once fan-out of alerts and broadcasts to LINE.

The door: ``RedisDeliverer`` (submit/status/cancel), ``DeliveryWorker`` / ``run_delivery_worker``, the LINE port
(``SdkLinePort``, ``FakeLinePort``), ``FriendsAudience``, the CLI service functions and the composer's domain
(drafts, scheduler). The staff web pages are ``broadcasts.admin.create_admin_app`` (imported separately: it needs
``staff/``).
"""

from broadcasts.audience import AudienceQuery, AudienceSource, Recipient
from broadcasts.composer import (
    ComposerChoices,
    Draft,
    DraftStore,
    MemoryDraftStore,
    RedisDraftStore,
    dispatch_due,
    start_scheduler,
)
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.friends import FriendsAudience
from broadcasts.jobs import Deliverer, DeliveryJob, MemoryDeliverer, Priority
from broadcasts.line import FakeLinePort, LinePort, QuotaReading, SdkLinePort, SendOutcome
from broadcasts.quota import QuotaGuard, QuotaPolicy
from broadcasts.ratelimit import DEFAULT_RATES, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from broadcasts.service import (
    DeliveryDeps,
    broadcast_status,
    format_status,
    run_delivery_worker,
    seed_subscribers,
    send_broadcast,
    synthetic_user_id,
)
from broadcasts.store import JobStatus

__all__ = [
    "AudienceQuery", "AudienceSource", "Recipient", "DeliveryWorker", "EngineOptions", "RedisDeliverer",
    "FriendsAudience", "Deliverer", "DeliveryJob", "MemoryDeliverer", "Priority", "FakeLinePort", "LinePort",
    "QuotaReading", "SdkLinePort", "SendOutcome", "QuotaGuard", "QuotaPolicy", "DEFAULT_RATES", "MemoryRateLimiter",
    "RateLimiter", "RedisRateLimiter", "DeliveryDeps", "broadcast_status", "format_status", "run_delivery_worker",
    "seed_subscribers", "send_broadcast", "synthetic_user_id", "JobStatus", "ComposerChoices", "Draft", "DraftStore",
    "MemoryDraftStore", "RedisDraftStore", "dispatch_due", "start_scheduler",
]
