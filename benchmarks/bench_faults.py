"""Fault injection across every Slack-initiated write and both digests: lost and duplicated work.

Runs each scenario of sandbox/scenarios/ (the table tests/faults/ runs too) against a fresh
Coperniq sandbox and fake Slack on 127.0.0.1: the real app served over HTTP for the modals,
shortcut and DM, the job runs for the digests. Prints one line per scenario and then

    N scenarios, L lost, D duplicates

where a scenario that raised or did not finish within --bound seconds counts as one lost.
Nothing leaves loopback. Prints figures; asserts nothing.

    python benchmarks/bench_faults.py [-k substring] [--bound 90]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.scenarios import (  # noqa: E402
    SCENARIOS,
    JobWorld,
    Outcome,
    Scenario,
    start_job_sandbox,
)
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.wiring import SANDBOX_KEY, running_harness  # noqa: E402


def play(scenario: Scenario, tmp: Path) -> tuple[Outcome, list[str]]:
    """Run one scenario on fresh fakes; the outcome and any spec violations the sandbox saw."""
    fs = FakeSlack().start()
    if scenario.kind == "job":
        sb = start_job_sandbox()
    else:
        sb = CoperniqSandbox(api_key=SANDBOX_KEY, projects=60, validate=True).start()
    try:
        if scenario.kind == "job":
            out = scenario.play(JobWorld(sb=sb, fs=fs, path=tmp / "bot.db"))
        else:
            with running_harness(fs, sb, tmp, listener_threads=16) as slack:
                out = scenario.play(slack)
    finally:
        sb.close()
        fs.stop()
    return out, sb.conformance_errors


def bounded(scenario: Scenario, bound: float) -> tuple[Outcome, list[str], float]:
    """play() in a thread, at most `bound` seconds; a failure to finish is one lost."""
    box: dict[str, Any] = {}

    def go() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
            try:
                box["result"] = play(scenario, Path(tmp))
            except Exception as exc:  # a scenario that breaks is reported, not hidden
                box["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=go, name=scenario.id, daemon=True)
    worker.start()
    worker.join(bound)
    took = time.monotonic() - started
    if worker.is_alive():
        return Outcome(lost=1, notes=[f"did not finish within {bound:g} s"]), [], took
    if "error" in box:
        exc = box["error"]
        return Outcome(lost=1, notes=[f"raised {type(exc).__name__}: {exc}"]), [], took
    out, violations = box["result"]
    return out, violations, took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only scenarios whose name contains this")
    parser.add_argument("--bound", type=float, default=90.0, help="seconds per scenario at most")
    args = parser.parse_args(argv)
    # The app logs every injected failure at WARNING; the figures are the point here.
    logging.basicConfig(level=logging.CRITICAL)
    chosen = [s for s in SCENARIOS if args.k.lower() in s.name.lower()]
    lost = duplicates = 0
    started = time.monotonic()
    for scenario in chosen:
        out, violations, took = bounded(scenario, args.bound)
        lost += out.lost
        duplicates += out.duplicates
        verdict = "ok  " if (out.lost, out.duplicates) == (0, 0) else "FAIL"
        notes = "; ".join(out.notes + [f"{len(violations)} spec violation(s)"] * bool(violations))
        print(
            f"{verdict} {scenario.name:<62} lost {out.lost}, duplicates {out.duplicates}"
            f"  ({took:4.1f} s){'  ' + notes if notes else ''}",
            flush=True,
        )
    print(f"({time.monotonic() - started:.0f} s in all)")
    print(f"{len(chosen)} scenarios, {lost} lost, {duplicates} duplicates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
