"""docker-compose.yml cannot run here (no Docker engine): check that it parses and that every
command it runs exists in this package, so the production stack does not rot unseen."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from connector.cli import main
from connector.config import load_config

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_has_the_four_services_with_healthchecks() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "schema-registry", "connector", "processors"}
    assert all("healthcheck" in service for service in services.values())
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper


def test_every_service_command_exists_in_the_package() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["agent-connector"' in dockerfile
    for name in ("connector", "processors"):
        service = compose()["services"][name]
        assert service["build"] == "."
        subcommand = service["command"][0]
        assert subcommand in main.commands, f"{name}: 'agent-connector {subcommand}' does not exist"
        result = CliRunner().invoke(main, [*service["command"][:1], "--help"])
        assert result.exit_code == 0, result.output


def test_the_mounted_config_is_valid_with_the_compose_environment() -> None:
    service = compose()["services"]["connector"]
    mount = next(v for v in service["volumes"] if v.endswith(":/config/connector.yaml:ro"))
    env = {**service["environment"], "CONVOSO_AUTH_TOKEN": "x", "VONAGE_CLIENT_SECRET": "x",
           "KOREAI_CLIENT_SECRET": "x", "ROCKETCHAT_AUTH_TOKEN": "x"}
    config = load_config(REPO / mount.split(":")[0].removeprefix("./"), env=env)
    assert config.kafka.bootstrap_servers == "kafka:9092" and config.kafka.profile == "kafka"
    assert config.kafka.idempotence is True
    assert str(config.serde.schema_registry_url) == "http://schema-registry:8081/"
    assert config.http.host == "0.0.0.0"
