"""Outbound e-mail for the department digest: SMTP (stdlib, in a thread) and a recording fake.

The relay's credentials come from the settings (``CIVICBOT_SMTP_USERNAME`` / ``CIVICBOT_SMTP_PASSWORD``, i.e. the
environment), never from the repo or the tenants file. A password is only ever sent over TLS: ``starttls`` (port 587)
or ``ssl`` (implicit TLS, port 465), with the server's certificate checked (the system's CAs, or ``ca_file``).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from reports.service import MailError

Security = Literal["none", "starttls", "ssl"]


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        security: Security = "none",
        username: str = "",
        password: str = "",
        ca_file: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        if username and security == "none":
            raise ValueError("SMTP authentication needs TLS: set the SMTP security to starttls or ssl")
        if username and not password:
            raise ValueError("an SMTP username needs a password")
        self.host, self.port, self.sender = host, port, sender
        self.security = security
        self._username, self._password = username, password
        self._ca_file = ca_file
        self._timeout = timeout

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self._ca_file) if self._ca_file else None)

    def _send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(body)
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())  # refused by a server that does not offer it: no clear text
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"SMTP {self.host}:{self.port} refused the login of {self._username!r} ({exc.smtp_code})") from exc
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise MailError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc

    async def send(self, to: str, subject: str, body: str) -> None:
        await asyncio.to_thread(self._send, to, subject, body)


@dataclass
class RecordingMailer:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
