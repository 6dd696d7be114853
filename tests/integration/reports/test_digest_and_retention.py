"""Daily department digest through a real SMTP server (aiosmtpd on a free port); retention removes old reports and
their photos, and photos of drafts that were never filed."""

from __future__ import annotations

import email
import ssl
import subprocess
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from app.reports import smtp_mailer
from bot.config import ConfigError, Settings
from reports.config import Department, ReportsConfig
from reports.mail import SmtpMailer
from reports.model import Report
from reports.service import MailError, change_status, purge_expired, send_digests
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


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl, a Debian package make test installs), and its key."""
    d = tmp_path_factory.mktemp("smtp-tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class Relay(Inbox):
    """A relay that wants a login (only over TLS): who logged in is recorded beside the messages."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[str] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"digest@city.example" and auth_data.password == b"s3cret-from-env"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(params=["starttls", "ssl"])
def relay(request, tls_files):
    cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Relay()
    kw = {"authenticator": inbox.authenticate, "auth_required": True, "auth_exclude_mechanism": ["LOGIN"]}
    if request.param == "starttls":
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=server_tls, require_starttls=True, **kw)
    else:
        # implicit TLS: aiosmtpd does not count it as TLS for auth_require_tls (and warns), yet the session is encrypted
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=server_tls, auth_require_tls=False, **kw)
    controller.start()
    yield request.param, inbox, controller.port, cert
    controller.stop()


def env_settings(monkeypatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"CIVICBOT_{name.upper()}", value)
    return Settings()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # the ssl relay, see above
async def test_digest_logs_in_over_tls_with_credentials_from_the_environment(relay, monkeypatch):
    security, inbox, port, cert = relay
    cfg = ReportsConfig()
    cfg.departments["road"] = Department(name="道路課", email="road@city.example")
    deps, *_ = make_deps(config=cfg)
    await deps.reports.create(Report(tenant="demo", id="R000001", category="pothole", lat=34.69, lng=135.50, created_at=deps.clock(),
                                     reporter="U1", department="road"))
    settings = env_settings(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(port), smtp_security=security, smtp_ca_file=str(cert),
                            smtp_username="digest@city.example", smtp_password="s3cret-from-env", mail_from="civicbot@city.example")
    assert "s3cret" not in repr(settings)  # a SecretStr: never printed with the settings
    deps.mailer = smtp_mailer(settings)
    assert await send_digests(deps, "demo") == {"road": 1}
    assert inbox.logins == ["digest@city.example"] and [m["To"] for m in inbox.messages] == ["road@city.example"]

    monkeypatch.setenv("CIVICBOT_SMTP_PASSWORD", "wrong")
    deps.mailer = smtp_mailer(Settings())
    with pytest.raises(MailError, match="refused the login") as refused:
        await deps.mailer.send("road@city.example", "s", "b")
    assert "wrong" not in str(refused.value)
    assert await send_digests(deps, "demo") == {}  # logged and left out, the job goes on
    monkeypatch.delenv("CIVICBOT_SMTP_CA_FILE")
    deps.mailer = smtp_mailer(Settings())  # the self-signed relay is not trusted without its CA
    with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
        await deps.mailer.send("road@city.example", "s", "b")
    assert len(inbox.messages) == 1


async def test_a_password_is_never_sent_in_clear_text(smtp, monkeypatch):
    _, port = smtp
    with pytest.raises(ConfigError, match="starttls or ssl"):
        smtp_mailer(env_settings(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(port), smtp_username="u", smtp_password="p"))
    mailer = smtp_mailer(env_settings(monkeypatch, smtp_security="starttls"))  # the plain test server offers no STARTTLS
    with pytest.raises(MailError, match="STARTTLS"):
        await mailer.send("road@city.example", "s", "b")
