"""Coperniq calls the alert jobs spend in a business day, beside a naive design.

For each size (default 2,000 active projects with 10,000 invoices, and 20,000 with 100,000),
seeds the Coperniq sandbox (about 5% of projects at or past their yellow SLA), then plays a
default weekday of schedules (`overdue-invoices` once at 08:00, `form-sla` hourly 08:00-17:00)
with the clock advanced between runs and change in between, scaled with the size (per hour and
per 2,000 projects: 3 projects move phase, 3 cross their yellow SLA, 5 forms are completed, 20
invoices are paid). Slack is the local fake. Three days are played: day 1 from an empty store
(the first full listings, every form list read once), day 2 warm (form-sla's daily full sweep at
08:00, `updated_after` listings after), and day 3 warm on the overdue-invoices job's weekly full
resync. The sandbox's date stays put (as in earlier versions of this script): projects reach
their SLA only through the churn above, so the at-risk share stays near 5% from day to day.

Polling only: the webhook path (bot/webhooks, the sandbox's sender) adds calls only for
PROJECT_PHASE_SLA_VIOLATION (a project and its form list, when a subscription could want it);
it is not played here.

The naive design reads every active project's forms on every SLA run and lists every invoice on
every invoice run: ceil(projects/100) + active projects, and ceil(invoices/100), per run.

Run: `.venv/bin/python benchmarks/bench_budget.py [projects:invoices ...]` (about ten minutes
for both default sizes on a laptop core; seeding 20,000 projects and 100,000 invoices takes one).
"""

from __future__ import annotations

import logging
import math
import random
import sys
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs import engine, state  # noqa: E402
from jobs.invoices.collect import FULL_RESYNC, FULL_SYNC_AT  # noqa: E402
from jobs.registry import JOBS  # noqa: E402
from jobs.sla import select as sla_select  # noqa: E402
from jobs.slackpost import SlackPoster  # noqa: E402
from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.wiring import fake_deps  # noqa: E402

SIZES = ((2000, 10000), (20000, 100000))
AT_RISK_SHARE = 0.05
DAILY_BUDGET = 5000
TARGET = 0.10  # issue 11: a default day at 20,000 projects under 10% of the key's 5,000
TZ = ZoneInfo("America/Chicago")
KEY = "bench-key"
SLA_HOURS = range(8, 18)  # 0 8-17 * * 1-5
INVOICE_HOUR = 8  # 0 8 * * 1-5
DAYS = (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25))  # Mon, Tue, Wed
DAY_NAMES = ("day 1 (cold store)", "day 2 (warm)", "day 3 (warm, weekly invoice resync)")


def shape(sb: CoperniqSandbox, rng: random.Random, size: int) -> None:
    """Every project ACTIVE, and about AT_RISK_SHARE of them at or past yellow."""
    for p in sb.all("projects"):
        if p.get("status") != "ACTIVE":
            sb.update("projects", p["id"], status="ACTIVE")
    projects = sb.all("projects")
    risky = [p for p, _ in sla_select.at_risk(projects)]
    target = int(size * AT_RISK_SHARE)
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


def churn(sb: CoperniqSandbox, rng: random.Random, scale: int) -> dict[str, int]:
    """What changes in Coperniq between two hourly runs (`scale` per 2,000 projects)."""
    projects = sb.all("projects")
    risky = [p for p, _ in sla_select.at_risk(projects)]
    risky_ids = {p["id"] for p in risky}
    calm = [p for p in projects if p["id"] not in risky_ids and yellow_of(p)]
    moved = rng.sample(risky, k=min(3 * scale, len(risky)))
    for p in moved:  # finished the phase: days back to 0
        sb.set_phase(p["id"], time_in_stage_days=0)
    crossed = rng.sample(calm, k=min(3 * scale, len(calm)))
    for p in crossed:  # newly at yellow
        sb.set_phase(p["id"], time_in_stage_days=yellow_of(p))
    done = 0
    for p in rng.sample(risky, k=min(5 * scale, len(risky))):
        for f in sb.find("forms", projectId=p["id"]):
            if f["status"] not in ("COMPLETED", "CANCELLED"):
                sb.update("forms", f["id"], status="COMPLETED", isCompleted=True)
                done += 1
                break
    open_invoices = [i for i in sb.find("invoices") if i["status"] in ("SENT", "OVERDUE")]
    paid = rng.sample(open_invoices, k=min(20 * scale, len(open_invoices)))
    for inv in paid:
        sb.pay_invoice(inv["id"])
    return {"moved": len(moved), "crossed": len(crossed), "forms_done": done, "paid": len(paid)}


def at_risk_keys(sb: CoperniqSandbox) -> set[tuple[int, str]]:
    return {
        (int(p["id"]), sla_select.phase_key(p)) for p, _ in sla_select.at_risk(sb.all("projects"))
    }


def play(size: int, invoices_n: int) -> dict[str, Any]:
    """Play the three days at one size; print each run; return the day totals."""
    rng = random.Random(388)
    scale = max(1, size // 2000)
    out: dict[str, Any] = {"size": size, "invoices": invoices_n, "days": []}
    with tempfile.TemporaryDirectory() as tmp:
        sb = CoperniqSandbox(
            api_key=KEY, projects=size, invoices=invoices_n, daily_budget=10**6
        ).start()
        fs = FakeSlack().start()
        try:
            shape(sb, rng, size)
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
            print(
                f"\n=== {size:,} projects ({active:,} active, {len(at_risk_keys(sb)):,} at or past "
                f"yellow), {invoices:,} invoices; churn per hour: {3 * scale} phase moves, "
                f"{3 * scale} newly at yellow, {5 * scale} forms completed, {20 * scale} paid"
            )
            naive_sla = math.ceil(size / 100) + active
            naive_inv = math.ceil(invoices / 100)
            seen: set[tuple[int, str]] = set()
            for day_no, day in enumerate(DAYS, 1):
                if day_no == 3:
                    # The weekly resync is due today (as if day 1 were a week ago).
                    last = datetime.combine(DAYS[0], time(8), tzinfo=TZ) - FULL_RESYNC
                    state.sync_set(store.db, FULL_SYNC_AT, last.isoformat(), last)
                print(f"\n {DAY_NAMES[day_no - 1]}:")
                print(
                    f"  {'run':<24}{'calls':>6}{'newly at risk':>15}{'posted':>8}"
                    f"{'resolved':>10}{'naive':>7}"
                )
                totals = {"overdue-invoices": 0, "form-sla": 0, "sla_runs": []}
                for hour in SLA_HOURS:
                    at = datetime.combine(day, time(hour, 0), tzinfo=TZ)
                    if hour == INVOICE_HOUR:
                        r = engine.run(JOBS["overdue-invoices"], deps, at, poster=poster)
                        totals["overdue-invoices"] += r.coperniq_calls
                        print(
                            f"  {'overdue-invoices ' + at.strftime('%H:%M'):<24}"
                            f"{r.coperniq_calls:>6}{'':>15}{r.posted:>8}{r.resolved:>10}"
                            f"{naive_inv:>7}"
                        )
                    now_risky = at_risk_keys(sb)
                    newly = len(now_risky - seen)
                    seen = now_risky
                    r = engine.run(JOBS["form-sla"], deps, at, poster=poster)
                    totals["form-sla"] += r.coperniq_calls
                    totals["sla_runs"].append(r.coperniq_calls)
                    print(
                        f"  {'form-sla ' + at.strftime('%H:%M'):<24}{r.coperniq_calls:>6}"
                        f"{newly:>15}{r.posted:>8}{r.resolved:>10}{naive_sla:>7}"
                    )
                    churn(sb, rng, scale)
                total = totals["overdue-invoices"] + totals["form-sla"]
                naive_day = naive_inv + len(SLA_HOURS) * naive_sla
                print(
                    f"  day total: {total:,} calls = {total / DAILY_BUDGET:.1%} of {DAILY_BUDGET:,}"
                    f" (form-sla {totals['form-sla']:,}, overdue-invoices "
                    f"{totals['overdue-invoices']:,}); naive: {naive_day:,} = "
                    f"{naive_day / DAILY_BUDGET:.0%}"
                )
                out["days"].append({**totals, "total": total, "naive": naive_day})
            print(f"  Ledger (api_calls, 24 h): {client.budget.used():,} requests.")
            client.close()
            store.close()
        finally:
            fs.stop()
            sb.stop()
    return out


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    sizes = [tuple(int(n) for n in a.split(":")) for a in argv] or list(SIZES)
    print(
        f"Daily budget {DAILY_BUDGET:,} ({int(DAILY_BUDGET * 0.8):,} for background work); "
        "default schedules; polling only (no webhooks)."
    )
    results = [play(size, n) for size, n in sizes]
    print("\nSummary (Coperniq calls; form-sla runs: first, then the range of the others):")
    print(
        f"  {'projects / invoices':<22}{'day':<38}{'form-sla runs':>18}{'invoices':>10}{'day':>8}"
    )
    worst = 0.0
    for res in results:
        for name, d in zip(DAY_NAMES, res["days"], strict=True):
            runs = d["sla_runs"]
            span = f"{runs[0]}; {min(runs[1:])}-{max(runs[1:])}"
            print(
                f"  {res['size']:>7,} / {res['invoices']:<10,}  {name:<38}{span:>18}"
                f"{d['overdue-invoices']:>10,}{d['total']:>8,}  = {d['total'] / DAILY_BUDGET:.1%}"
            )
        if res["size"] >= 20000:
            worst = max(worst, res["days"][1]["total"] / DAILY_BUDGET)
    print(f"\nTarget: a warm day at 20,000 projects under {TARGET:.0%} of {DAILY_BUDGET:,}.")
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
