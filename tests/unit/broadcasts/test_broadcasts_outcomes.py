"""How LINE's answers are classified, and how retries back off."""

from __future__ import annotations

import random

from broadcasts.engine import EngineOptions, backoff_delay
from broadcasts.line import SendOutcome, _error_message


def test_409_means_already_accepted():
    assert SendOutcome(409, "The retry key is already accepted").accepted
    assert SendOutcome(200).accepted and not SendOutcome(200).retryable


def test_429_5xx_and_no_answer_are_retryable_other_4xx_are_not():
    assert all(SendOutcome(s).retryable for s in (0, 429, 500, 502, 503, 504))
    assert not any(SendOutcome(s).retryable or SendOutcome(s).accepted for s in (400, 401, 403, 404, 413))


def test_monthly_limit_is_told_apart_from_rate_limit():
    assert SendOutcome(429, "You have reached your monthly limit.").monthly_limit
    assert not SendOutcome(429, "Too many requests").monthly_limit


def test_line_error_body_is_parsed():
    assert _error_message(b'{"message":"You have reached your monthly limit."}') == "You have reached your monthly limit."
    assert _error_message("not json") == "not json"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    opts = EngineOptions(backoff_base=0.5, backoff_cap=30.0)
    rng = random.Random(1)
    for attempt in range(1, 12):
        exp = min(30.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, opts, rng) for _ in range(50)]
        assert all(exp / 2 <= d <= exp for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_retry_after_is_honoured_up_to_the_cap():
    opts = EngineOptions(backoff_base=0.5, backoff_cap=30.0)
    assert backoff_delay(1, opts, random.Random(1), retry_after=7) == 7
    assert backoff_delay(1, opts, random.Random(1), retry_after=600) == 30
