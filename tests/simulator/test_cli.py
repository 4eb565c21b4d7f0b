"""``agent-connector simulate``: prints URLs and credentials, writes a valid connector config."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from connector.config import load_config
from connector.simulator.cli import simulate
from connector.simulator.server import VENDORS


def test_simulate_all_writes_a_valid_config(tmp_path: Path) -> None:
    out = tmp_path / "sim.yaml"
    result = CliRunner().invoke(simulate, ["--run-for", "0.2", "--config-out", str(out), "--seed", "3",
                                           "--start", "2025-05-28T17:00:00Z", "--speed", "0",
                                           "--fault", "vonage:rate_limit:times=2,retry_after=1"])
    assert result.exit_code == 0, result.output
    config = load_config(out)
    assert [s.vendor for s in config.sources] == list(VENDORS)
    for source in config.sources:
        assert str(source.base_url).startswith("http://127.0.0.1:")
        assert str(source.base_url).rstrip("/") in result.output
    assert "sim-convoso-token" in result.output and "X-Auth-Token" in result.output
    assert "curl" in result.output


def test_simulate_subset_and_bad_arguments(tmp_path: Path) -> None:
    out = tmp_path / "sub.yaml"
    result = CliRunner().invoke(simulate, ["--vendors", "convoso,rocketchat", "--run-for", "0.1",
                                           "--config-out", str(out)])
    assert result.exit_code == 0, result.output
    assert [s.vendor for s in load_config(out).sources] == [
        "convoso-productivity", "convoso-user-activity", "rocketchat"]
    bad = CliRunner().invoke(simulate, ["--vendors", "genesys", "--config-out", str(out)])
    assert bad.exit_code != 0 and "genesys" in bad.output
    bad_fault = CliRunner().invoke(simulate, ["--vendors", "koreai", "--fault", "vonage:drop",
                                              "--config-out", str(out)])
    assert bad_fault.exit_code != 0 and "not running" in bad_fault.output


async def test_printed_curl_examples_work() -> None:
    """Replay each simulator's printed curl (parsed) and check it returns that API's success shape."""
    import shlex

    import httpx

    from connector.simulator import Simulation, SimulatorCluster

    async with SimulatorCluster(Simulation(seed=1)) as cluster, httpx.AsyncClient() as http:
        for vendor, simulator in cluster.simulators.items():
            words = shlex.split(simulator.example_curl())
            assert words[0] == "curl"
            method, headers, data, url = "GET", {}, None, ""
            rest = iter(words[1:])
            for word in rest:
                if word == "-X":
                    method = next(rest)
                elif word == "-H":
                    name, _, value = next(rest).partition(": ")
                    headers[name] = value
                elif word in ("-d", "--data-raw"):
                    data = next(rest)
                    method = "POST"
                else:
                    url = word
            if data is not None and "Content-Type" not in headers:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = await http.request(method, url, headers=headers, content=data)
            assert response.status_code == 200, (vendor, response.text)
            body = response.json()
            assert body.get("success", True) is True and body.get("data", body.get("items")) is not None, vendor
