"""Coperniq calls the alert jobs spend in a business day, beside a naive design.

Seeds the Coperniq sandbox with 2,000 active projects (about 5% at or past their yellow SLA) and
10,000 invoices, then plays a default weekday of schedules (`overdue-invoices` once at 08:00,
`form-sla` hourly 08:00-17:00) with the clock advanced between runs and some change in between:
projects move phase, others cross their yellow SLA, forms are completed, invoices are paid. Slack is
the local fake. Two days are played: the first from an empty store (the full invoice sync and every
form list are read once), the second warm.

The naive design reads every active project's forms on every SLA run and lists every invoice on
every invoice run: ceil(projects/100) + active projects, and ceil(invoices/100), per run.

Run: `.venv/bin/python benchmarks/bench_budget.py` (two to three minutes on a laptop core).
"""

from __future__ import annotations

import logging
import math
import random
import sys
import tempfile
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs import engine  # noqa: E402
from jobs.registry import JOBS  # noqa: E402
from jobs.sla import select as sla_select  # noqa: E402
from jobs.sla.collect import REFRESH_PER_RUN  # noqa: E402
from jobs.slackpost import SlackPoster  # noqa: E402
from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.wiring import fake_deps  # noqa: E402

PROJECTS = 2000
INVOICES = 10000
AT_RISK_SHARE = 0.05
DAILY_BUDGET = 5000
TZ = ZoneInfo("America/Chicago")
KEY = "bench-key"
SLA_HOURS = range(8, 18)  # 0 8-17 * * 1-5
INVOICE_HOUR = 8  # 0 8 * * 1-5


def shape(sb: CoperniqSandbox, rng: random.Random) -> None:
    """Every project ACTIVE, and about AT_RISK_SHARE of them at or past yellow."""
    for p in sb.all("projects"):
        if p.get("status") != "ACTIVE":
            sb.update("projects", p["id"], status="ACTIVE")
    projects = sb.all("projects")
    risky = [p for p, _ in sla_select.at_risk(projects)]
    target = int(PROJECTS * AT_RISK_SHARE)
    rng.shuffle(risky)
    for p in risky[target:]:
        sb.set_phase(p["id"], time_in_stage_days=0)
    if len(risky) < target:
        calm = [p for p in projects if p["id"] not in {r["id"] for r in risky} and yellow_of(p)]
        for p in calm[: target - len(risky)]:
            sb.set_phase(p["id"], time_in_stage_days=yellow_of(p))


def yellow_of(p: dict[str, Any]) -> int | None:
    ph = sla_select.current_phase(p) or {}
    return ph.get("yellowSla") or None


def churn(sb: CoperniqSandbox, rng: random.Random) -> dict[str, int]:
    """What changes in Coperniq between two hourly runs."""
    projects = sb.all("projects")
    risky = [p for p, _ in sla_select.at_risk(projects)]
    calm = [p for p in projects if p not in risky and yellow_of(p)]
    moved = rng.sample(risky, k=min(3, len(risky)))
    for p in moved:  # finished the phase: days back to 0
        sb.set_phase(p["id"], time_in_stage_days=0)
    crossed = rng.sample(calm, k=min(3, len(calm)))
    for p in crossed:  # newly at yellow
        sb.set_phase(p["id"], time_in_stage_days=yellow_of(p))
    done = 0
    for p in rng.sample(risky, k=min(5, len(risky))):
        for f in sb.find("forms", projectId=p["id"]):
            if f["status"] not in ("COMPLETED", "CANCELLED"):
                sb.update("forms", f["id"], status="COMPLETED", isCompleted=True)
                done += 1
                break
    open_invoices = [i for i in sb.find("invoices") if i["status"] in ("SENT", "OVERDUE")]
    paid = rng.sample(open_invoices, k=min(20, len(open_invoices)))
    for inv in paid:
        sb.pay_invoice(inv["id"])
    return {"moved": len(moved), "crossed": len(crossed), "forms_done": done, "paid": len(paid)}


def at_risk_keys(sb: CoperniqSandbox) -> set[tuple[int, str]]:
    return {
        (int(p["id"]), sla_select.phase_key(p)) for p, _ in sla_select.at_risk(sb.all("projects"))
    }


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(388)
    with tempfile.TemporaryDirectory() as tmp:
        sb = CoperniqSandbox(
            api_key=KEY, projects=PROJECTS, invoices=INVOICES, daily_budget=10**6
        ).start()
        fs = FakeSlack().start()
        try:
            shape(sb, rng)
            # The poster handles `ratelimited` itself (and sleeps nothing here).
            deps = fake_deps(
                sb,
                fs,
                db_path=Path(tmp) / "bench.db",
                coperniq_daily_budget=DAILY_BUDGET,
                slack_retries=False,
            )
            client, store, slack = deps.coperniq, deps.store, deps.slack
            poster = SlackPoster(slack, sleep=lambda s: None)
            active = sum(1 for p in sb.all("projects") if p.get("status") == "ACTIVE")
            invoices = len(sb.find("invoices"))
            pages = math.ceil(PROJECTS / 100)
            print(
                f"Sandbox: {PROJECTS} projects ({active} active, {len(at_risk_keys(sb))} at or "
                f"past yellow), {invoices} invoices; daily budget {DAILY_BUDGET} "
                f"({int(DAILY_BUDGET * 0.8)} for background work)."
            )
            naive_sla = pages + active
            naive_inv = math.ceil(invoices / 100)
            day_totals = []
            seen: set[tuple[int, str]] = set()
            for day_no, day in enumerate(
                (datetime(2026, 11, 23).date(), datetime(2026, 11, 24).date()), 1
            ):
                print(f"\nDay {day_no} ({'cold store' if day_no == 1 else 'warm'}):")
                print(
                    f"  {'run':<24}{'calls':>6}{'bound':>7}{'newly at risk':>15}{'posted':>8}"
                    f"{'resolved':>10}{'naive':>7}"
                )
                total = 0
                for hour in SLA_HOURS:
                    at = datetime.combine(day, time(hour, 0), tzinfo=TZ)
                    if hour == INVOICE_HOUR:
                        r = engine.run(JOBS["overdue-invoices"], deps, at, poster=poster)
                        total += r.coperniq_calls
                        print(
                            f"  {'overdue-invoices ' + at.strftime('%H:%M'):<24}"
                            f"{r.coperniq_calls:>6}{'':>7}{'':>15}{r.posted:>8}{r.resolved:>10}"
                            f"{naive_inv:>7}"
                        )
                    now_risky = at_risk_keys(sb)
                    newly = len(now_risky - seen)
                    seen = now_risky
                    r = engine.run(JOBS["form-sla"], deps, at, poster=poster)
                    total += r.coperniq_calls
                    bound = pages + 1 + newly + REFRESH_PER_RUN
                    flag = "" if r.coperniq_calls <= bound else "  OVER"
                    print(
                        f"  {'form-sla ' + at.strftime('%H:%M'):<24}{r.coperniq_calls:>6}"
                        f"{bound:>7}{newly:>15}{r.posted:>8}{r.resolved:>10}{naive_sla:>7}{flag}"
                    )
                    churn(sb, rng)
                naive_day = naive_inv + len(SLA_HOURS) * naive_sla
                day_totals.append(total)
                print(
                    f"  day total: {total} calls = {total / DAILY_BUDGET:.1%} of {DAILY_BUDGET} "
                    f"(target < 20%); naive: {naive_day} = {naive_day / DAILY_BUDGET:.0%}"
                )
            print(
                "\nbound = ceil(projects/100) + 1 (a last, empty page) + projects newly at or "
                f"past yellow + {REFRESH_PER_RUN} stale form lists re-read a run."
            )
            print(f"Ledger (api_calls, 24 h): {client.budget.used()} requests.")
            client.close()
            store.close()
        finally:
            fs.stop()
            sb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
