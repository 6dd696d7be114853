"""The emulator's state classes, driven by a fake clock."""

from __future__ import annotations

import pytest

from emulator.options import EmulatorOptions
from emulator.state import (
    Batch,
    Faults,
    Hub,
    InvalidReplyToken,
    Ledger,
    Quota,
    RateLimiter,
    ReplyTokens,
    RetryKeys,
    new_ulid,
)
from tests.helpers import ManualClock


def test_reply_token_single_use_and_scoped_to_tenant():
    tokens = ReplyTokens(ManualClock(1_795_000_000.0), lambda: 60)
    token = tokens.issue("demo", "U1")
    with pytest.raises(InvalidReplyToken):
        tokens.consume("suita", token)  # wrong channel spends nothing... but the token is gone either way
    token = tokens.issue("demo", "U1")
    assert tokens.consume("demo", token) == "U1"
    with pytest.raises(InvalidReplyToken):
        tokens.consume("demo", token)


def test_reply_token_expiry_boundary():
    clock = ManualClock(1_795_000_000.0)
    tokens = ReplyTokens(clock, lambda: 60)
    on_time, late = tokens.issue("demo", "U1"), tokens.issue("demo", "U1")
    clock.now += 60
    assert tokens.consume("demo", on_time) == "U1"
    clock.now += 0.001
    with pytest.raises(InvalidReplyToken):
        tokens.consume("demo", late)


def test_retry_keys_are_per_tenant_case_insensitive_and_expire():
    clock = ManualClock(1_795_000_000.0)
    keys = RetryKeys(clock, lambda: 24 * 3600)
    keys.remember("demo", "ABCDEF00-0000-0000-0000-000000000000", "req-1", [])
    assert keys.get("demo", "abcdef00-0000-0000-0000-000000000000").request_id == "req-1"
    assert keys.get("suita", "abcdef00-0000-0000-0000-000000000000") is None
    clock.now += 24 * 3600 + 1
    assert keys.get("demo", "abcdef00-0000-0000-0000-000000000000") is None


def test_rate_limiter_token_bucket():
    clock = ManualClock(1_795_000_000.0)
    limiter = RateLimiter(clock, lambda: {"push": 2.0})
    assert [limiter.allow("demo", "push") for _ in range(3)] == [True, True, False]
    assert limiter.allow("suita", "push")  # per channel
    assert all(limiter.allow("demo", "reply") for _ in range(100))  # unlimited endpoint
    clock.now += 0.5
    assert limiter.allow("demo", "push")
    assert not limiter.allow("demo", "push")


def test_quota_is_monthly():
    clock = ManualClock(1_796_083_200.0 - 1)  # one second before 2026-12-01T00:00Z
    quota = Quota(clock, lambda: 10)
    quota.consume("demo", 10)
    assert quota.would_exceed("demo", 1)
    clock.now += 2
    assert not quota.would_exceed("demo", 10)
    assert quota.used("demo") == 0


def test_faults_are_reproducible_from_seed():
    a, b = Faults(3), Faults(3)
    assert [a.roll(0.3) for _ in range(50)] == [b.roll(0.3) for _ in range(50)]
    assert not any(Faults(3).roll(0.0) for _ in range(50))


def _push(to: str, text: str, request_id: str = "r") -> Batch:
    return Batch(request_id, "demo", "push", [to], [{"type": "text", "text": text}], ["1"], 0)


def test_ledger_counts_duplicates_by_recipient_and_exact_content():
    ledger = Ledger(Hub())
    ledger.record_batch(_push("U1", "a", "r1"))
    ledger.record_batch(_push("U1", "a", "r2"))  # same content again: duplicate
    ledger.record_batch(_push("U1", "a", "r3"))  # and again
    ledger.record_batch(_push("U2", "a"))  # other user: not a duplicate
    ledger.record_batch(_push("U1", "b"))  # other content: not a duplicate
    assert ledger.stats() == {"deliveries": 5, "unique_recipients": 2, "duplicates": 2}


async def test_hub_publishes_only_to_subscribers_of_that_chat():
    hub = Hub()
    mine, other = hub.subscribe("demo", "U1"), hub.subscribe("demo", "U2")
    hub.publish("demo", "U1", {"kind": "read"})
    assert mine.get_nowait() == {"kind": "read"}
    assert other.empty()
    hub.unsubscribe("demo", "U1", mine)
    hub.publish("demo", "U1", {"kind": "read"})
    assert mine.empty()


def test_ulid_shape_and_order():
    clock = ManualClock(1_795_000_000.0)
    first = new_ulid(clock)
    clock.now += 1
    second = new_ulid(clock)
    assert len(first) == 26 and set(first) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert first[:10] < second[:10]  # the time part sorts


def test_options_update_validates():
    options = EmulatorOptions()
    options.update({"rate_limits": {"push": 5}, "fault_rate": 0.25, "monthly_quota": 100})
    assert options.public()["rate_limits"] == {"push": 5.0}
    for bad in ({"bogus": 1}, {"slow_rate": -0.1}, {"rate_limits": {"push": 0}}, {"slow_ms": "fast"}):
        with pytest.raises(ValueError):
            options.update(bad)


def test_ledger_batches_expand_per_recipient_and_count_duplicates_exactly():
    ledger = Ledger(Hub())
    text = [{"type": "text", "text": "避難指示"}]
    ledger.record_batch(Batch("r1", "t", "multicast", ["U1", "U2", "U1"], text, range(100, 103), 1))  # U1 twice
    ledger.record_batch(Batch("r2", "t", "multicast", ["U2", "U3"], text, range(200, 202), 2))  # U2 again
    ledger.record_batch(Batch("r3", "other", "multicast", ["U1"], text, range(300, 301), 3))  # another channel
    assert ledger.stats() == {"deliveries": 6, "unique_recipients": 4, "duplicates": 2}
    mine = ledger.deliveries(to="U1", tenant="t")
    assert [(d.request_id, d.message_ids) for d in mine] == [("r1", ["100"]), ("r1", ["102"])]
    assert [d.to for d in ledger.deliveries(tenant="t")] == ["U1", "U2", "U1", "U2", "U3"]
