"""Fixtures: the sample 安まちメール notices (fictional incidents, real layout), and a real IMAP server —
Debian's dovecot on a free loopback port, configured in a throwaway directory (skipped when not installed)."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.system import free_port

MAIL_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "police_mail"


@pytest.fixture(scope="session")
def samples() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(MAIL_DIR.glob("*.eml"))}


# --- a real IMAP server ------------------------------------------------------------------------------------------
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    base: Path


def _dovecot_conf(base: Path, port: int, uid: int, gid: int, as_root: bool) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    unprivileged = "" if as_root else f"default_login_user = {me}\ndefault_internal_user = {me}\n"
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
instance_name = civicbot-test-{port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = {base}/dovecot.log
mail_location = maildir:{base}/mail/%u
first_valid_uid = {min(uid, 100)}
first_valid_gid = {min(gid, 100)}
{unprivileged}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


ACCOUNTS = 40  # one fresh mailbox user per test, so one server serves the whole module
_account_numbers = itertools.count(0)


@pytest.fixture(scope="module")
def dovecot_server():
    """A dovecot IMAP server (plaintext auth on loopback only, passwd-file users, maildirs in a temp dir)."""
    if DOVECOT is None:
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd); the IMAP adapter is untested here")
    as_root = os.getuid() == 0
    if as_root:
        # dovecot refuses mail access as root: mail runs as the package's unprivileged 'dovecot' user
        try:
            entry = pwd.getpwnam("dovecot")
        except KeyError:
            pytest.skip("running as root but the 'dovecot' system user is missing")
        uid, gid = entry.pw_uid, entry.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    # not under pytest's tmp (0700 for root): the mail user must be able to reach the maildir
    base = Path(tempfile.mkdtemp(prefix="civicbot-dovecot-"))
    os.chmod(base, 0o755)
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir()
    if as_root:
        os.chown(base / "mail", uid, gid)
    (base / "passwd").write_text("".join(f"notices{i}:{{PLAIN}}s3cret-test::::::\n" for i in range(ACCOUNTS)))
    port = free_port()
    conf = base / "dovecot.conf"
    conf.write_text(_dovecot_conf(base, port, uid, gid, as_root))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                shutil.rmtree(base, ignore_errors=True)
                pytest.fail(f"dovecot did not start: {err}\n{log}")
            time.sleep(0.05)
    try:
        yield ImapServer("127.0.0.1", port, "notices0", "s3cret-test", base)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_server):
    """The module's dovecot server with a user (and so a mailbox) nobody used before."""
    n = next(_account_numbers)
    if n >= ACCOUNTS:
        pytest.fail("raise ACCOUNTS in tests/integration/notices/conftest.py")
    return ImapServer(dovecot_server.host, dovecot_server.port, f"notices{n}", dovecot_server.password, dovecot_server.base)
