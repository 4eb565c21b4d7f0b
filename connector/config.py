"""Configuration: one YAML file for Kafka, serde and any number of sources.

Secrets come from the environment as ``${VAR}`` (or ``${VAR:-default}``), are held as
``SecretStr`` and never printed. Validation is strict: every problem in a file is
reported, one message each, naming the field path and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from connector.redaction import register_secret
from connector.sources import STREAMS, settings_models
from connector.sources.settings import SourceSettings

__all__ = [
    "ConfigError",
    "ConnectorConfig",
    "KafkaSettings",
    "ProcessorsConfig",
    "SerdeSettings",
    "SourceConfig",
    "TopicNames",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """A configuration file is wrong; ``problems`` holds one message per problem."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s):\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)




class TopicNames(_Strict):
    agent_state: str = "agent-state-changed"
    group_observations: str = "agent-group-observed"
    conversation_observations: str = "agent-conversations-observed"
    dead_letter: str = "agent-connector-dlq"
    offsets: str = "agent-connector-offsets"
    availability: str = "agent-availability"
    alerts: str = "availability-alerts"


class KafkaSettings(_Strict):
    bootstrap_servers: str = "127.0.0.1:9092"
    profile: Literal["kafka", "embedded"] = Field(
        "kafka", description="'embedded' turns off what the embedded Tansu broker cannot do (idempotence)."
    )
    client_id: str = "agent-connector"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    partitions: int = Field(6, ge=1, le=1000)
    replication_factor: int = Field(1, ge=1, le=10)
    enable_idempotence: bool | None = Field(
        None, description="Default: on for profile 'kafka', off for 'embedded'."
    )
    linger_ms: int = Field(5, ge=0, le=10_000)
    topics: TopicNames = TopicNames()

    @property
    def idempotence(self) -> bool:
        if self.enable_idempotence is not None:
            return self.enable_idempotence
        return self.profile == "kafka"

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username):
            raise ValueError("security_protocol SASL_* needs sasl_mechanism and sasl_username")
        if self.profile == "embedded" and self.enable_idempotence:
            raise ValueError("the embedded broker has no idempotent producer: leave enable_idempotence unset")
        return self


class SerdeSettings(_Strict):
    schema_registry_url: AnyHttpUrl | None = Field(
        None, description="Confluent-compatible Schema Registry; without it events use Avro single-object encoding."
    )
    schema_registry_username: str | None = None
    schema_registry_password: SecretStr | None = None

    @field_validator("schema_registry_url", "schema_registry_username", "schema_registry_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """``${SCHEMA_REGISTRY_URL:-}`` with the variable unset means: no registry."""
        return None if value == "" else value


class PrivacySettings(_Strict):
    drop_personal_data: bool = Field(
        True, description="Drop vendor fields availability does not need (IP address, browser, names, emails)."
    )


# Every vendor module's settings model (found by connector.sources) joins one union, told apart by
# ``vendor``: a new vendor module brings its settings with it and nothing here changes.
if TYPE_CHECKING:
    SourceConfig = SourceSettings
else:
    SourceConfig = Annotated[Union[settings_models()], Field(discriminator="vendor")]  # noqa: UP007
VENDORS: tuple[str, ...] = tuple(STREAMS)


class HttpSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8090, ge=0, le=65535, description="Port of /healthz and /metrics; 0 picks a free one.")


class WindowConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    size_minutes: int = Field(ge=1, le=7 * 24 * 60)
    step_minutes: int = Field(ge=1, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _step_divides_size(self) -> WindowConfig:
        if self.size_minutes % self.step_minutes:
            raise ValueError(f"window {self.name!r}: size_minutes must be a multiple of step_minutes")
        return self


class ThresholdsConfig(_Strict):
    """Percent-available health thresholds (Convoso's user-activity recommendation) and alert hysteresis."""

    healthy_above_pct: float = 20.0
    monitor_from_pct: float = 10.0
    warning_from_pct: float = 5.0
    hysteresis_pct: float = Field(2.0, ge=0, le=100)
    hysteresis_agents: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdsConfig:
        if not 0 < self.warning_from_pct < self.monitor_from_pct < self.healthy_above_pct <= 100:
            raise ValueError("thresholds must satisfy 0 < warning_from_pct < monitor_from_pct < "
                             "healthy_above_pct <= 100")
        return self


def _default_windows() -> list[WindowConfig]:
    return [WindowConfig(name="tumbling-15m", size_minutes=15, step_minutes=15),
            WindowConfig(name="hopping-1h", size_minutes=60, step_minutes=5)]


class ProcessorsConfig(_Strict):
    """The availability processors (``agent-connector process``); ``PROCESSORS_*`` variables override."""

    app_id: str = Field("agent-availability", description="faust app id: consumer group and table topic prefix.")
    web_host: str = Field("127.0.0.1", description="Host other workers reach this one's query API at.")
    web_port: int = Field(6066, ge=0, le=65535, description="Port of the query API; 0 picks a free one.")
    data_dir: str = ".agent-processors"
    standby_replicas: int = Field(0, ge=0, le=10)
    commit_interval_seconds: float = Field(2.8, gt=0, le=60)
    retention_minutes: int = Field(120, ge=1, le=7 * 24 * 60,
                                   description="How far back windows and late events reach (event time).")
    pane_minutes: int = Field(5, ge=1, le=24 * 60, description="Windows are built from panes of this length.")
    windows: list[WindowConfig] = Field(default_factory=_default_windows, min_length=1)
    thresholds: ThresholdsConfig = ThresholdsConfig()
    cross_vendor_tenant: bool = Field(True, description="Also count each tenant across all its vendors.")
    max_recent_alerts: int = Field(16, ge=1, le=1000)

    def window_problems(self) -> list[str]:
        """What makes the windows unusable with these panes and retention, one message each."""
        problems = []
        names = [w.name for w in self.windows]
        if len(set(names)) != len(names):
            problems.append("processors.windows: window names must be unique")
        for i, window in enumerate(self.windows):
            where = f"processors.windows[{i}]"
            if window.size_minutes % self.pane_minutes or window.step_minutes % self.pane_minutes:
                problems.append(f"{where}: size and step must be multiples of pane_minutes ({self.pane_minutes})")
            if window.size_minutes > self.retention_minutes:
                problems.append(f"{where}: {window.name!r} is longer than retention_minutes "
                                f"({self.retention_minutes}); it could never be complete")
        return problems


class ConnectorConfig(_Strict):
    kafka: KafkaSettings = KafkaSettings()
    serde: SerdeSettings = SerdeSettings()
    privacy: PrivacySettings = PrivacySettings()
    http: HttpSettings = HttpSettings()
    processors: ProcessorsConfig = ProcessorsConfig()
    sources: list[SourceConfig] = []

    @model_validator(mode="after")
    def _unique_names(self) -> ConnectorConfig:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice; names must be unique")
            seen.add(source.name)
        return self


# --- loading -----------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _path(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


_UNSET = "<unset>"  # stands in for a missing variable so it is reported once, not again by validation


def _substitute(node: Any, env: Mapping[str, str], where: tuple[Any, ...], problems: list[str],
                missing: set[tuple[Any, ...]]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string, collecting missing variables."""
    if isinstance(node, dict):
        return {key: _substitute(value, env, (*where, key), problems, missing) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, env, (*where, i), problems, missing) for i, value in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{_path(where)}: environment variable {name} is not set")
            missing.add(where)
            return _UNSET
        return _VAR.sub(replace, node)
    return node


def _describe(error: Any) -> str:
    loc = tuple(part for part in error["loc"] if part not in VENDORS or not isinstance(part, str))
    vendor = next((p for p in error["loc"] if isinstance(p, str) and p in VENDORS), None)
    where = _path(loc)
    if vendor:
        where = f"{where} (vendor {vendor})"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field (not allowed here; check the spelling)"
    elif error["type"] == "union_tag_invalid":
        message = f"vendor must be one of {', '.join(VENDORS)}"
    elif error["type"] == "union_tag_not_found":
        message = f"missing 'vendor' (one of {', '.join(VENDORS)})"
    # never echo input values: they may be secrets
    return f"{where}: {message}"


def parse_config(raw: Any, *, origin: str = "config", env: Mapping[str, str] | None = None) -> ConnectorConfig:
    """Validate an already-loaded YAML document; raise ConfigError listing every problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(origin, [f"(top level): expected a mapping of settings, got {type(raw).__name__}"])
    problems: list[str] = []
    missing: set[tuple[Any, ...]] = set()
    # an empty section (only comments under its key) means "defaults", not "null"
    raw = {key: value for key, value in raw.items() if value is not None}
    substituted = _substitute(raw, os.environ if env is None else env, (), problems, missing)
    try:
        config = ConnectorConfig.model_validate(substituted)
    except ValidationError as exc:
        for error in exc.errors(include_input=False):
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p in VENDORS))
            if loc not in missing:
                problems.append(_describe(error))
        raise ConfigError(origin, problems) from None
    problems.extend(config.processors.window_problems())
    if problems:
        raise ConfigError(origin, problems)
    _register_secrets(config)
    return config


def _register_secrets(node: Any) -> None:
    """Teach the log redactor every secret this configuration holds."""
    if isinstance(node, SecretStr):
        register_secret(node.get_secret_value())
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _register_secrets(getattr(node, name))
    elif isinstance(node, list | tuple):
        for item in node:
            _register_secrets(item)


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> ConnectorConfig:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(str(path), [f"not valid YAML at {where}: {getattr(exc, 'problem', exc)}"]) from None
    return parse_config(raw, origin=str(path), env=env)
