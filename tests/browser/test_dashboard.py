"""The dashboard in headless Chromium (Debian's ``chromium``) against the running demo.

One demo (broker, simulators, connector, processors worker) runs for the module at 10x
simulated speed; one page stays open on ``/dashboard``. The page must load without console
errors, show the query API's numbers, move as the contact centre moves, and say it is stale
when updates stop. ``scripts/ensure-chromium.sh`` (run by ``make test``) installs Chromium;
without it these tests fail rather than skip. Set ``UPDATE_DOCS_SCREENSHOT=1`` to write the
README's screenshot to ``docs/dashboard.png``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, ViewportSize, sync_playwright

from connector.broker import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
SPEED = 10
T = TypeVar("T")


# --- the demo -------------------------------------------------------------------------------

class Demo:
    """``agent-connector demo`` as a subprocess, with its dashboard's base URL."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "demo.log"
        env = {**os.environ, "TMPDIR": str(workdir)}  # the demo's own work dir goes under pytest's
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "connector.cli", "--log-format", "text", "demo", "--web-port", str(self.port),
                 "--speed", str(SPEED), "--run-for", "300"],
                cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )

    def get(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        assert response.status_code == 200, f"{path}: HTTP {response.status_code}: {response.text[:300]}"
        return response.json()

    def failure(self, what: str) -> str:
        return f"{what}; demo log {self.log}:\n{self.log.read_text(errors='replace')[-3000:]}"

    def wait_until_serving(self, timeout: float) -> None:
        """Until the query API lists agents and groups (the pipeline has processed events).

        The agents list goes first: it is the dashboard's, which declares the tables' changelog
        topics before the routing metadata is read (see ``dashboard._declare_changelogs``).
        """
        deadline = time.monotonic() + timeout
        ready = 0
        paths = ("/availability/agents", "/availability/groups")
        while time.monotonic() < deadline and ready < len(paths):
            assert self.process.poll() is None, self.failure("the demo exited")
            try:
                response = httpx.get(f"{self.url}{paths[ready]}", timeout=5)
                if response.status_code == 200 and response.json()["count"]:
                    ready += 1
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        if ready < len(paths):
            raise AssertionError(self.failure(f"the query API did not list agents and groups within {timeout} s"))

    def worker_pid(self) -> int:
        """The processors worker the demo started (its child ``... process CONFIG``)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and b"process" in cmdline:
                return int(stat.parent.name)
        raise AssertionError("the demo's processors worker is not running")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the demo stops its worker and broker itself
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo"))
    try:
        running.wait_until_serving(timeout=60)
        yield running
    finally:
        running.stop()


# --- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)"
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


class Dashboard:
    """The open page and every console error or uncaught exception it has had."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console.{message.type}: {message.text} ({message.location})")

    def seq(self) -> int:
        return int(self.page.get_attribute("#last-update", "data-seq") or 0)

    def read(self) -> dict[str, Any]:
        """What the page shows: per group the visible numbers and data attributes, agents' states, charts, alerts."""
        shown: dict[str, Any] = self.page.evaluate(
            """() => {
              const text = (el, field) => el.querySelector(`[data-field="${field}"]`).textContent.trim();
              const groups = {};
              for (const row of document.querySelectorAll("#groups tr[data-group]")) {
                groups[row.dataset.group] = {
                  available: Number(text(row, "available")), logged_in: Number(text(row, "logged_in")),
                  percent_text: text(row, "percent_available"), utilization_text: text(row, "utilization"),
                  health_text: text(row, "health"), percent: Number(row.dataset.percent),
                  utilization: Number(row.dataset.utilization), health: row.dataset.health,
                };
              }
              const tenants = {};
              for (const card of document.querySelectorAll("#tenants [data-tenant]")) {
                tenants[card.dataset.group] = [Number(text(card, "available")), Number(text(card, "logged_in"))];
              }
              const agents = {};
              for (const tile of document.querySelectorAll("#agents [data-agent]")) {
                agents[tile.dataset.agent] = [tile.dataset.state, tile.dataset.since,
                                              tile.querySelector(".what").textContent.split(" · ")[0]];
              }
              const observed = {};
              for (const row of document.querySelectorAll("#observed tr[data-observed-group]")) {
                observed[row.dataset.observedGroup] = [Number(row.dataset.observedAvailable),
                  Number(row.dataset.observedLoggedIn), Number(text(row, "diff_available")),
                  Number(text(row, "diff_logged_in"))];
              }
              const charts = {};
              for (const fig of document.querySelectorAll("#charts [data-chart-group]")) {
                charts[fig.dataset.chartGroup] = [...fig.querySelectorAll("[data-window-start]")]
                  .filter((g) => g.classList.contains("complete"))
                  .map((g) => [g.dataset.windowStart, Number(g.dataset.availableSeconds)]);
              }
              const alerts = [...document.querySelectorAll("#alerts [data-alert-id]")].map((li) => li.dataset.alertId);
              return {groups, tenants, agents, observed, charts, alerts};
            }"""
        )
        return shown


@pytest.fixture(scope="module")
def dashboard(browser: Browser, demo: Demo) -> Iterator[Dashboard]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    opened = Dashboard(page)
    page.goto(f"{demo.url}/dashboard")
    page.wait_for_selector("body[data-status=live]", timeout=15_000)
    page.wait_for_selector("#groups tr[data-group]", timeout=15_000)
    yield opened
    context.close()


# --- what the page must show ----------------------------------------------------------------

def expected(demo: Demo) -> dict[str, Any]:
    """The same view as ``Dashboard.read``, from the query API."""
    groups = demo.get("/availability/groups")["items"]
    agents = demo.get("/availability/agents")["items"]
    alerts = demo.get("/availability/alerts")["items"]
    # per tenant: its cross-vendor group, else each vendor's whole-tenant group (the first one on the cards)
    whole_tenant: dict[str, list[str]] = {}
    for g in groups:
        if g["group_type"] == "tenant":
            whole_tenant.setdefault(g["tenant"], []).append(g["group"])
    charted = {t: [k for k in keys if k.split(":")[1] == "*"] or keys for t, keys in whole_tenant.items()}
    by_key = {g["group"]: g for g in groups}
    charts = {}
    for key in (key for keys in charted.values() for key in keys):
        windows = demo.get(f"/availability/groups/{key}/windows", window="15m")["windows"][-12:]
        charts[key] = [[w["start"], w["seconds_in_state"]["AVAILABLE"]] for w in windows if w["complete"]]
    return {
        "groups": {g["group"]: {
            "available": g["counts"]["available"], "logged_in": g["counts"]["logged_in"],
            "percent": g["percent_available"], "utilization": g["utilization"], "health": g["health"],
        } for g in groups},
        "tenants": {keys[0]: [by_key[keys[0]]["counts"]["available"], by_key[keys[0]]["counts"]["logged_in"]]
                    for keys in charted.values()},
        "agents": {a["agent"]: [a["state"], a["since"], a["state"].replace("_", " ")] for a in agents},
        "observed": {g["group"]: [g["observed"]["available"], g["observed"]["logged_in"],
                                  g["observed"]["difference"]["available"], g["observed"]["difference"]["logged_in"]]
                     for g in groups if g["observed"]},
        "charts": charts,
        "alerts": [a["alert_id"] for a in newest_first(alerts)][:60],
    }


def newest_first(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feed's order: event time descending, then group ascending, then sequence descending."""
    by_sequence = sorted(alerts, key=lambda a: a["sequence"], reverse=True)
    by_group = sorted(by_sequence, key=lambda a: a["group"])
    return sorted(by_group, key=lambda a: a["occurred_at"], reverse=True)


def comparable(shown: dict[str, Any]) -> dict[str, Any]:
    """The page's view checked for self-consistency (text vs data attributes), in ``expected``'s shape."""
    groups = {}
    for key, g in shown["groups"].items():
        assert abs(float(g["percent_text"].rstrip("%")) - g["percent"]) <= 0.051, (key, g)
        assert abs(float(g["utilization_text"].rstrip("%")) - 100 * g["utilization"]) <= 0.51, (key, g)
        assert g["health_text"] == g["health"].replace("_", " "), (key, g)
        groups[key] = {name: g[name] for name in ("available", "logged_in", "percent", "utilization", "health")}
    return {**shown, "groups": groups}


def eventually(produce: Callable[[], T], accept: Callable[[T], bool], timeout: float, pause: float = 0.3) -> T:
    """Call ``produce`` until ``accept`` takes its result; the last result when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = produce()
        if accept(result) or time.monotonic() > deadline:
            return result
        time.sleep(pause)


def first_difference(shown: dict[str, Any], wanted: dict[str, Any]) -> str:
    for section in wanted:
        if shown[section] != wanted[section]:
            if isinstance(wanted[section], dict):
                keys = sorted(set(shown[section]) | set(wanted[section]))
                diffs = [(k, shown[section].get(k), wanted[section].get(k)) for k in keys
                         if shown[section].get(k) != wanted[section].get(k)]
                return f"{section}: (key, page, API) {diffs[:5]}"
            return f"{section}: page {shown[section][:5]} API {wanted[section][:5]}"
    return "none"


# --- the tests --------------------------------------------------------------------------------

def test_page_loads_live_without_console_errors(dashboard: Dashboard, demo: Demo) -> None:
    page = dashboard.page
    assert page.title() == "Agent availability"
    first = dashboard.seq()
    assert first >= 1
    page.wait_for_function(f"Number(document.querySelector('#last-update').dataset.seq) > {first}", timeout=5_000)
    assert page.text_content("#status-text") == "live"
    assert page.text_content("#last-update").endswith(" UTC")  # type: ignore[union-attr]
    shown = dashboard.read()
    assert shown["groups"] and shown["agents"] and shown["charts"] and shown["tenants"]
    assert all(shown["charts"].values()), "every tenant chart has complete windows (the demo has history)"
    assert page.locator(".legend .chip").count() == 12  # six health colours and six agent states
    assert dashboard.errors == []


def test_numbers_equal_the_query_api(dashboard: Dashboard, demo: Demo, tmp_path: Path) -> None:
    # the page lags the API by up to one snapshot interval: compare until one reading agrees
    attempts: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def read_both() -> tuple[dict[str, Any], dict[str, Any]]:
        before = expected(demo)
        shown = comparable(dashboard.read())
        after = expected(demo)
        attempts.append((shown, before))
        return shown, (after if shown == after else before)

    shown, wanted = eventually(read_both, lambda pair: pair[0] == pair[1], timeout=25)
    assert shown == wanted, f"after {len(attempts)} readings the page still differs: {first_difference(shown, wanted)}"
    assert len(shown["groups"]) >= 6 and len(shown["agents"]) >= 20
    assert dashboard.errors == []

    dashboard.page.wait_for_timeout(1_500)  # one more update, so the screenshot shows a fresh "last update"
    shot = tmp_path / "dashboard.png"
    dashboard.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        shutil.copyfile(shot, REPO / "docs" / "dashboard.png")


def test_numbers_move_with_the_contact_centre(dashboard: Dashboard, demo: Demo) -> None:
    start = comparable(dashboard.read())
    start_seq, start_label = dashboard.seq(), dashboard.page.text_content("#last-update")

    def moved(now: dict[str, Any]) -> bool:
        return bool(now["groups"] != start["groups"] and now["agents"] != start["agents"])

    later = eventually(lambda: comparable(dashboard.read()), moved, timeout=40, pause=0.5)
    assert later["groups"] != start["groups"], "no group's numbers changed on the page"
    assert later["agents"] != start["agents"], "no agent's state changed on the page"
    assert dashboard.seq() > start_seq
    assert dashboard.page.text_content("#last-update") != start_label
    # and what moved is still what the API says
    shown, wanted = eventually(lambda: (comparable(dashboard.read()), expected(demo)),
                               lambda pair: pair[0] == pair[1], timeout=25)
    assert shown == wanted, first_difference(shown, wanted)
    assert dashboard.errors == []


def test_tenant_and_window_choices(dashboard: Dashboard, demo: Demo) -> None:
    page = dashboard.page
    groups = demo.get("/availability/groups")["items"]
    tenant = sorted({g["tenant"] for g in groups})[-1]
    page.select_option("#tenant", tenant)
    page.click("button[data-window='1h']")
    page.wait_for_function("location.search.includes('window=1h')", timeout=2_000)
    assert f"tenant={tenant}" in page.url

    def chart_windows() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        shown: dict[str, list[str]] = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll("#charts [data-chart-group]")].map(
                 (fig) => [fig.dataset.chartGroup,
                           [...fig.querySelectorAll("[data-window-start]")].map((g) => g.dataset.windowStart)]))""")
        wanted = {}
        for key in shown:
            windows = demo.get(f"/availability/groups/{key}/windows", window="1h")["windows"]
            wanted[key] = [w["start"] for w in windows[-12:]]
        return shown, wanted

    shown, wanted = eventually(chart_windows, lambda pair: bool(pair[0]) and pair[0] == pair[1], timeout=15)
    assert shown == wanted and shown
    assert all(key.startswith(f"{tenant}:") for key in shown)
    starts = next(iter(shown.values()))
    assert len(starts) > 1 and starts[1] > starts[0]  # hopping: windows 5 minutes apart
    rows = page.eval_on_selector_all("#groups tr[data-group]", "rows => rows.map((r) => r.dataset.group)")
    assert rows == sorted(g["group"] for g in groups if g["tenant"] == tenant)
    agents = page.eval_on_selector_all("#agents [data-agent]", "tiles => tiles.map((t) => t.dataset.agent)")
    assert agents and all(agent.startswith(f"{tenant}:") for agent in agents)
    page.select_option("#tenant", "")
    page.click("button[data-window='15m']")
    page.wait_for_function("location.search === ''", timeout=2_000)
    assert dashboard.errors == []


def test_a_stale_page_says_so(dashboard: Dashboard, demo: Demo) -> None:
    page = dashboard.page
    page.wait_for_selector("body[data-status=live]", timeout=5_000)
    worker = demo.worker_pid()
    os.kill(worker, signal.SIGSTOP)  # the server stops answering; the page's connection stays open
    try:
        page.wait_for_selector("body[data-status=stale]", state="attached", timeout=9_000)
        assert "STALE" in (page.text_content("#status-text") or "")
        assert page.evaluate("getComputedStyle(document.querySelector('main')).opacity") == "0.5"
    finally:
        os.kill(worker, signal.SIGCONT)
    page.wait_for_selector("body[data-status=live]", state="attached", timeout=20_000)
    assert page.text_content("#status-text") == "live"
    assert dashboard.errors == []
