"""The config file's ``processors`` section: what the pure functions and the worker get, and its errors."""

from __future__ import annotations

import pytest

from connector.config import ConfigError, parse_config
from connector.processors.options import ENV, WorkerOptions
from connector.processors.windows import MINUTE_MS


def test_processors_section_reaches_the_worker_and_its_pure_settings() -> None:
    config = parse_config({"processors": {
        "app_id": "floor-3", "web_port": 7000, "commit_interval_seconds": 1.5, "retention_minutes": 60,
        "pane_minutes": 10, "windows": [{"name": "half-hour", "size_minutes": 30, "step_minutes": 10}],
        "thresholds": {"healthy_above_pct": 30, "monitor_from_pct": 15, "warning_from_pct": 4,
                       "hysteresis_pct": 1, "hysteresis_agents": 0},
        "cross_vendor_tenant": False, "max_recent_alerts": 5,
    }})
    options = WorkerOptions.from_config(config, env={})
    assert (options.app_id, options.web_port, options.commit_interval) == ("floor-3", 7000, 1.5)
    settings = options.settings
    assert settings.retention_ms == 60 * MINUTE_MS and settings.pane_ms == 10 * MINUTE_MS
    half_hour = settings.window("half-hour")
    assert (half_hour.size_ms, half_hour.step_ms) == (30 * MINUTE_MS, 10 * MINUTE_MS)
    assert [spec.name for spec in settings.windows] == ["half-hour"]
    thresholds = settings.thresholds
    assert (thresholds.healthy_above_pct, thresholds.monitor_from_pct, thresholds.warning_from_pct,
            thresholds.hysteresis_pct, thresholds.hysteresis_agents) == (30, 15, 4, 1, 0)
    assert settings.cross_vendor_tenant is False and settings.max_recent_alerts == 5


def test_worker_variables_override_the_section() -> None:
    config = parse_config({"processors": {"app_id": "floor-3", "web_port": 7000, "data_dir": "/var/a"}})
    options = WorkerOptions.from_config(config, env={ENV.APP_ID: "other", ENV.WEB_PORT: "7001",
                                                     ENV.DATA_DIR: "/var/b"})
    assert (options.app_id, options.web_port, str(options.data_dir)) == ("other", 7001, "/var/b")


def test_defaults_are_the_documented_windows_and_thresholds() -> None:
    settings = WorkerOptions.from_config(parse_config({}), env={}).settings
    assert [spec.name for spec in settings.windows] == ["tumbling-15m", "hopping-1h"]
    assert settings.window("hopping-1h").step_ms == 5 * MINUTE_MS
    assert settings.thresholds.healthy_above_pct == 20 and settings.retention_ms == 120 * MINUTE_MS


def test_each_problem_of_the_section_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"processors": {
            "pane_minutes": 7, "retention_minutes": 30,
            "windows": [{"name": "w", "size_minutes": 60, "step_minutes": 7},
                        {"name": "Bad Name", "size_minutes": 10, "step_minutes": 3}],
            "thresholds": {"healthy_above_pct": 5, "monitor_from_pct": 10, "warning_from_pct": 20},
        }})
    text = str(caught.value)
    assert "processors.windows[1].name" in text
    assert "processors.windows[1]" in text and "multiple of step_minutes" in text
    assert "processors.thresholds" in text and "0 < warning_from_pct" in text
    assert len(caught.value.problems) == 3, caught.value.problems


def test_windows_must_fit_the_panes_and_the_retention() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"processors": {"pane_minutes": 7, "retention_minutes": 30,
                                     "windows": [{"name": "w", "size_minutes": 60, "step_minutes": 5}]}})
    assert caught.value.problems == [
        "processors.windows[0]: size and step must be multiples of pane_minutes (7)",
        "processors.windows[0]: 'w' is longer than retention_minutes (30); it could never be complete",
    ]
