"""The IMAP adapter against a real dovecot: mails APPENDed, ingested, moved; each processed once; bad mail reviewed."""

from __future__ import annotations

import base64
import imaplib
import time
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from pydantic import SecretStr

from alerts.geo import Gazetteer
from alerts.notices.config import ImapSourceConfig, NoticesConfig
from alerts.notices.ingest import DONE_FLAG, ImapSource, poll_tenant
from alerts.notices.service import NoticeDeps
from alerts.notices.store import MemoryIncidentStore, RedisIncidentStore
from broadcasts.jobs import MemoryDeliverer

T = "demo"
G = Gazetteer.load()


def _config(server, **kw) -> ImapSourceConfig:
    return ImapSourceConfig(
        name="test", host=server.host, port=server.port, ssl=False, username=server.username,
        password=SecretStr(server.password), **kw,
    )


def _client(server) -> imaplib.IMAP4:
    c = imaplib.IMAP4(server.host, server.port, timeout=10)
    c.login(server.username, server.password)
    return c


def _append(server, *mails: bytes, box: str = "INBOX") -> None:
    c = _client(server)
    try:
        for m in mails:
            typ, data = c.append(box, None, None, m)
            assert typ == "OK", data
    finally:
        c.logout()


def _uids(server, box: str, *criteria: str) -> list[bytes]:
    c = _client(server)
    try:
        typ, _ = c.select(f'"{box}"')
        if typ != "OK":
            return []
        return c.uid("SEARCH", None, *(criteria or ("ALL",)))[1][0].split()
    finally:
        c.logout()


def _hostile(samples) -> dict[str, bytes]:
    body = samples["02_tsukimatoi_sakai.eml"].split(b"\n\n", 1)[1].decode()
    big = MIMEMultipart()
    big["Subject"] = "=?utf-8?b?" + base64.b64encode("つきまとい\r\nBcc: x@example.invalid".encode()).decode() + "?="
    big.attach(MIMEText(body, "plain", "utf-8"))
    big.attach(MIMEApplication(b"\0" * (3 * 1024 * 1024), Name="huge.bin"))
    html_only = MIMEText("<p>" + samples["04_satsuei_toyonaka.eml"].split(b"\n\n", 1)[1].decode().replace("\n", "</p><p>") + "</p>", "html", "utf-8")
    html_only["Subject"] = Header("【安まちメール】子どもに対する写真撮影", "utf-8")
    sjis = MIMEText(samples["05_koekake_joto.eml"].split(b"\n\n", 1)[1].decode(), "plain", "iso-2022-jp")
    sjis["Subject"] = Header("【安まちメール】声かけ", "iso-2022-jp")
    return {
        "huge_attachment_and_header_injection": big.as_bytes(),
        "html_only": html_only.as_bytes(),
        "iso2022jp": sjis.as_bytes(),
        "garbage": b"Subject: \xff\xfe\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\n" + bytes(range(1, 256)),
        "wrong_charset_no_notice": "Subject: hello\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nこんにちは".encode(),
    }


@pytest.fixture(params=["memory", "redis"])
def deps(request, redis):
    store = MemoryIncidentStore() if request.param == "memory" else RedisIncidentStore(redis)
    return NoticeDeps(gazetteer=G, store=store, deliverer=MemoryDeliverer(), config=lambda t: NoticesConfig(), clock=time.time)


async def test_mailbox_is_ingested_once_and_moved(dovecot, samples, deps):
    _append(dovecot, *[samples[k] for k in sorted(samples)])
    source = ImapSource(_config(dovecot, max_bytes=512 * 1024))
    report = await poll_tenant(T, deps, [source])
    assert (report.handed, report.delivered, report.review, report.errors) == (5, 5, 0, ())
    towns = sorted(j.audience.center is not None and j.title for j in deps.deliverer.jobs.values())
    assert len(towns) == 5
    # moved out of INBOX into the processed mailbox, flagged
    assert _uids(dovecot, "INBOX") == []
    assert len(_uids(dovecot, "civicbot-processed", "KEYWORD", DONE_FLAG)) == 5

    # a second poll finds nothing; one new mail is picked up alone
    again = await poll_tenant(T, deps, [source])
    assert again.handed == 0 and len(deps.deliverer.jobs) == 5
    _append(dovecot, samples["01_koekake_kita.eml"].replace(b"16:52:00", b"17:01:00").replace("梅田1丁目".encode(), "梅田2丁目".encode()))
    third = await poll_tenant(T, deps, [source])
    assert (third.handed, third.delivered) == (1, 1) and len(deps.deliverer.jobs) == 6


async def test_hostile_and_malformed_mail_is_reviewed_not_crashing(dovecot, samples, deps):
    mails = _hostile(samples)
    _append(dovecot, *mails.values())
    report = await poll_tenant(T, deps, [ImapSource(_config(dovecot, max_bytes=256 * 1024))])
    assert report.handed == 5 and report.errors == ()
    assert report.delivered == 3 and report.review == 2
    reviewed = await deps.store.list_review(T)
    assert {r.reason for r in reviewed} <= {"no 不審者/声かけ-type incident found", "no readable text part", "no place found"}
    assert all("\n" not in r.subject and "\r" not in r.subject for r in reviewed)
    titles = {j.title for j in deps.deliverer.jobs.values()}
    assert any("南瓦町" in t for t in titles) and any("上野東二丁目" in t for t in titles) and any("蒲生一丁目" in t for t in titles)
    assert _uids(dovecot, "INBOX") == []  # every mail acknowledged, including the reviewed ones
    # a second poll does not review them again
    assert (await poll_tenant(T, deps, [ImapSource(_config(dovecot))])).handed == 0
    assert len(await deps.store.list_review(T)) == 2


async def test_flag_only_mode_keeps_mail_in_inbox_but_processes_once(dovecot, samples, deps):
    _append(dovecot, samples["03_koekake_higashiosaka.eml"], samples["04_satsuei_toyonaka.eml"])
    source = ImapSource(_config(dovecot, processed_mailbox=None))
    first = await poll_tenant(T, deps, [source])
    second = await poll_tenant(T, deps, [source])
    assert (first.handed, first.delivered, second.handed) == (2, 2, 0)
    assert len(_uids(dovecot, "INBOX", "KEYWORD", DONE_FLAG)) == 2
    assert len(_uids(dovecot, "INBOX", "SEEN")) == 2


async def test_crash_before_the_ack_is_not_processed_twice(dovecot, samples, deps):
    """Handled but not flagged (the worker died in between): the next poll acknowledges without re-sending."""
    _append(dovecot, samples["05_koekake_joto.eml"])
    source = ImapSource(_config(dovecot))
    original = source._done
    source._done = lambda conn, uid: None  # simulate dying before the flag/move
    await poll_tenant(T, deps, [source])
    assert len(_uids(dovecot, "INBOX")) == 1 and len(deps.deliverer.jobs) == 1
    source._done = original
    report = await poll_tenant(T, deps, [source])
    assert (report.handed, report.delivered, report.duplicate) == (1, 0, 1)
    assert _uids(dovecot, "INBOX") == [] and len(deps.deliverer.jobs) == 1


async def test_login_failure_is_reported_not_raised(dovecot):
    deps = NoticeDeps(gazetteer=G, store=MemoryIncidentStore(), deliverer=MemoryDeliverer())
    bad = ImapSourceConfig(name="bad", host=dovecot.host, port=dovecot.port, ssl=False, username=dovecot.username, password=SecretStr("wrong"))
    report = await poll_tenant(T, deps, [ImapSource(bad)])
    assert report.handed == 0 and len(report.errors) == 1 and "imap:bad" in report.errors[0]
