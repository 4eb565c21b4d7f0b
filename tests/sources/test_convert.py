"""The offline ``convert`` command on the seed examples (and what it says about broken files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connector.convert import convert
from tests.sources.helpers import FIXTURES

NOW = "2023-03-10T17:00:00Z"


def run(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(convert, [*args, "--now", NOW])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def test_convoso_productivity_seed() -> None:
    code, lines, err = run("--vendor", "convoso-productivity", "--tenant", "acme",
                           str(FIXTURES / "convoso_productivity_seed.json"))
    assert code == 0 and err == ""
    (line,) = lines
    assert {k: line[k] for k in ("event_type", "vendor", "tenant", "agent_id", "state", "previous_state",
                                 "occurred_at")} == {
        "event_type": "AgentStateChanged", "vendor": "convoso-productivity", "tenant": "acme",
        "agent_id": "12345678", "state": "AWAY", "previous_state": None, "occurred_at": "2025-05-28T11:57:17.000Z"}
    assert len(line["event_id"]) == 36


def test_vonage_seed_in_order() -> None:
    code, lines, _ = run("--vendor", "vonage", str(FIXTURES / "vonage_seed.json"))
    assert code == 0
    assert [(x["state"], x["previous_state"]) for x in lines] == [
        ("OFFLINE", None), ("AVAILABLE", "OFFLINE"), ("BUSY", "AVAILABLE"), ("WRAP_UP", "BUSY"),
        ("AVAILABLE", "WRAP_UP")]
    assert all(x["occurred_at"].endswith("Z") for x in lines)


def test_koreai_fixed_seed_with_offset() -> None:
    code, lines, _ = run("--vendor", "koreai", "--timezone-offset", "330", str(FIXTURES / "koreai_seed_fixed.json"))
    assert code == 0
    assert [(x["state"], x["occurred_at"]) for x in lines] == [
        ("AVAILABLE", "2023-03-09T07:50:38.000Z"), ("BUSY", "2023-03-10T16:08:52.000Z"),
        ("OFFLINE", "2023-03-10T16:09:48.000Z"), ("AVAILABLE", "2023-03-10T16:10:17.000Z"),
        ("OFFLINE", "2023-03-10T16:10:28.000Z"), ("BUSY", "2023-03-10T16:21:02.000Z")]
    _, new_york, _ = run("--vendor", "koreai", "--timezone-offset", "-300", str(FIXTURES / "koreai_seed_fixed.json"))
    assert new_york[0]["occurred_at"] == "2023-03-09T18:20:38.000Z"


def test_koreai_seed_as_published_is_reported_as_invalid_json() -> None:
    code, lines, err = run("--vendor", "koreai", str(FIXTURES / "koreai_seed_as_published.json"))
    assert code == 1 and lines == []
    assert "not valid JSON at line 24, column 12" in err and "delimiter" in err


def test_observation_events_print_their_own_fields() -> None:
    code, lines, _ = run("--vendor", "convoso-user-activity", str(FIXTURES / "convoso_user_activity_seed.json"))
    assert code == 0
    assert lines[0]["event_type"] == "AgentGroupObserved"
    assert (lines[0]["group_key"], lines[0]["available_agents"], lines[0]["logged_in_agents"]) == ("all", 36, 125)
    assert lines[0]["observed_at"] == "2023-03-10T17:00:00.000Z"
    code, lines, _ = run("--vendor", "rocketchat", str(FIXTURES / "rocketchat_seed.json"))
    assert code == 0 and len(lines) == 11
    assert lines[-1]["agent_label"] is None and lines[-1]["conversations"] == 9
    assert (lines[0]["window_start"], lines[0]["window_end"]) == ("2023-03-10T16:55:00.000Z",
                                                                  "2023-03-10T17:00:00.000Z")


def test_dead_letters_and_unknown_states_go_to_stderr(tmp_path: Path) -> None:
    body = json.loads((FIXTURES / "vonage_seed.json").read_text())
    del body["items"][0]["agentId"]
    body["items"][1]["category"] = "Training"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(body))
    code, lines, err = run("--vendor", "vonage", str(path))
    assert code == 0 and lines and lines[0]["state"] == "UNKNOWN"
    dead = json.loads(err.splitlines()[0])
    assert dead["location"] == "items[0]" and dead["error_kind"] == "missing_field" and "agentId" in dead["error"]
    assert "Presence:Training x1" in err


def test_vendor_error_body_is_reported() -> None:
    result = CliRunner().invoke(convert, ["--vendor", "vonage", "-"],
                                input='{"message":"Request window size limit exceeded 31 days"}')
    assert result.exit_code == 1 and "Request window size limit exceeded 31 days" in result.stderr


def test_an_unknown_zone_is_a_usage_error() -> None:
    result = CliRunner().invoke(convert, ["--vendor", "koreai", "--timezone", "Mars/Olympus",
                                          str(FIXTURES / "koreai_seed_fixed.json")])
    assert result.exit_code == 2 and "Mars/Olympus" in result.stderr


def test_koreai_with_an_iana_zone_uses_that_days_offset() -> None:
    code, lines, _ = run("--vendor", "koreai", "--timezone", "Asia/Kolkata", str(FIXTURES / "koreai_seed_fixed.json"))
    assert code == 0 and lines[0]["occurred_at"] == "2023-03-09T07:50:38.000Z"
