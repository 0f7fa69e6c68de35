"""Personal notifications end to end: form-sla runs against the Coperniq sandbox feed DMs to the
fake Slack (once per level, again on escalation, never for your own take, held through quiet
hours), and the morning summary is built from the store alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot import people
from bot.deps import Deps
from jobs import engine, personal, state
from jobs.registry import JOBS
from sandbox.coperniq.seed import user_summary
from sandbox.jobenv import stuck_project
from tests.slack.harness import SlackHarness

TOM, ROSA, PRIYA, NOBODY, UNLINKED = "U0TOM", "U0ROSA", "U0PRIYA", "U0NOBODY", "U0GONE"
TOM_ID, ROSA_ID, PRIYA_ID = 1004, 1006, 1010  # Field Technician, Field Technician, Office Staff
CHICAGO = ZoneInfo("America/Chicago")


def at(hour: int, days: int = 0) -> datetime:
    """A fixed local hour of the sandbox's day (its data is dated from the real date)."""
    day = datetime.now(CHICAGO).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHICAGO)


@pytest.fixture
def deps(slack: SlackHarness) -> Deps:
    fs = slack.fake_slack
    settings = replace(
        slack.settings,
        timezone=CHICAGO,
        quiet_hours=(19, 7),
        payment_roles=("Office Staff",),
    )
    return Deps(
        settings=settings,
        store=slack.store,
        coperniq=slack.coperniq,
        slack=WebClient(token=fs.bot_token, base_url=fs.base_url),
    )


def opt_in(deps: Deps, slack_user: str, uid: int | None, **prefs: Any) -> None:
    """What the App Home saves when someone turns notifications on."""
    row = {"slack_user": slack_user, "coperniq_user_id": uid, "forms": 1, "morning": 0}
    deps.store.db["notify_prefs"].upsert({**row, **prefs}, pk="slack_user")


def my_form(slack: SlackHarness, uid: int, days: int = 8) -> tuple[dict, dict]:
    """A project `days` into its phase (yellow 7, red 14) with one open form assigned to `uid`."""
    project, [form] = stuck_project(slack.sandbox, days=days)
    form = {**form, "assignee": user_summary(uid), "status": "ASSIGNED"}
    slack.sandbox.put("forms", form)
    return project, form


def run_sla(deps: Deps, now: datetime) -> Any:
    result = engine.run(JOBS["form-sla"], deps, now, out=lambda s: None)
    assert result.ran
    return result


def dms(slack: SlackHarness, user: str, words: str = "") -> list[dict]:
    return [
        m
        for m in slack.fake_slack.calls_to("chat.postMessage")
        if m.get("channel") == user and words in m.get("text", "")
    ]


def test_the_assignee_gets_one_dm_per_level_and_another_on_escalation(
    slack: SlackHarness, deps: Deps
) -> None:
    project, form = my_form(slack, TOM_ID)
    opt_in(deps, TOM, TOM_ID)
    run_sla(deps, at(10))
    run_sla(deps, at(11))
    [yellow] = dms(slack, TOM, form["name"])
    assert "past its yellow SLA" in yellow["text"]
    blocks = str(yellow["blocks"])
    assert "Open in Coperniq" in blocks and f"/project/{project['id']}" in blocks
    # No buttons but the link: nothing in a DM acts on Coperniq.
    actions = [b for b in yellow["blocks"] if b["type"] == "actions"]
    assert [e.get("url") is not None for a in actions for e in a["elements"]] == [True]

    slack.sandbox.set_phase(project["id"], time_in_stage_days=14)
    run_sla(deps, at(12))
    run_sla(deps, at(13))
    later = dms(slack, TOM, form["name"])
    assert len(later) == 2 and "is now past its red SLA" in later[1]["text"]
    assert "🔴" in str(later[1]["blocks"])


def test_nobody_who_did_not_opt_in_is_written_to(slack: SlackHarness, deps: Deps) -> None:
    my_form(slack, ROSA_ID)
    opt_in(deps, ROSA, ROSA_ID, forms=0, morning=0)
    run_sla(deps, at(10))
    assert dms(slack, ROSA) == []
    assert deps.store.db["dm_outbox"].count == 0


def test_a_form_you_took_yourself_is_not_told_but_its_escalation_is(
    slack: SlackHarness, deps: Deps
) -> None:
    project, form = my_form(slack, TOM_ID)
    opt_in(deps, TOM, TOM_ID)
    db, key = deps.store.db, f"form:{form['id']}"
    # Tom pressed Take it on the form's yellow card (what handlers/actions/forms.py records).
    taken = at(9)
    assert (
        state.claim_act(
            db, "form-sla", key, "take", slack_user=TOM, coperniq_user=TOM_ID, now=taken
        )
        is None
    )
    state.finish_act(db, "form-sla", key, "take", taken, {"coperniq_user": TOM_ID})
    run_sla(deps, at(10))
    run_sla(deps, at(11))
    assert dms(slack, TOM, form["name"]) == []
    slack.sandbox.set_phase(project["id"], time_in_stage_days=15)
    run_sla(deps, at(12))
    [red] = dms(slack, TOM, form["name"])
    assert "red SLA" in red["text"]


def test_someone_elses_take_does_not_silence_the_assignee(slack: SlackHarness, deps: Deps) -> None:
    _, form = my_form(slack, TOM_ID)
    opt_in(deps, TOM, TOM_ID)
    key = f"form:{form['id']}"
    db = deps.store.db
    state.claim_act(db, "form-sla", key, "take", slack_user=ROSA, coperniq_user=ROSA_ID, now=at(9))
    state.finish_act(db, "form-sla", key, "take", at(9), {})
    run_sla(deps, at(10))
    assert len(dms(slack, TOM, form["name"])) == 1


def test_quiet_hours_hold_the_dm_until_they_end(slack: SlackHarness, deps: Deps) -> None:
    _, form = my_form(slack, TOM_ID)
    opt_in(deps, TOM, TOM_ID)
    run_sla(deps, at(20))
    assert dms(slack, TOM) == []
    [(due, sent)] = deps.store.db.execute(
        "select due_at, sent_at from dm_outbox where slack_user = ? and text like ?",
        [TOM, f"%{form['name']}%"],
    ).fetchall()
    assert datetime.fromisoformat(due) == at(7, days=1) and sent is None
    assert personal.flush_outbox(deps, at(6, days=1).replace(minute=55)).sent == 0
    assert personal.flush_outbox(deps, at(7, days=1)).sent >= 1
    [dm] = dms(slack, TOM, form["name"])
    assert "As of" in str(dm["blocks"])  # it says when it was noticed, not when it was sent


def test_a_held_dm_whose_form_resolved_is_dropped(slack: SlackHarness, deps: Deps) -> None:
    project, form = my_form(slack, TOM_ID)
    opt_in(deps, TOM, TOM_ID)
    run_sla(deps, at(20))
    # The project moves on to its next phase in the evening: the form no longer holds it up.
    p = slack.sandbox.get("projects", project["id"])
    phases = slack.sandbox.get("workflows", p["workflowId"])["phases"]
    other = next(ph for ph in phases if ph["id"] != p["phase"]["templateId"])
    slack.sandbox.set_phase(project["id"], template_id=other["id"])
    run_sla(deps, at(21))
    personal.flush_outbox(deps, at(7, days=1))
    assert dms(slack, TOM, form["name"]) == []
    [error] = deps.store.db.execute(
        "select error from dm_outbox where item_key = ?", [f"form:{form['id']}"]
    ).fetchone()
    assert error == "dropped: the form is no longer past its SLA"


def test_the_morning_summary_comes_from_the_store_alone(slack: SlackHarness, deps: Deps) -> None:
    project, form = my_form(slack, TOM_ID, days=15)
    opt_in(deps, TOM, TOM_ID, forms=0, morning=1, invoices=1)  # invoices: not a billing role
    opt_in(deps, PRIYA, PRIYA_ID, forms=0, morning=0, invoices=1, clients="[]")
    people.refresh_directory(deps.store.db, deps.coperniq, at(6))  # roles, as linking does
    run_sla(deps, at(6))
    engine.run(JOBS["overdue-invoices"], deps, at(6), out=lambda s: None)
    before = len(slack.sandbox.requests)

    line = personal.morning_summary(deps, at(7))

    assert len(slack.sandbox.requests) == before  # no Coperniq call
    [tom] = dms(slack, TOM)
    text = str(tom["blocks"])
    assert form["name"] in text and f"#{project['number']}" in text
    assert "Projects past SLA where a form of the phase is yours" in text and "🔴" in text
    assert "Overdue invoices" not in text  # Tom is a Field Technician
    [priya] = dms(slack, PRIYA)
    invoices = str(priya["blocks"])
    assert "Overdue invoices of all clients, largest first" in invoices
    assert "overdue in all" in invoices and "Your open forms" not in invoices
    amounts = [float(a.replace(",", "")) for a in _amounts(invoices)]
    assert amounts[:-1] == sorted(amounts[:-1], reverse=True)  # largest first, then the total
    assert "2 summary DM(s) queued" in line
    # Once a day: a second tick (another process, a restart) sends nothing more.
    personal.morning_summary(deps, at(7).replace(minute=5))
    assert len(dms(slack, TOM)) == 1 and len(dms(slack, PRIYA)) == 1


def _amounts(text: str) -> list[str]:
    import re

    return re.findall(r"\*\$([\d,]+\.\d\d)", text)


def test_a_billing_persons_clients_narrow_the_invoices(slack: SlackHarness, deps: Deps) -> None:
    opt_in(deps, PRIYA, PRIYA_ID, forms=0, invoices=1, clients='["Nobody Such Client"]')
    people.refresh_directory(deps.store.db, deps.coperniq, at(6))
    engine.run(JOBS["overdue-invoices"], deps, at(6), out=lambda s: None)
    personal.morning_summary(deps, at(7))
    assert dms(slack, PRIYA) == []  # nothing overdue for that client: no DM at all


def test_people_without_a_link_get_nothing_and_nothing_breaks(
    slack: SlackHarness, deps: Deps
) -> None:
    _, form = my_form(slack, TOM_ID)
    opt_in(deps, NOBODY, None, morning=1, invoices=1)  # no Coperniq user when they saved
    opt_in(deps, UNLINKED, TOM_ID, morning=1)  # linked once, since unlinked by an admin
    deps.store.db["slack_links"].insert(
        {"slack_user": UNLINKED, "coperniq_user_id": None, "linked_by": "U0ADMIN"}
    )
    result = run_sla(deps, at(10))
    assert result.failed == 0
    personal.morning_summary(deps, at(7, days=1))
    assert dms(slack, NOBODY) == [] and dms(slack, UNLINKED) == []
    assert deps.store.db["dm_outbox"].count == 0
