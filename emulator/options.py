"""Knobs of the LINE emulator: token expiry, rate limits, quota, fault injection.

They are plain data so a test can build them, and mutable at run time through ``POST /_emulator/config`` so a running
demo can be made to misbehave (slow, failing, throttled) without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Endpoint names used by rate limits, the ledger and the config API.
ENDPOINTS = (
    "reply",
    "push",
    "multicast",
    "narrowcast",
    "broadcast",
    "profile",
    "content",
    "loading",
    "quota",
    "markAsRead",
    "progress",
    "richmenu",
    "richmenuContent",
    "richmenuDefault",
    "richmenuLink",
    "richmenuAlias",
    "richmenuBulkLink",
    "richmenuBulkUnlink",
    "richmenuBatch",
)


@dataclass
class EmulatorOptions:
    """Behaviour of the emulated LINE platform. Defaults behave like a healthy LINE channel."""

    reply_token_ttl_seconds: float = 60.0
    retry_key_ttl_seconds: float = 24 * 3600.0
    # requests per second per channel and endpoint name (see ENDPOINTS); missing = unlimited
    rate_limits: dict[str, float] = field(default_factory=dict)
    # messages per month per channel, counted like LINE: one per recipient of push/multicast/narrowcast/broadcast
    monthly_quota: int | None = None
    # fault injection, drawn from random.Random(seed) so a run is reproducible
    fault_rate: float = 0.0  # HTTP 500 before anything is delivered
    fault_after_delivery_rate: float = 0.0  # HTTP 500 *after* delivering: the client cannot know it worked
    slow_rate: float = 0.0
    slow_ms: int = 0
    seed: int | None = None
    # LINE answers 200 to a push towards a user who blocked the account and silently drops it
    blocked_push_status: int = 200
    webhook_timeout_seconds: float = 10.0
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def public(self) -> dict[str, Any]:
        """The JSON-able settings (everything but the clock)."""
        data = asdict(self)
        data.pop("clock", None)
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update from ``POST /_emulator/config``; raises ValueError on unknown/invalid keys."""
        known = {f.name: f for f in fields(self) if f.name != "clock"}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown option {key!r}")
            if key == "rate_limits":
                if not isinstance(value, dict):
                    raise ValueError("rate_limits must be an object of endpoint name -> requests per second")
                for name, rate in value.items():
                    if name not in ENDPOINTS or not isinstance(rate, (int, float)) or rate <= 0:
                        raise ValueError(f"bad rate limit {name!r}: {rate!r}")
                value = {k: float(v) for k, v in value.items()}
            elif key in ("fault_rate", "fault_after_delivery_rate", "slow_rate"):
                if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise ValueError(f"{key} must be between 0 and 1")
            elif value is not None and not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number")
            setattr(self, key, value)
