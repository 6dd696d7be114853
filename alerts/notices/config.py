"""Per-tenant notices settings (the lead nests ``NoticesConfig`` into the tenants file as ``notices:``).

Secrets: ``ImapSourceConfig.password`` is a ``SecretStr``; the tenants file should reference an environment
variable that ``bot/config.py`` resolves — this module never reads the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ImapSourceConfig(BaseModel):
    """A mailbox subscribed to 安まちメール (or another force's notices)."""

    name: str = "anmachi"
    host: str
    port: int = 993
    ssl: bool = True  # implicit TLS (993); False = plaintext, only for a loopback test server
    starttls: bool = False
    username: str
    password: SecretStr
    mailbox: str = "INBOX"
    processed_mailbox: str | None = "civicbot-processed"  # moved here after processing (flat name: hierarchy
    # delimiters differ between servers); None = flag only
    source_name: str = "大阪府警察"  # shown as 出典
    max_bytes: int = 2 * 1024 * 1024
    timeout_s: float = 30.0


class FeedSourceConfig(BaseModel):
    """An RSS/Atom feed of notices (other forces, school-safety services)."""

    name: str
    url: str
    source_name: str
    timeout_s: float = 20.0
    max_bytes: int = 5 * 1024 * 1024


class NoticesConfig(BaseModel):
    enabled: bool = True
    radius_m: float = Field(1000.0, gt=0, le=10_000)  # located subscribers within this distance of the town
    retention_days: float = Field(30.0, gt=0, le=365)
    nearby_days: float = Field(7.0, gt=0, le=365)  # 「近くで不審者情報ある？」 looks back this far
    nearby_radius_m: float = Field(1000.0, gt=0, le=10_000)
    poll_seconds: int = Field(300, ge=30)
    municipalities: list[str] = []  # jis5 codes delivered for; empty = any Osaka municipality
    imap: list[ImapSourceConfig] = []
    feeds: list[FeedSourceConfig] = []
