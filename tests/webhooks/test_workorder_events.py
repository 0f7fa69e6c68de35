"""Work-order webhooks end to end: a status changed in Coperniq reaches the technician's card.

The sandbox sends TASK_STATUS_MOVEMENT (and TASK_COMPLETED) over HTTP to the bot's receiver, as a
Coperniq Automation does; the worker updates the card posted that morning, in place.
"""

from __future__ import annotations

import json
from dataclasses import replace
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.deps import Deps
from jobs.slackpost import SlackPoster
from jobs.workorders import job
from tests.slack.test_workorder_cards import give_work, local
from tests.webhooks.conftest import build_hooked

CHICAGO = ZoneInfo("America/Chicago")
WO = 990001  # give_work's 14:00 work order, on project 40001


def _deps(hooked) -> Deps:
    fs = hooked.slack.fake_slack
    return Deps(
        settings=replace(hooked.slack.settings, timezone=CHICAGO, quiet_hours=(19, 7)),
        store=hooked.slack.store,
        coperniq=hooked.slack.coperniq,
        slack=WebClient(token=fs.bot_token, base_url=fs.base_url),
    )


def test_a_status_changed_in_coperniq_updates_the_card_through_the_receiver(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        deps = _deps(hooked)
        give_work(hooked.slack, deps, 2)
        assert deps.slack is not None
        job.morning(deps, local(2, 7), SlackPoster(deps.slack, min_interval=0))
        channel, ts = deps.store.db.execute(
            "select channel, ts from wo_cards where work_order_id = ?", [WO]
        ).fetchone()
        # Coperniq sends each delivery twice now and then: every one is, here.
        coperniq_sandbox.send_webhooks_to(hooked.url, duplicate=True)
        # Someone moves the work order in Coperniq (the sandbox's API, as its web app would).
        deps.coperniq.interactive.work_orders.update("project", 40001, WO, {"status": "WORKING"})
        coperniq_sandbox.reset_requests()
        fake_slack.wait_call(
            lambda c: c.method == "chat.update" and c.args.get("ts") == ts, timeout=10
        )
        hooked.settle()
        [card] = [m for m in fake_slack.messages(channel) if m["ts"] == ts]
        assert "Working" in card["text"]
        assert "✓ Working" in json.dumps(card["blocks"], ensure_ascii=False)
        # The delivery carried the work order: no Coperniq call, and one row per event id.
        assert coperniq_sandbox.requests == []
        rows = [r for r in hooked.rows() if r["work_order_id"] == WO]
        assert rows and {r["status"] for r in rows} == {"done"}
        assert len({r["event_id"] for r in rows}) == len(rows)
        updates = [c for c in fake_slack.calls_to("chat.update") if c.get("ts") == ts]

        # Done in Coperniq: TASK_STATUS_MOVEMENT and TASK_COMPLETED; the card shows it done.
        deps.coperniq.interactive.work_orders.update("project", 40001, WO, {"status": "COMPLETED"})
        hooked.settle()
        [card] = [m for m in fake_slack.messages(channel) if m["ts"] == ts]
        assert "✓ Done" in json.dumps(card["blocks"], ensure_ascii=False)
        assert len([c for c in fake_slack.calls_to("chat.update") if c.get("ts") == ts]) > len(
            updates
        )
    finally:
        close()
