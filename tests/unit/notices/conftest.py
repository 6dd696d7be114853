"""Sample 安まちメール notices (fictional incidents, real layout) copied from ../shared/fixtures/police_mail."""

from __future__ import annotations

from pathlib import Path

import pytest

MAIL_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "police_mail"


@pytest.fixture(scope="session")
def samples() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(MAIL_DIR.glob("*.eml"))}
