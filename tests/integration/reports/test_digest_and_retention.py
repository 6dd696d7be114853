"""Daily department digest through a real SMTP server (aiosmtpd on a free port); retention removes old reports and
their photos, and photos of drafts that were never filed."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from reports.config import Department, ReportsConfig
from reports.mail import SmtpMailer
from reports.model import Report
from reports.service import change_status, purge_expired, send_digests
from reports.store import RedisReportStore
from reports.testing import make_deps
from tests.system import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_each_department_gets_its_open_reports_by_mail(smtp, redis):
    inbox, port = smtp
    cfg = ReportsConfig()
    cfg.departments["road"] = Department(name="道路課", email="road@city.example")
    cfg.departments["park"] = Department(name="公園課", email="park@city.example")
    deps, *_ = make_deps(config=cfg)
    deps.reports = RedisReportStore(redis)
    deps.mailer = SmtpMailer("127.0.0.1", port, "civicbot@city.example")
    now = deps.clock()
    for rid, dept in [("R000001", "road"), ("R000002", "road"), ("R000003", "park"), ("R000004", "environment")]:
        await deps.reports.create(Report(tenant="demo", id=rid, category="pothole", lat=34.69, lng=135.50, created_at=now - 86400 * 2,
                                         reporter="Usecret-line-id", department=dept, address="大阪市北区梅田一丁目"))
    await change_status(deps, "demo", "R000002", "closed", "済", "staff")
    sent = await send_digests(deps, "demo", "https://city.example")
    assert sent == {"road": 1, "park": 1}  # closed reports are not in it; 環境課 has no address
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"road@city.example", "park@city.example"}
    road = by_to["road@city.example"]
    body = road.get_content()
    assert "未完了 1 件" in road["Subject"] and "R000001" in body and "R000002" not in body
    assert "https://city.example/admin/reports/R000001" in body and "2日経過" in body
    assert "Usecret" not in body


async def test_retention_removes_old_ended_reports_and_orphan_photos(redis):
    clock = Clock()
    deps, *_ = make_deps(clock=clock, config=ReportsConfig(retention_days=30))
    deps.reports = RedisReportStore(redis)
    kept_photo = await deps.photos.put("demo", b"kept")
    old_photo = await deps.photos.put("demo", b"old")
    orphan = await deps.photos.put("demo", b"draft photo never filed")
    await deps.reports.create(Report(tenant="demo", id="R000001", category="pothole", lat=34.69, lng=135.5, created_at=clock.now, reporter="U1", photos=[old_photo]))
    await deps.reports.create(Report(tenant="demo", id="R000002", category="pothole", lat=34.70, lng=135.5, created_at=clock.now, reporter="U1", photos=[kept_photo]))
    await change_status(deps, "demo", "R000001", "closed", "済", "staff")
    for key in (kept_photo, old_photo, orphan):  # make every photo two days old
        data, _ = deps.photos.items[("demo", key)]
        deps.photos.items[("demo", key)] = (data, clock.now - 2 * 86400)
    clock.now += 29 * 86400
    assert await purge_expired(deps, "demo") == 0
    assert await deps.photos.get("demo", orphan) is None and await deps.photos.get("demo", old_photo) == b"old"
    clock.now += 2 * 86400
    assert await purge_expired(deps, "demo") == 1
    assert await deps.reports.get("demo", "R000001") is None and await deps.photos.get("demo", old_photo) is None
    assert await deps.reports.get("demo", "R000002") is not None and await deps.photos.get("demo", kept_photo) == b"kept"
