"""`coperniq-bot demo`: both alert jobs, in dry run, against the built-in Coperniq sandbox.

Needs no credentials and no `.env`: it ignores SLACK_* / COPERNIQ_* / BOT_* in the environment,
starts the sandbox in this process on 127.0.0.1 (a free port), keeps its state in a temporary
directory deleted at the end, and posts nothing anywhere.

Then the real-time path: the bot's webhook receiver and worker, the sandbox sending Coperniq's
Automation deliveries to it, and the built-in fake Slack (in this process, on 127.0.0.1) as the
channel. A project reaches its yellow SLA in the sandbox; the demo prints how long the alert took
to reach the channel and what it cost, then moves the project on and shows the alert resolved.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
            print("=" * 78)
            real_time(sandbox, Path(tmp))
        finally:
            client.close()
            store.close()
            sandbox.stop()
    return 0


def _open_form_keys(sandbox: Any, project: dict[str, Any]) -> set[str]:
    from jobs.sla.select import form_in_phase

    return {
        f"form:{f['id']}"
        for f in sandbox.find("forms", projectId=project["id"])
        if form_in_phase(f, project) and f.get("status") not in ("COMPLETED", "CANCELLED")
    }


def _item_keys(call: Any) -> set[str]:
    from jobs.blocks import ITEM_BLOCK

    blocks = call.args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {
        b["block_id"].removeprefix(ITEM_BLOCK)
        for b in blocks
        if str(b.get("block_id") or "").startswith(ITEM_BLOCK)
    }


def real_time(sandbox: Any, tmp: Path) -> bool:
    """The webhook path, end to end on loopback; prints what happened; True when it worked."""
    from bot.config import Secret
    from bot.serve import make_webhook_server
    from bot.webhooks import WebhookReceiver, WebhookWorker
    from jobs import engine
    from jobs.registry import JOBS
    from jobs.sla.select import at_risk, current_phase
    from sandbox.slack import FakeSlack
    from sandbox.wiring import SLA_CHANNEL, fake_deps

    secret = secrets.token_urlsafe(24)
    slack = FakeSlack().start()
    deps = fake_deps(
        sandbox, slack, db_path=tmp / "live.db", coperniq_webhook_secret=Secret(secret)
    )
    worker = WebhookWorker(deps).start()
    server = make_webhook_server(WebhookReceiver(deps.store, secret, worker.enqueue)).start()
    try:
        print("Real time: Coperniq webhooks -> the bot -> Slack (the built-in fake Slack).")
        first = engine.run(JOBS["form-sla"], deps, datetime.now(UTC), out=lambda s: None)
        print(f"  The hourly form-sla run posted to the SLA channel: {first.summary()}")
        sandbox.send_webhooks_to(f"{server.url}/coperniq/webhooks/{secret}")
        print(f"  The sandbox calls {server.url}/coperniq/webhooks/*** on each change.")
        risky = {int(p["id"]) for p, _ in at_risk(sandbox.all("projects"))}
        pick = None
        for p in sandbox.all("projects"):
            ph = current_phase(p) or {}
            if p.get("status") == "ACTIVE" and int(p["id"]) not in risky and ph.get("yellowSla"):
                if _open_form_keys(sandbox, p):
                    pick = p
                    break
        if pick is None:
            print("  (no project below its SLA with an open form in the sandbox: skipped)")
            return False
        ph = current_phase(pick) or {}
        keys = _open_form_keys(sandbox, pick)
        sandbox.reset_requests()
        started = time.monotonic()
        sandbox.set_phase(pick["id"], time_in_stage_days=int(ph["yellowSla"]))
        print(
            f"  Project #{pick.get('number')} {pick.get('title')!r} reaches its yellow SLA "
            f"({ph['yellowSla']} days in {ph.get('name')}) in Coperniq."
        )
        posted = slack.wait_call(
            lambda c: (
                c.method == "chat.postMessage"
                and c.args.get("channel") == SLA_CHANNEL
                and bool(keys & _item_keys(c))
            ),
            timeout=15,
        )
        took = posted.at - started
        calls = [f"{r.method} {r.path}" for r in sandbox.requests]
        print(
            f"  PROJECT_PHASE_SLA_VIOLATION -> alert in the channel {took:.2f} s later, "
            f"{len(calls)} Coperniq call(s): {', '.join(calls) or 'none'}."
        )
        text = str(posted.args.get("text") or "").splitlines()
        print(f"    {text[0] if text else ''}")
        ts = (posted.response or {}).get("ts")
        sandbox.reset_requests()
        nxt = _next_phase(pick)
        if nxt is None or ts is None:
            return True
        sandbox.set_phase(pick["id"], template_id=nxt)
        slack.wait_call(lambda c: c.method == "chat.update" and c.args.get("ts") == ts, timeout=15)
        assert sandbox.wait_webhooks_idle(15) and worker.wait_idle(15)
        print(
            "  The project moves to its next phase: PROJECT_PHASE_COMPLETED / STARTED -> the "
            f"alert is shown resolved in place (chat.update), {len(sandbox.requests)} Coperniq "
            "call(s)."
        )
        return True
    except TimeoutError:
        print("  The alert did not reach the channel within 15 s.")
        return False
    finally:
        worker.stop()
        server.close()
        slack.stop()
        deps.coperniq.close()
        deps.store.close()


def _next_phase(project: dict[str, Any]) -> int | None:
    from jobs.sla.select import current_phase
    from sandbox.coperniq import seed as seeddata

    ph = current_phase(project) or {}
    current = ph.get("templateId", ph.get("id"))
    phases = seeddata.WORKFLOWS.get(int(project.get("workflowId") or 0), ("", [], False, []))[3]
    ids = [t[0] for t in phases]
    if current not in ids or ids.index(current) + 1 >= len(ids):
        return None
    return ids[ids.index(current) + 1]
