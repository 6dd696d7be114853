"""The one way civicbot processes open Redis: asyncio client, decoded strings, hiredis command packing.

``url`` names either one server (``redis://host:port/db``) or a Redis Cluster
(``redis+cluster://host:port,host:port`` — any reachable nodes; the client discovers the rest and follows
MOVED/ASK and failovers). On a cluster every key carries its tenant (or inbox shard) as a hash tag
(``cb:{tenant}:…``), so each Lua script, MULTI and multi-key command stays inside one slot.

redis-py's asyncio connection packs commands in pure Python (~30 µs each); hiredis (already installed for parsing)
packs them in C. Measured on the webhook path: server CPU per event 160 → see bench/webhook.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

import hiredis  # pinned: redis[hiredis]
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import (
    ClusterDownError,
    ReadOnlyError,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CLUSTER_SCHEME = "redis+cluster"
log = logging.getLogger("civicbot.redis")

# What every store is constructed with: one server or a cluster (same command surface for single-slot work).
RedisClient = aioredis.Redis | RedisCluster


# What a Redis failover or restart looks like to a client for a few seconds: retry after a pause, never count it
# against the work at hand (ClusterDownError covers MASTERDOWN; ReadOnlyError is a demoted primary still connected).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
    ReadOnlyError,
    SlotNotCoveredError,
    OSError,
)


def is_transient(exc: BaseException) -> bool:
    """True for errors that mean "Redis is unreachable or failing over right now", not "this command is wrong"."""
    return isinstance(exc, TRANSIENT_ERRORS)


class HiredisPackingConnection(Connection):
    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Mid-failover, redis-py's cluster client disconnects connections other tasks still hold (ClusterDownError →
        aclose, or a failed node's pool). The next write then raises RuntimeError under uvloop ("the handler is
        closed") or AttributeError (the writer already None), not OSError: neither is retried by redis-py, both
        killed the worker's loops mid-failover. As the ConnectionError they are, the cluster client retries them."""
        try:
            await super().send_packed_command(command, check_health)
        except RuntimeError as exc:
            if "closed" not in str(exc):
                raise
            raise RedisConnectionError(f"connection closed while sending: {exc}") from exc
        except AttributeError as exc:  # disconnected by another task after our connect: its writer is gone
            if self._writer is not None:
                raise
            raise RedisConnectionError(f"connection closed while sending: {exc}") from exc

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:  # e.g. "CLIENT SETNAME": split like redis-py does
            args = tuple(args[0].split()) + args[1:]
        try:
            packed: Any = tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args)
            return [hiredis.pack_command(packed)]
        except TypeError:
            return super().pack_command(*args)


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME + "://")


def cluster_url(nodes: str) -> str:
    """``REDIS_CLUSTER_NODES`` (``host:port,host:port``) as a ``redis+cluster://`` URL."""
    return f"{CLUSTER_SCHEME}://{nodes.replace(' ', '')}"


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The startup nodes named by a ``redis+cluster://`` URL."""
    netloc = urlparse(url).netloc.rsplit("@", 1)[-1]
    nodes = []
    for part in filter(None, netloc.split(",")):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster node must look like host:port, got {part!r} in {url!r}")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError(f"{url!r} names no cluster nodes")
    return nodes


def connect(url: str) -> RedisClient:
    """A client for ``url``; connections are made lazily, so this is safe to call in an app factory."""
    if is_cluster_url(url):
        return _connect_cluster(url)
    pool = aioredis.ConnectionPool.from_url(url, decode_responses=True, health_check_interval=30)
    if pool.connection_class is Connection:
        pool.connection_class = HiredisPackingConnection
    return aioredis.Redis(connection_pool=pool)


def _connect_cluster(url: str) -> RedisCluster:
    parsed = urlparse(url.split(",")[0])  # credentials, if any, sit before the first host
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(url)],
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        decode_responses=True,
        health_check_interval=30,
        # a failover takes node-timeout + election (≈ 1–3 s); keep retrying MOVED/connection errors past it
        cluster_error_retry_attempts=10,
        require_full_coverage=False,
    )
    # RedisCluster takes no connection_class: every node (the startup ones and those discovered later) is built
    # from this one shared dict, so setting it here gives each node's pool the connection above.
    client.connection_kwargs["connection_class"] = HiredisPackingConnection
    for node in client.nodes_manager.startup_nodes.values():
        node.connection_class = HiredisPackingConnection
    return client


def glob_escape(text: str) -> str:
    """SCAN MATCH pattern for a literal key prefix."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


async def scan_prefix(client: RedisClient, prefix: str, count: int = 1000) -> AsyncIterator[str]:
    """Keys starting with ``prefix``, which must carry its tenant hash tag (``cb:{tenant}:…``). On a cluster
    only the primary owning that tenant's slot is scanned — never every node (used by layout migrations only)."""
    match = glob_escape(prefix) + "*"
    if isinstance(client, RedisCluster):
        await client.initialize()
        async for key in client.scan_iter(match=match, count=count, target_nodes=client.get_node_from_key(prefix)):
            yield key
        return
    async for key in client.scan_iter(match=match, count=count):
        yield key


class NotReplicated(RedisError):
    """A write reached its primary but not the required replicas in time although replicas are connected: it may
    be lost at a failover, so the caller must not acknowledge it (the webhook answers 503 and LINE redelivers;
    dedup keeps that exactly-once)."""


class ReplicaWait:
    """``WAIT n`` after the writes that must survive a failover, per node of a cluster.

    A shard whose primary has *no* replica connected (right after a failover, until the old primary rejoins, or a
    single server) cannot do better than its own AOF: refusing every write there would stop intake for its tenants,
    so such a node is skipped for ``degraded_seconds`` (logged) and the write is acknowledged with primary-only
    durability — the same as a single Redis server."""

    def __init__(self, client: RedisClient, replicas: int, timeout_ms: int, degraded_seconds: float = 5.0) -> None:
        self._r = client
        self.replicas = replicas
        self._timeout_ms = timeout_ms
        self._degraded_seconds = degraded_seconds
        self._degraded_until: dict[str, float] = {}

    async def queue(self, pipe, keys: Sequence[str]) -> list:
        """Append one WAIT per node of ``keys`` to ``pipe``, after the writes queued so far (a pipeline sends one
        node's commands on one connection, so the WAIT covers exactly those writes); returns the nodes waited on."""
        if not isinstance(self._r, RedisCluster):
            if self._degraded_until.get("", 0) > time.monotonic():
                return []
            pipe.execute_command("WAIT", self.replicas, self._timeout_ms)
            return [None]
        await self._r.initialize()
        nodes = {node.name: node for node in (self._r.get_node_from_key(k) for k in keys) if node is not None}
        now = time.monotonic()
        waited = [n for name, n in nodes.items() if self._degraded_until.get(name, 0) <= now]
        for node in waited:
            pipe.execute_command("WAIT", self.replicas, self._timeout_ms, target_nodes=node)
        return waited

    async def check(self, results: list, nodes: list) -> list:
        """The results without the trailing WAIT replies. NotReplicated when a node with replicas connected did
        not get enough acknowledgements in time; a node with none connected is marked degraded instead."""
        if not nodes:
            return results
        acked = results[-len(nodes) :]
        for node, ack in zip(nodes, acked):
            if isinstance(ack, Exception):
                raise NotReplicated(f"WAIT failed: {ack}")
            if int(ack) >= self.replicas:
                continue
            info = await (self._r.info("replication", target_nodes=node) if node is not None else self._r.info("replication"))
            if int(info.get("connected_slaves", 0)) > int(ack):
                raise NotReplicated(f"write acknowledged by {ack} replicas, {self.replicas} required")
            name = node.name if node is not None else ""
            log.warning("no replica connected: acknowledging writes with primary-only durability", extra={"node": name})
            self._degraded_until[name] = time.monotonic() + self._degraded_seconds
        return results[: -len(nodes)]
