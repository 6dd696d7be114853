"""The backup/restore procedure of docs/DEPLOY.md, exercised: BGSAVE every primary, keep each node's dump.rdb and
nodes.conf, lose every data directory, put the files back, start the nodes — the data of the snapshot is back
(and what was written after it is not), on a cluster whose nodes run with AOF on as in production."""

from __future__ import annotations

import shutil
import time

import pytest
import redis as syncredis

from bot.redis_client import connect
from bot.redis_server import EmbeddedCluster, embedded_cluster
from bot.users import RedisUserStore, User
from broadcasts.audience import AudienceQuery
from broadcasts.engine import RedisDeliverer
from broadcasts.jobs import DeliveryJob
from broadcasts.service import seed_subscribers

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def backup(cluster: EmbeddedCluster, dest) -> None:
    """DEPLOY.md, "Backup": BGSAVE on each primary, wait for it, copy dump.rdb + nodes.conf off the node."""
    for node in cluster.nodes:
        client = syncredis.Redis(port=node.port, decode_responses=True)
        before = client.lastsave()
        client.bgsave()
        deadline = time.monotonic() + 30
        while client.lastsave() == before or client.info("persistence")["rdb_bgsave_in_progress"]:
            assert time.monotonic() < deadline, "BGSAVE did not finish"
            time.sleep(0.05)
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        client.close()
        (dest / node.dir.name).mkdir(parents=True)
        for name in ("dump.rdb", "nodes.conf"):
            shutil.copy2(node.dir / name, dest / node.dir.name / name)


def restore(cluster: EmbeddedCluster, src) -> None:
    """DEPLOY.md, "Restore": with every node stopped, empty its directory and put dump.rdb + nodes.conf back;
    start it with ``appendonly no`` (with AOF on, an empty AOF would be loaded instead of the RDB), then
    ``CONFIG SET appendonly yes`` writes a fresh AOF from the loaded data; AOF stays on for later starts."""
    for node in cluster.nodes:
        cluster.stop(node.port)
    for node in cluster.nodes:
        shutil.rmtree(node.dir)
        node.dir.mkdir()
        for name in ("dump.rdb", "nodes.conf"):
            shutil.copy2(src / node.dir.name / name, node.dir / name)
    cluster.appendonly = False
    for node in list(cluster.nodes):
        cluster.restart(node.port)
    for node in cluster.nodes:
        client = syncredis.Redis(port=node.port, decode_responses=True)
        client.config_set("appendonly", "yes")
        deadline = time.monotonic() + 30
        while (p := client.info("persistence"))["aof_rewrite_in_progress"] or p["aof_rewrite_scheduled"] or not p["aof_enabled"]:
            assert time.monotonic() < deadline, "the AOF was not rewritten"
            time.sleep(0.05)
        client.close()
    cluster.appendonly = True
    client = syncredis.Redis(port=cluster.nodes[0].port, decode_responses=True)
    deadline = time.monotonic() + 30
    while "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
        assert time.monotonic() < deadline, "the restored cluster is not ok"
        time.sleep(0.1)
    client.close()


async def test_backup_then_restore_brings_back_the_snapshot_on_every_shard(tmp_path):
    with embedded_cluster(tmp_path / "cluster", primaries=3, replicas_per_primary=0, appendonly=True) as cluster:
        client = connect(cluster.url)
        tenants = ["demo", "suita", "toyonaka", "minoh"]  # spread over the three primaries' slots
        try:
            for t in tenants:
                await seed_subscribers(RedisUserStore(client), t, 300)
            job_id = await RedisDeliverer(client).submit(
                DeliveryJob(tenant="demo", audience=AudienceQuery(tenant="demo", all_friends=True),
                            messages={"ja": [{"type": "text", "text": "バックアップ前の配信"}]}, priority="routine"))
            owners = {client.get_node_from_key(f"cb:{{{t}}}:x").name for t in tenants}
            assert len(owners) == 3, "the tenants should live on every primary"

            backup(cluster, tmp_path / "backup")
            await RedisUserStore(client).save(User(tenant="demo", user_id="U" + "f" * 32))  # after the snapshot
            assert await RedisUserStore(client).count_active("demo") == 301
        finally:
            await client.aclose()

        restore(cluster, tmp_path / "backup")

        client = connect(cluster.url)
        try:
            users = RedisUserStore(client)
            assert {t: await users.count_active(t) for t in tenants} == dict.fromkeys(tenants, 300)
            assert await users.get("demo", "U" + "f" * 32) is None  # written after the backup: not in it
            st = await RedisDeliverer(client).status(job_id)
            assert st is not None and st.tenant == "demo"
            await users.save(User(tenant="suita", user_id="U" + "e" * 32))  # the restored cluster takes writes
            assert await users.count_active("suita") == 301
        finally:
            await client.aclose()
        for node in list(cluster.nodes):  # and its AOF now holds it all: a plain restart (AOF on) keeps everything
            cluster.stop(node.port)
            cluster.restart(node.port)
        client = connect(cluster.url)
        try:
            assert {t: await RedisUserStore(client).count_active(t) for t in tenants} == {**dict.fromkeys(tenants, 300), "suita": 301}
        finally:
            await client.aclose()
