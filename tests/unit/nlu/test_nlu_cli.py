"""`civicbot triage` / `civicbot nlu parse` logic."""

from __future__ import annotations

import json

from nlu.cli import cli_nlu, dumps, parse_text, triage_lines


async def test_triage_prints_exactly_the_audit_fields_per_line(fallback_nlu):
    out = [row async for row in triage_lines(
        ["死にたい\n", "\n", "粗大ゴミを出したい\n", "死ぬほど笑った", "I want to kill myself"], fallback_nlu)]
    fields = ["text", "level", "crisis", "language", "signals", "intent", "confidence", "source"]
    assert [list(row) for row in out] == [fields] * 4
    assert [(r["text"], r["level"], r["crisis"], r["language"], r["source"]) for r in out] == [
        ("死にたい", "crisis", "suicide", "ja", "fallback"), ("粗大ゴミを出したい", "none", None, "ja", "fallback"),
        ("死ぬほど笑った", "none", None, "ja", "fallback"), ("I want to kill myself", "crisis", "suicide", "en", "fallback")]
    assert "lex:suicide.wish" in out[0]["signals"]
    assert out[1]["intent"] == "faq_garbage"
    assert json.loads(dumps(out[0]))["text"] == "死にたい"  # UTF-8, not \\u escapes
    assert "死にたい" in dumps(out[0])


async def test_triage_accepts_async_line_sources(fallback_nlu):
    async def lines():
        yield "旦那に殴られた"

    [row] = [row async for row in triage_lines(lines(), fallback_nlu)]
    assert row["crisis"] == "dv"


async def test_parse_text_includes_crisis_severity_and_rule(fallback_nlu):
    result = await parse_text("今から飛び降りる", fallback_nlu)
    crisis = result["crisis"]
    assert (crisis["level"], crisis["category"], crisis["severity"]) == ("crisis", "suicide", "immediate")
    assert "lex:suicide.imminent_act" in crisis["signals"]
    assert result["source"] == "fallback" and "entities" in result


async def test_cli_without_a_running_rasa_still_answers_via_fallback(fallback_nlu):
    async with cli_nlu("http://127.0.0.1:9", timeout=0.3, fallback=fallback_nlu) as nlu:
        rows = [row async for row in triage_lines(["住民票がほしい", "消えたい"], nlu)]
    assert [r["source"] for r in rows] == ["fallback", "fallback"]
    assert rows[1]["crisis"] == "suicide"


async def test_no_rasa_forces_the_fallback(fallback_nlu):
    async with cli_nlu("http://127.0.0.1:9", no_rasa=True, fallback=fallback_nlu) as nlu:
        assert (await nlu.parse("住民票がほしい")).source == "fallback"


async def test_run_triage_writes_json_lines(monkeypatch, fallback_nlu):
    import io

    from nlu import cli

    monkeypatch.setattr(cli.FallbackNlu, "from_yaml", classmethod(lambda cls, *a, **k: fallback_nlu))
    out = io.StringIO()
    assert await cli.run_triage(io.StringIO("消えたい\nごみの日\n"), out, nlu_url="http://127.0.0.1:9", no_rasa=True) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["crisis"], r["source"]) for r in rows] == [("suicide", "fallback"), (None, "fallback")]
