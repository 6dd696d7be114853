"""Start and stop a local ``rasa run --enable-api`` (tests, the bench, and ``make demo`` helpers).

Runs the project's own scripts in the Python 3.10 venv; the bot side never imports rasa.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
REPO = NLU_DIR.parent
DEFAULT_VENV = REPO / ".venv-rasa"
DEFAULT_MODEL = NLU_DIR / "models" / "civicbot-nlu.tar.gz"


def rasa_available(venv: Path = DEFAULT_VENV) -> bool:
    """The venv is complete: setup_venv.sh writes its stamp only after `import rasa` succeeded."""
    return (venv / "bin" / "rasa").exists() and (venv / ".civicbot-requirements.sha256").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_is_fresh() -> bool:
    """True when nlu/models holds a model trained from the current data/config (train.sh --check)."""
    result = subprocess.run(["bash", str(NLU_DIR / "scripts" / "train.sh"), "--check"], capture_output=True)
    return result.returncode == 0


def rasa_command(*args: str, venv: Path = DEFAULT_VENV) -> list[str]:
    """A command line in the Rasa venv with the component path set; ``env`` adds to the inherited environment
    (the bot never reads or copies os.environ outside bot/config.py)."""
    return ["env", f"PYTHONPATH={NLU_DIR}", "RASA_TELEMETRY_ENABLED=false", "TF_CPP_MIN_LOG_LEVEL=2",
            str(venv / "bin" / args[0]), *args[1:]]


def train_quick_model(out_dir: Path, *, epochs: int = 12, venv: Path = DEFAULT_VENV) -> Path:
    """A small model for tests: the real data and tokenizer, fewer DIET epochs and no char n-grams (fast)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "config.quick.yml"
    config.write_text(
        "recipe: default.v1\nlanguage: ja\nassistant_id: civicbot-nlu-quick\npipeline:\n"
        "  - name: rasa_components.sudachi_tokenizer.SudachiTokenizer\n"
        "  - name: CountVectorsFeaturizer\n    use_lemma: false\n"
        "  - name: CountVectorsFeaturizer\n    use_lemma: true\n"
        f"  - name: DIETClassifier\n    epochs: {epochs}\n    entity_recognition: false\n"
        "    constrain_similarities: true\n    random_seed: 42\n"
        "  - name: RegexEntityExtractor\n    use_lookup_tables: true\n    use_regexes: true\n"
        "    use_word_boundaries: false\n"
        "  - name: FallbackClassifier\n    threshold: 0.5\npolicies: []\n",
        encoding="utf-8",
    )
    subprocess.run(
        rasa_command("rasa", "train", "nlu", "--config", str(config), "--nlu", "data", "--out", str(out_dir),
                     "--fixed-model-name", "quick", venv=venv),
        cwd=NLU_DIR, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return out_dir / "quick.tar.gz"


@dataclass
class RasaServer:
    process: subprocess.Popen
    url: str
    port: int

    def stop(self) -> None:
        """Kill the server's own process group (it was started in a new session)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)


def start_server(model: Path, *, port: int | None = None, venv: Path = DEFAULT_VENV, log_path: Path | None = None,
                 ready_timeout: float = 180.0) -> RasaServer:
    """``rasa run --enable-api`` on 127.0.0.1; returns once GET / answers (model loaded)."""
    port = port or free_port()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        rasa_command("rasa", "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m", str(model), venv=venv),
        cwd=NLU_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = RasaServer(process, f"http://127.0.0.1:{port}", port)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rasa run exited with {process.returncode} (log: {log_path})")
        try:
            with urllib.request.urlopen(f"{server.url}/status", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.5)
    server.stop()
    raise TimeoutError(f"rasa run did not become ready in {ready_timeout:.0f}s")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc), for the figures in the bench."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
