"""Settings (pydantic-settings, env prefix ``CIVICBOT_``) and the tenants file.

Secrets never live in the repo: a tenant names the environment variables that hold its LINE channel
secret and access token. Literal secrets are accepted only for tenants marked ``demo: true`` and only
when ``CIVICBOT_DEMO=1`` (``make demo``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_TENANTS = REPO_ROOT / "config" / "tenants.demo.yaml"

Language = Literal["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ConfigError(ValueError):
    pass


class OfficeHours(BaseModel):
    """Weekly opening spans in the tenant's timezone, e.g. ``mon: "09:00-17:30"``; missing day = closed."""

    timezone: str = "Asia/Tokyo"
    weekly: dict[str, str] = Field(default_factory=dict)
    cutoff_minutes: int = 30  # no new consultations this long before closing
    holidays: list[dt.date] = Field(default_factory=list)

    @field_validator("weekly")
    @classmethod
    def _check_spans(cls, value: dict[str, str]) -> dict[str, str]:
        for day, span in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            if not _SPAN.match(span):
                raise ValueError(f"office hours for {day} must look like 09:00-17:30, got {span!r}")
        return value


class LineChannel(BaseModel):
    channel_secret_env: str | None = None
    channel_token_env: str | None = None
    channel_secret: SecretStr | None = None  # demo tenants only
    channel_token: SecretStr | None = None  # demo tenants only


class Tenant(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    display_name: str
    lg_code: str = Field(pattern=r"^\d{5,6}$", description="全国地方公共団体コード (5 digits, or 6 with check digit)")
    languages: list[Language] = Field(default_factory=lambda: list[Language](["ja"]))
    office_hours: OfficeHours = Field(default_factory=OfficeHours)
    line: LineChannel = Field(default_factory=LineChannel)
    demo: bool = False
    log_message_bodies: bool = False  # consultations are never logged unless a tenant opts in
    crisis_training_consent: bool = False  # reviewed crisis marks may be exported as training data (civicbot triage export)
    mfa_for_counsellors: bool = False  # supervisors and admins always use a second factor; counsellors where this is on
    hotlines: list[dict[str, str]] = Field(default_factory=list)
    notices: dict | None = None  # police / child-safety sources, validated by alerts.notices.NoticesConfig
    handoff: dict | None = None  # consultation policy overrides, see handoff.HandoffPolicy (app.bootstrap.handoff_policy)
    rich_menus: dict | None = None  # normal / disaster rich menu layouts, see disaster.menus.RichMenusConfig
    disaster: dict | None = None  # disaster-mode thresholds, see disaster.service.DisasterPolicy
    reports: dict | None = None  # 通報 categories/departments/limits, validated by reports.ReportsConfig
    # resolved at load time from the environment (or demo literals)
    channel_secret: SecretStr = SecretStr("")
    channel_token: SecretStr = SecretStr("")

    @property
    def jis5(self) -> str:
        return self.lg_code[:5]


class TenantsFile(BaseModel):
    tenants: list[Tenant]

    @model_validator(mode="after")
    def _unique(self) -> TenantsFile:
        ids = [t.id for t in self.tenants]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate tenant ids: {sorted(dupes)}")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICBOT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("./var")
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_reuse_port: bool = False  # SO_REUSEPORT: several web processes share web_port, the kernel spreads connections
    emulator_port: int = 9090
    line_api_url: str | None = None  # unset = LINE itself
    tenants: Path | None = None
    demo: bool = False
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")  # redis://… or redis+cluster://h:p,h:p
    redis_cluster_nodes: str | None = Field(default=None, validation_alias="REDIS_CLUSTER_NODES")  # h:p,h:p
    # writes that must survive a failover wait for this many replicas (WAIT); 0 = one server, no replicas
    redis_wait_replicas: int = 0
    redis_wait_timeout_ms: int = 200
    scheduler_lease_seconds: float = 10.0  # a second scheduler takes over this long after the leader died
    scheduler_standby_poll_seconds: float = 2.0
    inbox_shards: int = 16
    webhook_max_body: int = 1024 * 1024
    dedup_ttl_seconds: int = 7 * 24 * 3600
    loading_after_seconds: float = 0.4
    nlu_url: str = "http://127.0.0.1:5005"
    nlu_timeout_seconds: float = 0.6
    # BLAS/OpenMP threads per process (bot/native_threads.py): small matrix products on shared cores wait for busy
    # ones when split; the processes are the parallelism
    native_threads: int = Field(default=1, ge=1)
    public_base_url: str | None = None
    jma_feed_base_url: str | None = None  # unset = JMA's own feeds; make demo points it at the local mock feed
    jma_poll_seconds: int = 60  # 0 disables polling
    mockfeed_port: int = 9191
    worker_metrics_port: int | None = None  # Prometheus /metrics of the worker (unset = off)
    scheduler_metrics_port: int | None = None
    smtp_host: str | None = None  # department digests of reports (unset = no e-mail)
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "ssl"] = "none"  # starttls (587) / ssl = implicit TLS (465)
    smtp_username: str | None = None  # the relay's login (with smtp_password; only over starttls or ssl)
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = None  # a private CA for the relay's certificate (unset = the system's CAs)
    mail_from: str = "civicbot@localhost"
    # reverse proxies (addresses/networks) whose X-Forwarded-For names the client, for the per-address login limit
    trusted_proxies: list[str] = Field(default_factory=list)
    # /metrics and the detail of /readyz answer only with "Authorization: Bearer <ops_token>" (unset: 404 / terse)
    ops_token: SecretStr | None = None

    def tenants_path(self) -> Path:
        if self.tenants:
            return self.tenants
        if self.demo:
            return DEMO_TENANTS
        raise ConfigError("set CIVICBOT_TENANTS to your tenants file (see config/tenants.example.yaml)")


def load_tenants(path: Path, *, demo: bool, environ: Mapping[str, str] | None = None) -> dict[str, Tenant]:
    """Parse the tenants file and resolve every channel secret/token; fail loudly on anything missing."""
    environ = os.environ if environ is None else environ
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read tenants file {path}: {exc}") from exc
    try:
        parsed = TenantsFile.model_validate(raw)
    except ValueError as exc:
        raise ConfigError(f"invalid tenants file {path}: {exc}") from exc
    out: dict[str, Tenant] = {}
    for tenant in parsed.tenants:
        secret = _resolve(tenant, "secret", environ, demo)
        token = _resolve(tenant, "token", environ, demo)
        update: dict[str, Any] = {"channel_secret": SecretStr(secret), "channel_token": SecretStr(token)}
        if tenant.notices:
            update["notices"] = _resolve_notice_secrets(tenant, environ, demo)
        out[tenant.id] = tenant.model_copy(update=update)
    return out


def _resolve_notice_secrets(tenant: Tenant, environ: Mapping[str, str], demo: bool) -> dict:
    """IMAP mailboxes name the environment variable holding their password (``password_env``)."""
    notices = dict(tenant.notices or {})
    sources = []
    for i, source in enumerate(notices.get("imap") or []):
        source = dict(source)
        env_name = source.pop("password_env", None)
        if env_name:
            if not environ.get(env_name):
                raise ConfigError(f"tenant {tenant.id}: environment variable {env_name} (notices.imap[{i}]) is not set")
            source["password"] = environ[env_name]
        elif "password" in source and not (tenant.demo and demo):
            raise ConfigError(f"tenant {tenant.id}: notices.imap[{i}] must use password_env, not a literal password")
        sources.append(source)
    if sources:
        notices["imap"] = sources
    return notices


def _resolve(tenant: Tenant, what: str, environ: Mapping[str, str], demo: bool) -> str:
    literal: SecretStr | None = getattr(tenant.line, f"channel_{what}")
    env_name: str | None = getattr(tenant.line, f"channel_{what}_env")
    if literal is not None:
        if not (tenant.demo and demo):
            raise ConfigError(f"tenant {tenant.id}: literal channel_{what} is only allowed for demo tenants in demo mode")
        return literal.get_secret_value()
    if env_name and environ.get(env_name):
        return environ[env_name]
    raise ConfigError(f"tenant {tenant.id}: environment variable {env_name or '(channel_' + what + '_env unset)'} is not set")
