from __future__ import annotations

import pytest

from nlu.fallback import FallbackNlu


@pytest.fixture(scope="session")
def fallback_nlu() -> FallbackNlu:
    """Trained once per session from nlu/data/nlu.yml (a few seconds)."""
    return FallbackNlu.from_yaml()
