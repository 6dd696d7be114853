"""Counsellor handoff: the queue, the holder lock, transcripts, and the console. Door: the service functions below,
the ports (HandoffStore, HandoffBus, LinePort) and ``handoff.web.setup``."""

from handoff.bus import HandoffBus, MemoryHandoffBus, RedisHandoffBus
from handoff.chat import HandoffRoom  # noqa: E402  (imports the service above)
from handoff.line import LineCall, LinePort, LinePushError, RecordingLinePort
from handoff.model import KPI_CATEGORIES, Conversation, HandoffPolicy, Message, Note, Referral, pseudonym
from handoff.service import (
    HandoffAnswer,
    HandoffDeps,
    HandoffError,
    HandoffForbidden,
    KpiPort,
    add_note,
    close,
    expire_inactive,
    hand_back,
    handle_if_held,
    housekeeping,
    is_held,
    join,
    mark_read,
    on_resident_message,
    purge_expired,
    request_handoff,
    send_message,
    set_emergency,
    take_over,
    transfer,
    typing,
)
from handoff.store import HandoffStore, MemoryHandoffStore, RedisHandoffStore

__all__ = [
    "KPI_CATEGORIES", "Conversation", "HandoffAnswer", "HandoffBus", "HandoffDeps", "HandoffError", "HandoffForbidden", "HandoffPolicy", "HandoffRoom",
    "HandoffStore", "KpiPort", "LineCall", "LinePort", "LinePushError", "MemoryHandoffBus", "MemoryHandoffStore", "Message", "Note",
    "RecordingLinePort", "RedisHandoffBus", "RedisHandoffStore", "Referral", "add_note", "close", "expire_inactive",
    "hand_back", "handle_if_held", "housekeeping", "is_held", "join", "mark_read", "on_resident_message", "pseudonym", "purge_expired", "request_handoff",
    "send_message", "set_emergency", "take_over", "transfer", "typing",
]
