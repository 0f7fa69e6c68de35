"""Phase webhooks end to end: the sandbox fires them, the bot alerts or resolves in Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from jobs import state
from jobs.blocks import ITEM_BLOCK
from jobs.sla.collect import keep_projects
from jobs.subscriptions import SLA, subscribe
from sandbox.wiring import SLA_CHANNEL
from tests.slack.alerting import run_digest
from tests.webhooks.conftest import Hooked, build_hooked, event_body

JOB = "form-sla"
PID = 40003  # Residential Solar Install, Inspection (yellow 7 days, red 14), one open form in phase
NEXT_PHASE = "Permission to Operate"


def _form_keys(hooked: Hooked, project_id: int) -> set[str]:
    """The form keys of the project's forms in its current phase (as the sandbox has them)."""
    from jobs.sla.select import form_in_phase

    sb = hooked.slack.sandbox
    project = sb.get("projects", project_id)
    return {
        f"form:{f['id']}"
        for f in sb.find("forms", projectId=project_id)
        if form_in_phase(f, project) and f.get("status") not in ("COMPLETED", "CANCELLED")
    }


def _posted_keys(hooked: Hooked) -> list[str]:
    """Every item key posted to the SLA channel, once per chat.postMessage listing it."""
    keys = []
    for call in hooked.slack.fake_slack.calls_to("chat.postMessage"):
        if call.get("channel") != SLA_CHANNEL:
            continue
        blocks = call.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for block in blocks:
            bid = block.get("block_id") or ""
            if bid.startswith(ITEM_BLOCK):
                keys.append(bid.removeprefix(ITEM_BLOCK))
    return keys


def _announced(hooked: Hooked) -> dict[str, str]:
    """Open alert rows in the SLA channel: item key -> message ts."""
    return {
        k: r.message_ts
        for k, r in state.load_alerts(hooked.db, JOB, SLA_CHANNEL).items()
        if r.open and r.message_ts
    }


def test_a_violation_for_a_project_no_subscription_could_want_costs_no_coperniq_call(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    # No environment channel; one channel subscribed to HVAC only; nobody has form DMs on.
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path, sla_alert_channel=None)
    try:
        now = datetime.now(UTC)
        subscribe(hooked.db, "C0HVAC", SLA, {"trade": ["HVAC"]}, by="U0ADMIN", now=now)
        keep_projects(hooked.db, [coperniq_sandbox.get("projects", PID)], now, complete=False)
        coperniq_sandbox.reset_requests()
        body = event_body(
            "PROJECT_PHASE_SLA_VIOLATION", PID, slaType="YELLOW", phaseTemplateId=5106
        )
        assert hooked.post(body).status_code == 200
        assert hooked.worker.wait_idle(10)
        [row] = hooked.rows()
        assert row["status"] == "done"
        assert "no Coperniq call" in row["outcome"]
        assert coperniq_sandbox.requests == []
        # A project the store has never seen could be anyone's: that one is read.
        other = event_body("PROJECT_PHASE_SLA_VIOLATION", 40060, slaType="RED")
        assert hooked.post(other).status_code == 200
        assert hooked.worker.wait_idle(10)
        assert {r.path for r in coperniq_sandbox.requests} == {
            "/projects/40060",
            "/projects/40060/forms",
        }
    finally:
        close()


def test_the_sandbox_violation_alerts_the_channel_once_and_the_next_run_does_not_repeat_it(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        sb = coperniq_sandbox
        # Coperniq sends some deliveries twice: every one here is.
        sb.send_webhooks_to(hooked.url, duplicate=True)
        expected = _form_keys(hooked, PID)
        assert expected, "the seeded project has an open form in its phase"
        sb.reset_requests()
        sb.set_phase(PID, time_in_stage_days=8)  # past yellow (7): Coperniq fires the violation
        hooked.slack.wait_until(lambda: expected <= set(_announced(hooked)), timeout=10)
        hooked.settle()
        violations = [
            d for d in sb.webhook_deliveries if d.body["event"]["triggerKey"].endswith("VIOLATION")
        ]
        assert len(violations) == 2 and {d.status for d in violations} == {200}
        assert sorted(_posted_keys(hooked)) == sorted(expected)  # once each, in one message
        # One read of the project and one of its forms, for two deliveries.
        assert sorted(r.path for r in sb.requests) == [f"/projects/{PID}", f"/projects/{PID}/forms"]
        [row] = hooked.rows()
        assert row["status"] == "done" and row["attempts"] == 1
        posted = _announced(hooked)

        # The next polled run lists the other projects past SLA, not these again.
        result = run_digest(hooked.slack, JOB, datetime.now(UTC))
        assert result.ran and result.failed == 0
        assert sorted(k for k in _posted_keys(hooked) if k in expected) == sorted(expected)
        assert {k: posted[k] for k in expected} == {k: _announced(hooked)[k] for k in expected}
    finally:
        close()


def test_a_violation_of_a_project_the_local_copy_holds_in_that_phase_reads_only_its_forms(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        sb = coperniq_sandbox
        sb.send_webhooks_to(hooked.url)
        expected = _form_keys(hooked, PID)
        # The copy holds the project as listed a while ago, 2 days into its phase (yellow at 7).
        sb.set_phase(PID, time_in_stage_days=2)
        listed_at = datetime.now(UTC)
        keep_projects(hooked.db, [sb.get("projects", PID)], listed_at, complete=False)
        sb.reset_requests()
        sb.set_phase(PID, time_in_stage_days=7)  # reaches yellow: Coperniq fires the violation
        hooked.slack.wait_until(lambda: expected <= set(_announced(hooked)), timeout=10)
        hooked.settle()
        assert [r.path for r in sb.requests] == [f"/projects/{PID}/forms"]
        [row] = [r for r in hooked.rows() if r["trigger_key"] == "PROJECT_PHASE_SLA_VIOLATION"]
        assert row["status"] == "done"
        # The stored phase start now puts the project at yellow, so the next polled run (which
        # lists only what changed) neither resolves these alerts nor announces them again.
        [days] = hooked.db.execute("select days from projects where id = ?", [PID]).fetchone()
        assert days >= 7
        posted = _announced(hooked)
        result = run_digest(hooked.slack, JOB, datetime.now(UTC))
        assert result.ran and result.failed == 0
        assert {k: posted[k] for k in expected} == {k: _announced(hooked)[k] for k in expected}
        assert sorted(k for k in _posted_keys(hooked) if k in expected) == sorted(expected)
    finally:
        close()


def test_a_phase_completed_shows_the_alerts_resolved_in_place(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        sb = coperniq_sandbox
        sb.send_webhooks_to(hooked.url)
        expected = _form_keys(hooked, PID)
        sb.set_phase(PID, time_in_stage_days=8)
        hooked.slack.wait_until(lambda: expected <= set(_announced(hooked)), timeout=10)
        hooked.settle()
        ts = {_announced(hooked)[k] for k in expected}
        updates_before = len(fake_slack.calls_to("chat.update"))
        sb.reset_requests()

        sb.set_phase(PID, name=NEXT_PHASE)  # PROJECT_PHASE_COMPLETED, then _STARTED
        hooked.slack.wait_until(lambda: not (expected & set(_announced(hooked))), timeout=10)
        hooked.settle()
        assert sb.requests == []  # resolving costs no Coperniq call
        updates = fake_slack.calls_to("chat.update")[updates_before:]
        assert {u["ts"] for u in updates} >= ts
        for message in fake_slack.messages(SLA_CHANNEL):
            if message["ts"] in ts:
                assert "resolved" in str(message["blocks"]).lower()
        for key in expected:
            model = state.load_model(hooked.db, SLA_CHANNEL, _ts_of(hooked, key))
            assert key in model["resolved"]
        triggers = {r["trigger_key"]: r["status"] for r in hooked.rows()}
        assert triggers == {
            "PROJECT_PHASE_SLA_VIOLATION": "done",
            "PROJECT_PHASE_COMPLETED": "done",
            "PROJECT_PHASE_STARTED": "done",
        }
        # The stored project is in its new phase, started when the event fired.
        phase, key, started = hooked.db.execute(
            "select phase, phase_key, phase_started_at from projects where id = ?", [PID]
        ).fetchone()
        assert phase == NEXT_PHASE and key.endswith(":5107") and started
    finally:
        close()


def _ts_of(hooked: Hooked, key: str) -> str:
    return state.load_alerts(hooked.db, JOB, SLA_CHANNEL)[key].message_ts


def test_a_violation_waits_while_a_polled_run_holds_the_lease_and_is_never_dropped(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        sb = coperniq_sandbox
        holder = state.acquire_lease(hooked.db, JOB)
        assert holder is not None
        sb.set_phase(PID, time_in_stage_days=8)
        sb.reset_requests()
        body = event_body("PROJECT_PHASE_SLA_VIOLATION", PID, slaType="YELLOW")
        assert hooked.post(body).status_code == 200
        hooked.slack.wait_until(lambda: hooked.rows()[0]["attempts"] >= 3, timeout=10)
        row = hooked.rows()[0]
        assert row["status"] in ("received", "processing")
        assert sb.requests == []  # a busy job costs nothing: the reads wait for the lease
        state.release_lease(hooked.db, JOB, holder)
        assert hooked.worker.wait_idle(10)
        assert hooked.rows()[0]["status"] == "done"
        assert _form_keys(hooked, PID) <= set(_announced(hooked))
    finally:
        close()
