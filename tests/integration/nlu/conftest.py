"""A real ``rasa run --enable-api`` for the NLU integration tests (marker ``rasa``).

Uses nlu/models/civicbot-nlu.tar.gz when it is fresh (nlu/scripts/train.sh), otherwise trains a small model into a
temporary directory (fewer epochs, ~1 min). Skips cleanly when the Rasa venv (.venv-rasa) is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import server as rasa_server


@pytest.fixture(scope="session")
def rasa_model(tmp_path_factory) -> Path:
    if not rasa_server.rasa_available():
        pytest.skip(f"Rasa venv missing at {rasa_server.DEFAULT_VENV}: run nlu/scripts/setup_venv.sh (make nlu)")
    if rasa_server.DEFAULT_MODEL.exists() and rasa_server.model_is_fresh():
        return rasa_server.DEFAULT_MODEL
    return rasa_server.train_quick_model(tmp_path_factory.mktemp("rasa-model"))


@pytest.fixture(scope="session")
def rasa_url(rasa_model, tmp_path_factory) -> str:
    server = rasa_server.start_server(rasa_model, log_path=tmp_path_factory.mktemp("rasa-log") / "rasa.log")
    yield server.url
    server.stop()


@pytest.fixture
def rasa_server_factory(rasa_model, tmp_path):
    """Start a server this test owns (and may kill); every one is stopped at teardown."""
    started: list[rasa_server.RasaServer] = []

    def start() -> rasa_server.RasaServer:
        server = rasa_server.start_server(rasa_model, log_path=tmp_path / "rasa.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
