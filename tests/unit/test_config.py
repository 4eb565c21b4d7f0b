"""Configuration: env substitution, strict validation with one message per problem, no secret leaks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_ENV = {"CONVOSO_AUTH_TOKEN": "tok-convoso-123", "VONAGE_CLIENT_SECRET": "vsecret-456",
               "KOREAI_CLIENT_SECRET": "ksecret-789", "ROCKETCHAT_AUTH_TOKEN": "rtoken-000"}


def test_example_config_is_valid_and_secrets_stay_hidden() -> None:
    config = load_config(REPO / "examples/connector.yaml", env=EXAMPLE_ENV)
    assert [s.vendor for s in config.sources] == [
        "convoso-productivity", "convoso-user-activity", "vonage", "koreai", "rocketchat"]
    convoso = config.sources[0]
    assert convoso.auth_token.get_secret_value() == "tok-convoso-123"  # type: ignore[union-attr]
    for secret in EXAMPLE_ENV.values():
        assert secret not in repr(config) and secret not in str(config)
        assert secret not in config.model_dump_json()


def test_every_problem_is_reported_with_its_path() -> None:
    raw = {
        "kafka": {"bootstrap_servers": 1, "partitionz": 3},
        "sources": [
            {"name": "a", "vendor": "convoso-productivity", "tenant": "acme", "base_url": "not a url",
             "auth_token": "${NOPE}", "account_timezone": "Mars/Olympus"},
            {"name": "b", "vendor": "vonage", "tenant": "t", "base_url": "http://x"},
            {"name": "c", "vendor": "zendesk"},
            {"name": "a", "vendor": "rocketchat", "tenant": "t", "base_url": "http://x", "user_id": "u",
             "auth_token": "x", "poll_interval_seconds": -1},
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    problems = caught.value.problems
    assert "sources[0].auth_token: environment variable NOPE is not set" in problems
    assert "kafka.partitionz: unknown field (not allowed here; check the spelling)" in problems
    assert any(p.startswith("kafka.bootstrap_servers:") for p in problems)
    assert any(p.startswith("sources[0].base_url (vendor convoso-productivity):") for p in problems)
    assert any(p.startswith("sources[0].account_timezone") and "Mars/Olympus" in p for p in problems)
    assert any(p.startswith("sources[1] (vendor vonage):") and "access_token" in p for p in problems)
    assert any(p.startswith("sources[2]:") and "vendor must be one of" in p for p in problems)
    assert any(p.startswith("sources[3].poll_interval_seconds") for p in problems)
    assert len(problems) == len(set(problems))


def test_cross_field_rules_name_their_section() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"kafka": {"profile": "embedded", "enable_idempotence": True},
                      "sources": [{"name": "a", "vendor": "rocketchat", "tenant": "t", "base_url": "http://x",
                                   "user_id": "u", "auth_token": "x"}] * 2}, env={})
    assert any(p.startswith("kafka:") and "idempotent" in p for p in caught.value.problems)


def test_defaults_and_env_defaults() -> None:
    config = parse_config({"kafka": {"bootstrap_servers": "${BS:-localhost:1234}"}, "serde": None}, env={})
    assert config.kafka.bootstrap_servers == "localhost:1234"
    assert config.kafka.idempotence is True  # real Kafka by default
    assert parse_config({"kafka": {"profile": "embedded"}}).kafka.idempotence is False


def test_values_are_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"kafka": {"sasl_password": "hunter2-secret", "security_protocol": "BOGUS"}}, env={})
    assert "hunter2-secret" not in str(caught.value)


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka:\n  partitions: zero\nsources:\n  - {vendor: rocketchat}\n")
    result = CliRunner().invoke(main, ["check-config", str(bad)])
    assert result.exit_code == 1
    assert "kafka.partitions" in result.output and "sources[0].name" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("kafka: [unclosed\n")
    result = CliRunner().invoke(main, ["check-config", str(broken)])
    assert result.exit_code == 1 and "not valid YAML at line" in result.output
    result = CliRunner().invoke(main, ["check-config", str(REPO / "examples/connector.yaml")], env=EXAMPLE_ENV)
    assert result.exit_code == 0, result.output
    assert "source vonage-main: vonage" in result.output
    assert not any(secret in result.output for secret in EXAMPLE_ENV.values())


def test_every_subcommand_has_help() -> None:
    for name, command in main.commands.items():
        assert command.help, f"{name} has no help text"
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
