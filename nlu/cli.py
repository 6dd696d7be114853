"""``civicbot triage`` and ``civicbot nlu parse`` as plain async functions (app/cli.py wires argparse).

Triage is how the city audits the crisis layer: one JSON line per input line with the crisis level and category (from the
crisis layer's own detectors, never from the intent classifier) and the intent with its source. The output contains the message
text because the auditor supplied it; nothing here logs it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import TextIO

from nlu.breaker import CircuitBreaker
from nlu.fallback import FallbackNlu
from nlu.port import Nlu
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu
from nlu.risk import RiskAssessor, default_risk_assessor


async def _aiter(lines: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


async def triage_lines(
    lines: Iterable[str] | AsyncIterable[str], nlu: Nlu, assessor: RiskAssessor | None = None
) -> AsyncIterator[dict]:
    """One dict per non-empty line: ``{"text", "level": crisis|concern|none, "crisis": null|category, "language",
    "signals", "intent", "confidence", "source": "rasa"|"fallback"}`` — each line assessed on its own (no context)."""
    assessor = assessor or default_risk_assessor()
    async for raw in _aiter(lines):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        risk = assessor.assess(text)
        parse = await nlu.parse(text)
        yield {
            "text": text,
            "level": risk.level,
            "crisis": risk.category if risk.flagged else None,
            "language": risk.language,
            "signals": list(risk.signals),
            "intent": parse.intent,
            "confidence": parse.confidence,
            "source": parse.source,
        }


async def parse_text(text: str, nlu: Nlu, assessor: RiskAssessor | None = None) -> dict:
    """``civicbot nlu parse TEXT``: the parse plus the crisis assessment (level, category, severity, signals)."""
    risk = (assessor or default_risk_assessor()).assess(text)
    parse = await nlu.parse(text)
    return {
        "text": text,
        **parse.to_dict(),
        "crisis": None if not risk.flagged else {"level": risk.level, "category": risk.category,
                                                  "severity": risk.severity, "signals": list(risk.signals)},
        "language": risk.language,
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
