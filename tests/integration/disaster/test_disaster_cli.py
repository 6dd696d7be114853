"""``civicbot shelters import`` and ``civicbot disaster status`` as operators run them (real process, real Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from disaster.cli import BUNDLED
from tests.system import REPO


def _cli(redis_url: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CIVICBOT_DEMO="1", REDIS_URL=redis_url, CIVICBOT_DATA_DIR=str(tmp_path))
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


async def test_import_reports_bad_rows_keeps_good_ones_and_reimport_replaces_the_municipality(redis, redis_url, tmp_path):
    kishiwada = next(p for p in BUNDLED if p.name.startswith("27202"))
    text = kishiwada.read_text(encoding="utf-8").rstrip("\n") + "\n999,E2720299999999,壊れた行,住所,,,,1,,,,,,北緯,135.4,\n"
    sjis = tmp_path / "kishiwada_sjis.csv"
    sjis.write_bytes(text.encode("cp932"))
    out = _cli(redis_url, tmp_path, "shelters", "import", "--tenant", "demo", str(sjis))
    assert out.returncode == 1, out.stderr
    assert "73 sites imported, 1 rows refused" in out.stdout and "出典：国土地理院" in out.stdout
    assert f"{sjis}:75:" in out.stderr and "緯度" in out.stderr
    assert await redis.hlen("cb:{demo}:shelters:sites") == 73
    out = _cli(redis_url, tmp_path, "shelters", "import", "--tenant", "demo", str(kishiwada), *(str(p) for p in BUNDLED if p != kishiwada))
    assert out.returncode == 0, out.stderr
    assert await redis.hlen("cb:{demo}:shelters:sites") == 173
    audit = [json.loads(v["data"]) if "data" in v else v for _, v in await redis.xrange("cb:{demo}:staff:audit")]
    assert sum("shelters.import" in json.dumps(a, ensure_ascii=False) for a in audit) == 3
    bad = _cli(redis_url, tmp_path, "shelters", "import", "--tenant", "demo", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and "missing.csv" in bad.stderr
    unknown = _cli(redis_url, tmp_path, "shelters", "import", "--tenant", "nowhere", str(kishiwada))
    assert unknown.returncode == 2 and "unknown tenant" in unknown.stderr
    status = _cli(redis_url, tmp_path, "disaster", "status")
    assert [json.loads(line)["mode"] for line in status.stdout.splitlines()] == ["normal", "normal"]
