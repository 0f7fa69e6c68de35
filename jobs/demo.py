"""`coperniq-bot demo`: both alert jobs, in dry run, against the built-in Coperniq sandbox.

Needs no credentials and no `.env`: it ignores SLACK_* / COPERNIQ_* / BOT_* in the environment,
starts the sandbox in this process on 127.0.0.1 (a free port), keeps its state in a temporary
directory deleted at the end, and posts nothing anywhere.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEMO_KEY = "demo-sandbox-key"


SHOW_LINES = 25  # the demo shows the head of each message; `jobs run --dry-run` prints it all


def _show(text: str) -> None:
    lines = text.splitlines()
    print("\n".join(lines[:SHOW_LINES]))
    if len(lines) > SHOW_LINES:
        print(f"  ... and {len(lines) - SHOW_LINES} more line(s)")


def main(args: argparse.Namespace | None = None) -> int:
    """Run the demo; 0 when both jobs ran."""
    if not getattr(args, "verbose", False):
        # The per-run summaries are printed below; the jobs' INFO logs would repeat them.
        logging.getLogger("jobs").setLevel(logging.WARNING)
    from jobs import engine
    from jobs.registry import JOBS

    # The sandbox ships only with a source checkout; bot/cli.py says so when it is missing.
    from sandbox.coperniq import CoperniqSandbox
    from sandbox.wiring import fake_deps

    with tempfile.TemporaryDirectory(prefix="coperniq-bot-demo-") as tmp:
        sandbox = CoperniqSandbox(api_key=DEMO_KEY)
        sandbox.start(host="127.0.0.1", port=0)
        deps = fake_deps(sandbox, None, db_path=Path(tmp) / "demo.db")
        settings, store, client = deps.settings, deps.store, deps.coperniq
        try:
            now = datetime.now(UTC)
            print(f"Coperniq sandbox at {sandbox.base_url} (seeded, in this process); dry run.\n")
            print("=" * 78)
            invoices, sla_job = JOBS["overdue-invoices"], JOBS["form-sla"]
            inv = engine.run(invoices, deps, now, dry_run=True, out=_show)
            print(inv.summary())
            print("=" * 78)
            sla = engine.run(sla_job, deps, now, dry_run=True, out=_show)
            print(sla.summary())
            print("=" * 78)
            # What the hourly SLA run costs once the form lists are cached.
            later = engine.run(
                sla_job, deps, now + timedelta(hours=1), dry_run=True, out=lambda s: None
            )
            again = engine.run(
                invoices, deps, now + timedelta(days=1), dry_run=True, out=lambda s: None
            )
            print("Coperniq calls:")
            print(f"  overdue-invoices, first run (full sync):        {inv.coperniq_calls}")
            print(f"  form-sla, first run:                            {sla.coperniq_calls}")
            print(f"  form-sla, an hour later (form lists cached):    {later.coperniq_calls}")
            print(f"  overdue-invoices, next day (updated_after):     {again.coperniq_calls}")
            print(
                f"  budget left for background work: {client.budget.available_for_background()} "
                f"of {settings.coperniq_daily_budget} a day "
                f"({client.budget.reserve} kept for people)"
            )
            print(
                "\nNothing was posted. Set SLACK_BOT_TOKEN, COPERNIQ_API_KEY and the alert "
                "channels, then `coperniq-bot jobs run NAME` posts for real."
            )
        finally:
            client.close()
            store.close()
            sandbox.stop()
    return 0
