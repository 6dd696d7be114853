"""``civicbot triage`` and ``civicbot nlu parse`` as plain async functions (app/cli.py wires argparse).

Triage is how the city audits the crisis layer: one JSON line per input line with the crisis category (from the
deterministic layer, never from the classifier) and the intent with its source. The output contains the message
text because the auditor supplied it; nothing here logs it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import TextIO

from nlu.breaker import CircuitBreaker
from nlu.crisis import CrisisDetector, default_detector
from nlu.fallback import FallbackNlu
from nlu.port import Nlu
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu


async def _aiter(lines: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


async def triage_lines(
    lines: Iterable[str] | AsyncIterable[str], nlu: Nlu, detector: CrisisDetector | None = None
) -> AsyncIterator[dict]:
    """One dict per non-empty line:
    ``{"text", "crisis": null|category, "intent", "confidence", "source": "rasa"|"fallback"}``."""
    detector = detector or default_detector()
    async for raw in _aiter(lines):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        crisis = detector.assess(text)
        parse = await nlu.parse(text)
        yield {
            "text": text,
            "crisis": crisis.category if crisis else None,
            "intent": parse.intent,
            "confidence": parse.confidence,
            "source": parse.source,
        }


async def parse_text(text: str, nlu: Nlu, detector: CrisisDetector | None = None) -> dict:
    """``civicbot nlu parse TEXT``: the parse plus the crisis assessment (category, severity, rule id)."""
    crisis = (detector or default_detector()).assess(text)
    parse = await nlu.parse(text)
    return {
        "text": text,
        **parse.to_dict(),
        "crisis": None if crisis is None else
        {"category": crisis.category, "severity": crisis.severity, "rule_id": crisis.rule_id},
    }


@contextlib.asynccontextmanager
async def cli_nlu(
    nlu_url: str, *, no_rasa: bool = False, timeout: float = 2.0, fallback: Nlu | None = None
) -> AsyncIterator[Nlu]:
    """The Nlu the CLI uses: ResilientNlu(Rasa at nlu_url, in-process fallback), or the fallback alone (--no-rasa).

    The CLI timeout is longer than the bot's (no reply token waiting); a dead server opens the circuit after two
    failures so a long triage file does not wait on every line.
    """
    fallback = fallback or FallbackNlu.from_yaml()
    if no_rasa:
        yield fallback
        return
    async with RasaNlu.connect(nlu_url, timeout=timeout) as rasa:
        yield ResilientNlu(rasa, fallback, CircuitBreaker(failure_threshold=2, reset_after=30.0), deadline=timeout + 0.5)


def dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def run_triage(stdin: TextIO, stdout: TextIO, *, nlu_url: str, no_rasa: bool = False) -> int:
    """Body of ``civicbot triage [--no-rasa]``: one JSON line per stdin line. Returns the exit code."""
    async with cli_nlu(nlu_url, no_rasa=no_rasa) as nlu:
        async for row in triage_lines(stdin, nlu):
            stdout.write(dumps(row) + "\n")
            stdout.flush()
    return 0


async def run_parse(text: str, stdout: TextIO, *, nlu_url: str, no_rasa: bool = False) -> int:
    """Body of ``civicbot nlu parse TEXT [--no-rasa]``: the parse as one JSON object."""
    async with cli_nlu(nlu_url, no_rasa=no_rasa) as nlu:
        stdout.write(json.dumps(await parse_text(text, nlu), ensure_ascii=False, indent=2) + "\n")
    return 0
