"""``python -m bench [--quick] [--out bench/RESULTS.md]``: every benchmark in one run, then RESULTS.md.

One embedded broker (or KAFKA_BOOTSTRAP_SERVERS) for the whole run; the connector, simulators
and processors workers are subprocesses of this one, so it is one process tree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import broker
from bench.connector_bench import ConnectorFigures, idle_bench, scale_bench
from bench.freshness import FreshnessFigures, freshness_bench
from bench.processors_bench import ProcessorFigures, throughput_and_memory
from bench.profiles import profile_source_pipeline
from bench.report import Report, write_report
from bench.source_bench import run_source_bench

__all__ = ["PLANS", "main", "run"]

#: Run lengths: the full plan fits `make bench` in under 10 minutes on the 2-core machine.
PLANS: dict[str, dict[str, Any]] = {
    "full": {"repeats": 5, "agents": 200, "hours": 2.0, "idle_sources": 100, "idle_windows": 3,
             "idle_window": 8.0, "scale_agents": 200, "scale_points": (1, 10, 100), "scale_run": 15.0,
             "scale_windows": 3, "proc_repeats": 3, "proc_steps": (100, 2000, 20000), "proc_per_agent": 1,
             "proc_profile_steps": (100, 5100), "fresh_duration": 50.0, "fresh_agents": 120},
    "quick": {"repeats": 2, "agents": 40, "hours": 1.0, "idle_sources": 20, "idle_windows": 2,
              "idle_window": 3.0, "scale_agents": 10, "scale_points": (1, 10), "scale_run": 6.0,
              "scale_windows": 2, "proc_repeats": 1, "proc_steps": (100, 400), "proc_per_agent": 1,
              "proc_profile_steps": (100, 600), "fresh_duration": 15.0, "fresh_agents": 100},
}
SECTIONS = ("source", "idle", "scale", "processors", "freshness")
#: ``--only connector`` (the connector process as a whole) means both of its sections.
ALIASES = {"connector": ("idle", "scale")}


def run(plan: dict[str, Any], workdir: Path, sections: tuple[str, ...] = SECTIONS,
        log: Callable[[str], None] = print) -> Report:
    """Every chosen section against one broker; a failing section is reported, never hidden."""
    report = Report(plan=plan)
    started = time.monotonic()
    with broker(workdir) as bootstrap:
        report.bootstrap = bootstrap

        def section(name: str, body: Callable[[], None]) -> None:
            if name not in sections:
                report.skipped.append(name)
                return
            t0 = time.monotonic()
            log(f"[bench] {name} ...")
            try:
                body()
            except Exception as exc:  # one broken section must not hide the others' figures
                report.failures[name] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
            report.durations[name] = time.monotonic() - t0
            log(f"[bench] {name} done in {report.durations[name]:.0f} s")

        def source() -> None:
            report.source = asyncio.run(run_source_bench(bootstrap, repeats=plan["repeats"], agents=plan["agents"],
                                                         hours=plan["hours"]))
            report.source_profile = asyncio.run(profile_source_pipeline(bootstrap, report.source.recordings))

        def idle() -> None:
            report.connector = report.connector or ConnectorFigures()
            idle_bench(bootstrap, workdir, sources=plan["idle_sources"], windows=plan["idle_windows"],
                       window=plan["idle_window"], figures=report.connector)

        def scale() -> None:
            report.connector = report.connector or ConnectorFigures()
            scale_bench(bootstrap, workdir, agents_per_tenant=plan["scale_agents"], points=plan["scale_points"],
                        run_for=plan["scale_run"], windows=plan["scale_windows"], figures=report.connector)

        def processors() -> None:
            report.processors = ProcessorFigures()
            asyncio.run(throughput_and_memory(bootstrap, workdir, repeats=plan["proc_repeats"],
                                              agent_steps=plan["proc_steps"], per_agent=plan["proc_per_agent"],
                                              figures=report.processors))
            profile = workdir / "processors-profile.txt"
            asyncio.run(throughput_and_memory(bootstrap, workdir, repeats=1, agent_steps=plan["proc_profile_steps"],
                                              per_agent=1, figures=ProcessorFigures(), profile_to=profile))
            report.processors_profile = profile.read_text() if profile.exists() else ""

        def freshness() -> None:
            report.freshness = FreshnessFigures()
            asyncio.run(freshness_bench(bootstrap, workdir, duration=plan["fresh_duration"],
                                        agents=plan["fresh_agents"], figures=report.freshness))

        section("source", source)
        section("idle", idle)
        section("scale", scale)
        section("processors", processors)
        section("freshness", freshness)
    report.total_seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test of the harness (~2 min)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the report (default: bench/RESULTS.md; --quick: the work dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure as JSON here")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {SECTIONS} (connector = idle,scale)")
    parser.add_argument("--workdir", type=Path, default=None, help="logs and configs (default: a temp dir)")
    args = parser.parse_args(argv)
    plan = PLANS["quick" if args.quick else "full"]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    sections = tuple(part for name in chosen for part in ALIASES.get(name, (name,)))
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)} "
                     f"(or connector = idle,scale)")
    report = run(plan, workdir, sections)
    out = args.out or (workdir / "RESULTS.md" if args.quick else Path(__file__).parent / "RESULTS.md")
    write_report(report, out, quick=args.quick)
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    print(f"[bench] wrote {out} in {report.total_seconds:.0f} s (logs: {workdir})")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
