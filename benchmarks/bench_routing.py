"""What routing costs: a simulated week with filtered channels and personal notifications.

Plays one business week (Mon-Fri; `overdue-invoices` at 08:00, `form-sla` hourly 08:00-17:00,
the morning summary at 07:00, the DM outbox flushed after each hour) on a 2,000-project sandbox
with churn between runs (bench_budget's: projects change phase, cross their SLA, forms are
completed, invoices paid), twice from the same seed:

  one channel   the environment's unfiltered channels only (one for SLA alerts, one for invoices)
  routed        the same two, plus four filtered channels (#solar-ops `workflow:`, #hvac-dispatch
                `trade:HVAC`, #red-alerts `level:red`, #ar-escalations `min:5000 days:30`) and
                20 linked people with every personal notification on

It prints Slack messages per channel per day (thread replies and DMs count as messages) and
Coperniq calls per day for both; routing must not add a Coperniq call: one fetch feeds every
channel and every person.

Run: `.venv/bin/python benchmarks/bench_routing.py` (ten minutes or so on a laptop core).
"""

from __future__ import annotations

import json
import logging
import random
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_budget import churn, shape  # noqa: E402

from bot.store import iso  # noqa: E402
from jobs import engine, personal  # noqa: E402
from jobs.registry import JOBS  # noqa: E402
from jobs.slackpost import SlackPoster  # noqa: E402
from jobs.subscriptions import INVOICES, SLA, subscribe  # noqa: E402
from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.wiring import INVOICE_CHANNEL, SLA_CHANNEL, fake_deps  # noqa: E402

PROJECTS = 2000
INVOICE_COUNT = 4000
TZ = ZoneInfo("America/Chicago")
KEY = "bench-key"
MONDAY = date(2026, 11, 23)
SLA_HOURS = range(8, 18)
PEOPLE = 20
FILTERED = {
    "C0SOLAROPS": (SLA, {"workflow": ["Residential Solar Install"]}),
    "C0HVACDISP": (SLA, {"trade": ["HVAC"]}),
    "C0REDALERT": (SLA, {"level": ["red"]}),
    "C0ARESCALA": (INVOICES, {"min": ["5000"], "days": ["30"]}),
}
NAMES = {
    SLA_CHANNEL: "#sla-alerts (env)",
    INVOICE_CHANNEL: "#invoices (env)",
    "C0SOLAROPS": "#solar-ops",
    "C0HVACDISP": "#hvac-dispatch",
    "C0REDALERT": "#red-alerts",
    "C0ARESCALA": "#ar-escalations",
}


def people(sb: CoperniqSandbox, rng: random.Random) -> list[int]:
    """Twenty Coperniq users (the seed has twelve), with the open forms shared among them."""
    users = [u["id"] for u in sb.all("users")]
    for n in range(len(users), PEOPLE):
        uid = 1001 + n
        sb.put(
            "users",
            {
                "id": uid,
                "firstName": f"Tech{n}",
                "lastName": "Bench",
                "email": f"tech{n}.bench@sunbelt.example.com",
                "phone": None,
                "role": {"id": "3", "name": "Field Technician"},
            },
        )
        users.append(uid)
    users = users[:PEOPLE]
    summary = {
        u["id"]: {k: u[k] for k in ("id", "firstName", "lastName", "email")}
        for u in sb.all("users")
    }
    for form in sb.all("forms"):
        if form.get("status") not in ("COMPLETED", "CANCELLED"):
            sb.update("forms", form["id"], assignee=summary[rng.choice(users)])
    return users


def opt_in(deps: Any, users: list[int], now: datetime) -> list[str]:
    """Link a Slack user to each Coperniq user (as an admin's link) and turn everything on."""
    from bot.people import refresh_directory

    db = deps.store.db
    # The directory (names, roles) as a first `whoami` or link would have read it: one call,
    # before the week is measured.
    refresh_directory(db, deps.coperniq.interactive, now)
    slack_users = []
    for i, uid in enumerate(users, 1):
        slack_user = f"U0PERSON{i:02d}"
        slack_users.append(slack_user)
        db["slack_links"].upsert(
            {
                "slack_user": slack_user,
                "coperniq_user_id": uid,
                "linked_by": "U0ADMIN",
                "linked_at": iso(now),
            },
            pk="slack_user",
            alter=True,
        )
        db["notify_prefs"].upsert(
            {
                "slack_user": slack_user,
                "coperniq_user_id": uid,
                "forms": 1,
                "morning": 1,
                "invoices": 1,
                "clients": "[]",
                "updated_at": iso(now),
            },
            pk="slack_user",
        )
    return slack_users


def play(mode: str, tmp: Path) -> dict[str, Any]:
    rng = random.Random(388)
    sb = CoperniqSandbox(
        api_key=KEY, projects=PROJECTS, invoices=INVOICE_COUNT, daily_budget=10**6
    ).start()
    fs = FakeSlack().start()
    out: dict[str, Any] = {"calls": [], "messages": [], "dms": []}
    try:
        shape(sb, rng)
        users = people(sb, rng)
        deps = fake_deps(
            sb,
            fs,
            db_path=tmp / f"{mode}.db",
            coperniq_daily_budget=5000,
            slack_retries=False,
            payment_roles=("Admin", "Office Staff"),
        )
        start = datetime.combine(MONDAY, time(6, 0), tzinfo=TZ)
        dm_channels: set[str] = set()
        if mode == "routed":
            for channel, (job, filters) in FILTERED.items():
                subscribe(deps.store.db, channel, job, filters, by="U0ADMIN", now=start)
            opt_in(deps, users, start)
        poster = SlackPoster(deps.slack, sleep=lambda s: None)
        for day_no in range(5):
            day = MONDAY + timedelta(days=day_no)
            before_requests = len(sb.requests)
            before_posts = len(fs.calls_to("chat.postMessage"))
            calls = 0
            if mode == "routed":
                at = datetime.combine(day, time(7, 0), tzinfo=TZ)
                personal.morning_summary(deps, at)
                personal.flush_outbox(deps, at)
            for hour in SLA_HOURS:
                at = datetime.combine(day, time(hour, 0), tzinfo=TZ)
                if hour == 8:
                    calls += engine.run(
                        JOBS["overdue-invoices"], deps, at, poster=poster, out=lambda s: None
                    ).coperniq_calls
                calls += engine.run(
                    JOBS["form-sla"], deps, at, poster=poster, out=lambda s: None
                ).coperniq_calls
                if mode == "routed":
                    personal.flush_outbox(deps, at + timedelta(minutes=5))
                churn(sb, rng)
            posts = fs.calls_to("chat.postMessage")[before_posts:]
            per_channel = Counter(str(p.get("channel")) for p in posts)
            dms = {c: n for c, n in per_channel.items() if c.startswith("U")}
            dm_channels |= set(dms)
            out["calls"].append((calls, len(sb.requests) - before_requests))
            out["messages"].append({c: n for c, n in per_channel.items() if c not in dms})
            out["dms"].append((sum(dms.values()), len(dms)))
            out["uploads"] = len(fs.uploaded())
        out["people_told"] = len(dm_channels)
        deps.coperniq.close()
        deps.store.close()
    finally:
        fs.stop()
        sb.stop()
    return out


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        one = play("one", Path(tmp))
        routed = play("routed", Path(tmp))
    days = [(MONDAY + timedelta(days=d)).strftime("%a") for d in range(5)]
    print(
        f"A week on {PROJECTS} projects and {INVOICE_COUNT} invoices: form-sla hourly 08-17, "
        "overdue-invoices at 08:00, morning summary at 07:00 (routed only).\n"
    )
    print("Coperniq calls per day (runs' own count / requests the sandbox saw):")
    print(f"  {'':<28}" + "".join(f"{d:>14}" for d in days) + f"{'week':>10}")
    for name, res in (("one unfiltered channel", one), ("4 filtered + 20 people", routed)):
        cells = "".join(f"{c:>7}/{s:<6}" for c, s in res["calls"])
        print(f"  {name:<28}{cells}{sum(s for _, s in res['calls']):>10}")
    grow = sum(s for _, s in routed["calls"]) - sum(s for _, s in one["calls"])
    print(f"  Coperniq calls added by routing over the week: {grow}\n")
    print("Slack messages per channel per day (routed; main messages + thread replies):")
    print(f"  {'':<28}" + "".join(f"{d:>8}" for d in days) + f"{'week':>8}")
    channels = [SLA_CHANNEL, INVOICE_CHANNEL, *FILTERED]
    for channel in channels:
        counts = [m.get(channel, 0) for m in routed["messages"]]
        print(f"  {NAMES[channel]:<28}" + "".join(f"{n:>8}" for n in counts) + f"{sum(counts):>8}")
    counts = [n for n, _ in routed["dms"]]
    print(
        f"  {'DMs to 20 people':<28}" + "".join(f"{n:>8}" for n in counts) + f"{sum(counts):>8}"
        f"   ({routed['people_told']} people told at least once)"
    )
    base = [m.get(SLA_CHANNEL, 0) for m in one["messages"]]
    print(
        f"  {'one channel: #sla-alerts':<28}" + "".join(f"{n:>8}" for n in base) + f"{sum(base):>8}"
    )
    print(json.dumps({"coperniq_calls_added_by_routing": grow}))
    return 0 if grow <= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
