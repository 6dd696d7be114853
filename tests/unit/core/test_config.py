"""Tenants file: secrets only from the environment (literals only for demo tenants in demo mode)."""

import textwrap

import pytest

from bot.config import ConfigError, load_tenants

BASE = """
tenants:
  - id: suita
    display_name: 吹田市
    lg_code: "272051"
    line: {channel_secret_env: S, channel_token_env: T}
"""


def write(tmp_path, text):
    p = tmp_path / "tenants.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_secrets_come_from_the_environment(tmp_path):
    t = load_tenants(write(tmp_path, BASE), demo=False, environ={"S": "sec", "T": "tok"})["suita"]
    assert t.channel_secret.get_secret_value() == "sec" and t.channel_token.get_secret_value() == "tok"


def test_missing_secret_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="S"):
        load_tenants(write(tmp_path, BASE), demo=False, environ={"T": "tok"})


def test_literal_secrets_refused_outside_demo(tmp_path):
    text = BASE.replace("{channel_secret_env: S, channel_token_env: T}", "{channel_secret: x, channel_token: y}")
    with pytest.raises(ConfigError, match="demo"):
        load_tenants(write(tmp_path, text), demo=False, environ={})


def test_imap_password_from_environment_and_literal_refused(tmp_path):
    text = BASE + """    notices:
      imap:
        - {host: 127.0.0.1, port: 143, username: police, password_env: IMAP_PW}
"""
    t = load_tenants(write(tmp_path, text), demo=False, environ={"S": "s", "T": "t", "IMAP_PW": "pw"})["suita"]
    assert t.notices["imap"][0]["password"] == "pw"
    with pytest.raises(ConfigError, match="IMAP_PW"):
        load_tenants(write(tmp_path, text), demo=False, environ={"S": "s", "T": "t"})
    literal = text.replace("password_env: IMAP_PW", "password: hunter2")
    with pytest.raises(ConfigError, match="password_env"):
        load_tenants(write(tmp_path, literal), demo=False, environ={"S": "s", "T": "t"})


def test_duplicate_tenant_ids_and_bad_office_hours_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="duplicate"):
        load_tenants(write(tmp_path, BASE + BASE.split("tenants:")[1]), demo=False, environ={"S": "s", "T": "t"})
    bad = BASE + '    office_hours: {weekly: {mon: "9-5"}}\n'
    with pytest.raises(ConfigError, match="09:00-17:30"):
        load_tenants(write(tmp_path, bad), demo=False, environ={"S": "s", "T": "t"})


def test_the_documented_example_file_loads():
    from alerts.notices import NoticesConfig
    from bot.config import REPO_ROOT

    env = {"LINE_CHANNEL_SECRET_SUITA": "s", "LINE_CHANNEL_TOKEN_SUITA": "t", "SUITA_IMAP_PASSWORD": "pw"}
    tenants = load_tenants(REPO_ROOT / "config" / "tenants.example.yaml", demo=False, environ=env)
    cfg = NoticesConfig.model_validate(tenants["suita"].notices)
    assert cfg.radius_m == 1000 and cfg.imap[0].password.get_secret_value() == "pw"


def test_handoff_policy_from_the_tenants_file(tmp_path):
    from app.bootstrap import handoff_policy

    text = BASE + """    handoff:
      include_crisis_text: true
      retention_days: 90
      labels: [自殺念慮, その他]
"""
    t = load_tenants(write(tmp_path, text), demo=False, environ={"S": "s", "T": "t"})["suita"]
    policy = handoff_policy(t)
    assert policy.include_crisis_text and policy.retention_days == 90 and policy.labels == ("自殺念慮", "その他")
    assert not policy.show_display_name  # untouched defaults stay safe
    bad = load_tenants(write(tmp_path, BASE + "    handoff: {retain_forever: true}\n"), demo=False, environ={"S": "s", "T": "t"})["suita"]
    with pytest.raises(ConfigError, match="retain_forever"):
        handoff_policy(bad)
