"""The App Home end to end: app_home_opened and clicks as Slack sends them, the Home the fake
Slack holds, the store rows written, and the Coperniq sandbox's request log (opening the Home
must cost no Coperniq request)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import home
from bot.blocks.home import MAX_BLOCKS, MY_FORMS_SHOWN
from bot.ids import Action
from bot.people import refresh_directory
from bot.store import iso
from jobs import state
from jobs.digest import Run, RunResult
from jobs.registry import JOBS
from sandbox.wiring import SLA_CHANNEL
from tests.slack.alerting import card_of, deps_of, email, run_digest
from tests.slack.harness import USER, SlackHarness, running_harness
from tests.slack.limits import assert_slack_limits

TOM = USER  # Tom Nguyen (1004), Field Technician
PRIYA = "U0PRIYA"  # Priya Raman (1010), Office Staff: may record payments
ROSA = "U0ROSA"  # Rosa Delgado (1006), Field Technician
DANA = "U0DANA"  # Dana Whitfield (1001), a Slack workspace admin
NOBODY = "U0NOBODY"  # a Slack email no Coperniq user has
PAYMENT_ROLES = ("Office Staff",)


@pytest.fixture
def slack(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[SlackHarness]:
    with running_harness(
        fake_slack, coperniq_sandbox, tmp_path, payment_roles=PAYMENT_ROLES
    ) as harness:
        fs = harness.fake_slack
        fs.add_user(TOM, email=email("Tom", "Nguyen"), real_name="Tom Nguyen")
        fs.add_user(PRIYA, email=email("Priya", "Raman"), real_name="Priya Raman")
        fs.add_user(ROSA, email=email("Rosa", "Delgado"), real_name="Rosa Delgado")
        fs.add_user(DANA, email=email("Dana", "Whitfield"), is_admin=True)
        fs.add_user(NOBODY, email="nobody@example.net")
        # The directory is read by commands and clicks (at most daily), never by the Home.
        refresh_directory(harness.store.db, harness.coperniq.interactive, datetime.now(UTC))
        yield harness


def _coperniq_requests(slack: SlackHarness) -> int:
    return len(slack.sandbox.requests)


def open_home(slack: SlackHarness, user: str) -> dict[str, Any]:
    """Open the Home tab as `user`; the view published in answer."""
    before = (slack.fake_slack.home(user) or {}).get("id")
    reply = slack.event({"type": "app_home_opened", "user": user, "channel": "D0X", "tab": "home"})
    assert reply.status == 200
    return _next_home(slack, user, before)


def _next_home(slack: SlackHarness, user: str, before: str | None) -> dict[str, Any]:
    return slack.wait_until(lambda: (h := slack.fake_slack.home(user)) and h["id"] != before and h)


def press(
    slack: SlackHarness, user: str, view: dict[str, Any], action_id: str, **action: Any
) -> dict[str, Any]:
    """A click on the Home `view` (its element with `action_id`); the Home published after it."""
    block, element = _element(view, action_id, action.pop("value", None))
    act = {"type": element["type"], **action}
    if "value" in element:
        act["value"] = element["value"]
    reply = slack.block_action(
        action_id, block_id=block["block_id"], user=user, view_id=view["id"], action=act
    )
    assert reply.status == 200, reply.text
    return _next_home(slack, user, view["id"])


def _element(
    view: dict[str, Any], action_id: str, value: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in view["blocks"]:
        elements = block.get("elements") or [block.get("accessory") or {}]
        for el in elements:
            if el.get("action_id") == action_id and (value is None or el.get("value") == value):
                return block, el
    raise LookupError(action_id)


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def _form_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if str(b.get("block_id", "")).startswith("home-form:")]


def _checkbox_values(view: dict[str, Any]) -> list[str]:
    try:
        _, el = _element(view, Action.HOME_NOTIFY)
    except LookupError:
        return []
    return [o["value"] for o in el["options"]]


def seed_forms(slack: SlackHarness, assignee: int, n: int, *, start: int = 0) -> None:
    """`n` projects past SLA in the store, each with one open form assigned to `assignee`."""
    db = slack.store.db
    now = iso(datetime.now(UTC))
    for i in range(start, start + n):
        pid, level = 700_000 + i, "red" if i % 3 == 0 else "yellow"
        key = f"phase:{90_000 + i}:77"
        db["projects"].upsert(
            {
                "id": pid,
                "number": f"P{i}",
                "title": f"Rooftop array {i}",
                "status": "ACTIVE",
                "workflow": "Residential Solar",
                "trades": '["Solar"]',
                "phase": "Permitting",
                "phase_key": key,
                "days": 12 + i % 7 if level == "red" else 6,
                "yellow_sla": 5,
                "red_sla": 10,
                "level": level,
                "seen_at": now,
            },
            pk="id",
        )
        form = {
            "id": 800_000 + i,
            "name": f"Permit packet {i}",
            "status": "IN_PROGRESS",
            "phaseId": 77,
            "assignee": {"id": assignee, "firstName": "X", "lastName": "Y"},
        }
        db["form_cache"].upsert(
            {"project_id": pid, "phase_key": key, "fetched_at": now, "forms": json.dumps([form])},
            pk="project_id",
        )


def test_an_unlinked_person_is_told_how_to_get_linked_and_gets_no_toggles(
    slack: SlackHarness,
) -> None:
    view = open_home(slack, NOBODY)
    text = _text(view)
    assert "not linked" in text and "link @you" in text
    assert _checkbox_values(view) == []
    assert_slack_limits(view)


@pytest.mark.parametrize("count", [0, 5, 200])
def test_my_forms_open_from_the_store_within_slacks_limits(slack: SlackHarness, count: int) -> None:
    seed_forms(slack, 1004, count)
    seed_forms(slack, 1006, 3, start=count)  # someone else's: not on Tom's Home
    before = _coperniq_requests(slack)
    view = open_home(slack, TOM)
    assert _coperniq_requests(slack) == before, "opening the Home made a Coperniq request"
    assert len(view["blocks"]) <= MAX_BLOCKS
    assert_slack_limits(view)
    shown = _form_blocks(view)
    assert len(shown) == min(count, MY_FORMS_SHOWN)
    text = _text(view)
    assert "Rooftop array" not in text or count
    if count == 0:
        assert "No form assigned to you" in text
    if count == 200:
        assert f"…and {200 - MY_FORMS_SHOWN} more" in text
    if shown:
        first = shown[0]["text"]["text"]
        assert "🔴" in first and "red SLA 10 d" in first  # red first
        assert shown[0]["accessory"]["url"].startswith(slack.settings.coperniq_app_url)
        assert shown[0]["accessory"]["action_id"] == Action.OPEN_IN_COPERNIQ


def test_toggling_a_notification_writes_notify_prefs_and_republishes(
    slack: SlackHarness,
) -> None:
    view = open_home(slack, TOM)
    assert _checkbox_values(view) == ["forms", "morning"]
    assert "Morning summary at 07:00, Monday to Friday" in _text(view)
    assert "Quiet hours 19:00–07:00" in _text(view)
    _, boxes = _element(view, Action.HOME_NOTIFY)
    forms = next(o for o in boxes["options"] if o["value"] == "forms")
    after = press(slack, TOM, view, Action.HOME_NOTIFY, selected_options=[forms])
    row = slack.store.db.execute(
        "select coperniq_user_id, forms, morning, invoices, clients, updated_at "
        "from notify_prefs where slack_user = ?",
        [TOM],
    ).fetchone()
    assert row[:5] == (1004, 1, 0, 0, "[]") and row[5]
    _, boxes = _element(after, Action.HOME_NOTIFY)
    assert [o["value"] for o in boxes["initial_options"]] == ["forms"]
    # Unticked again: saved off, and the Home shows it.
    again = press(slack, TOM, after, Action.HOME_NOTIFY, selected_options=[])
    assert slack.store.db.execute(
        "select forms from notify_prefs where slack_user = ?", [TOM]
    ).fetchone() == (0,)
    assert "initial_options" not in _element(again, Action.HOME_NOTIFY)[1]


def test_a_billing_role_sees_the_invoices_toggle_and_picks_clients_a_technician_does_not(
    slack: SlackHarness,
) -> None:
    run_digest(slack, "overdue-invoices")  # fills the local copy of invoices
    assert _checkbox_values(open_home(slack, TOM)) == ["forms", "morning"]
    view = open_home(slack, PRIYA)
    assert _checkbox_values(view) == ["forms", "morning", "invoices"]
    assert_slack_limits(view)
    _, picker = _element(view, Action.HOME_CLIENTS)
    assert picker["type"] == "multi_static_select" and picker["options"]
    chosen = picker["options"][:2]
    after = press(slack, PRIYA, view, Action.HOME_CLIENTS, selected_options=chosen)
    saved = slack.store.db.execute(
        "select clients from notify_prefs where slack_user = ?", [PRIYA]
    ).fetchone()[0]
    assert json.loads(saved) == sorted(o["value"] for o in chosen)
    _, picker = _element(after, Action.HOME_CLIENTS)
    assert sorted(o["value"] for o in picker["initial_options"]) == json.loads(saved)


def test_over_a_hundred_clients_are_searched_not_listed(slack: SlackHarness) -> None:
    db = slack.store.db
    db["invoices"].insert_all(
        [{"id": 9_000 + n, "account_title": f"Client {n:03d}"} for n in range(150)], pk="id"
    )
    view = open_home(slack, PRIYA)
    block, picker = _element(view, Action.HOME_CLIENTS)
    assert picker["type"] == "multi_external_select"
    assert_slack_limits(view)
    reply = slack.block_suggestion(
        Action.HOME_CLIENTS, "client 01", block_id=block["block_id"], view_id=view["id"], user=PRIYA
    )
    options = reply.json()["options"]
    assert [o["value"] for o in options] == [f"Client {n:03d}" for n in range(10, 20)]
    everyone = slack.block_suggestion(
        Action.HOME_CLIENTS, "", block_id=block["block_id"], view_id=view["id"], user=PRIYA
    ).json()["options"]
    assert len(everyone) == 100


def test_an_admin_sees_subscriptions_jobs_and_the_budget_and_others_do_not(
    slack: SlackHarness,
) -> None:
    started = datetime.now(UTC)
    result = run_digest(slack, "form-sla", started)
    # The scheduler records what a run did (jobs/scheduler.py); the Home shows it.
    state.record_last_run(slack.store.db, "form-sla", started, result.summary())
    view = open_home(slack, DANA)
    text = _text(view)
    assert f"<#{SLA_CHANNEL}>" in text and "every SLA alert" in text
    assert "`form-sla`" in text and "`overdue-invoices`" in text and "`morning-digest`" in text
    assert "last run <!date^" in text and "posted" in text and "never run yet" in text
    assert "next <!date^" in text
    budget = slack.coperniq.budget
    assert "*Coperniq budget*" in text and f"{budget.reserve:,} kept for people" in text
    assert_slack_limits(view)
    assert "Coperniq budget" not in _text(open_home(slack, TOM))


def _patches(slack: SlackHarness, form_id: int) -> list[Any]:
    return [
        r.body
        for r in slack.sandbox.requests
        if r.method == "PATCH" and r.path == f"/forms/{form_id}"
    ]


def _late_forms_unassigned(slack: SlackHarness) -> None:
    """Nobody is assigned to any form in Coperniq; then a run lists the late ones."""
    for form in slack.sandbox.all("forms"):
        slack.sandbox.update("forms", form["id"], assignee=None)
    run_digest(slack, "form-sla")


def _unassigned_key(view: dict[str, Any]) -> str:
    block = next(b for b in view["blocks"] if str(b.get("block_id", "")).startswith("home-take:"))
    return str(block["accessory"]["value"])


def test_take_it_from_the_home_patches_once_under_a_double_click_and_the_card_says_so(
    slack: SlackHarness,
) -> None:
    _late_forms_unassigned(slack)
    view = open_home(slack, TOM)
    key = _unassigned_key(view)
    form_id = int(key.split(":")[1])
    slack.sandbox.inject(path=f"/forms/{form_id}", method="PATCH", latency=0.3, times=2)
    _, take = _element(view, Action.HOME_TAKE, key)
    go = threading.Barrier(2)

    def click() -> None:
        go.wait()
        slack.block_action(
            Action.HOME_TAKE,
            block_id=f"home-take:{key}",
            user=TOM,
            view_id=view["id"],
            action={"type": "button", "value": take["value"]},
        )

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    card = slack.wait_until(
        lambda: (c := card_of(slack, "form-sla", key)) and "Taken by" in c.line and c
    )
    assert f"Taken by <@{TOM}>" in card.line
    assert _patches(slack, form_id) == [{"assigneeId": 1004}]
    after = slack.wait_until(
        lambda: (h := slack.fake_slack.home(TOM)) and "is yours in Coperniq" in _text(h) and h
    )
    assert f"home-take:{key}" not in _text(after)  # no longer unassigned
    assert any(b["block_id"] == f"home-form:{key}" for b in _form_blocks(after))  # now mine


def test_take_it_from_the_home_without_a_link_is_refused_and_writes_nothing(
    slack: SlackHarness,
) -> None:
    _late_forms_unassigned(slack)
    view = open_home(slack, NOBODY)
    key = _unassigned_key(view)
    after = press(slack, NOBODY, view, Action.HOME_TAKE, value=key)
    assert "You can't take this form" in _text(after)
    assert not [r for r in slack.sandbox.requests if r.method == "PATCH"]


def _form_reads(slack: SlackHarness) -> list[str]:
    return [
        r.path
        for r in slack.sandbox.requests
        if r.method == "GET" and r.path.startswith("/projects/") and r.path.endswith("/forms")
    ]


def test_refresh_rereads_at_most_three_of_my_projects_form_lists(slack: SlackHarness) -> None:
    # Tom is assigned every form in Coperniq; a run keeps the projects and their form lists.
    tom = next(
        f["assignee"]
        for f in (slack.sandbox.raw("forms", g["id"]) for g in slack.sandbox.all("forms"))
        if f and (f.get("assignee") or {}).get("id") == 1004
    )
    for form in slack.sandbox.all("forms"):
        slack.sandbox.update("forms", form["id"], assignee=tom)
    run_digest(slack, "form-sla")
    db, now = slack.store.db, datetime.now(UTC)
    late = len({f.project_id for f in home.my_forms(db, slack.settings, 1004, now)})
    assert late >= 2, "the seeded sandbox has projects past SLA"
    hour_ago = iso(now - timedelta(hours=1))
    db.execute("update form_cache set fetched_at = ?", [hour_ago])
    view = open_home(slack, TOM)
    assert _form_blocks(view)
    before, reads = _coperniq_requests(slack), len(_form_reads(slack))
    after = press(slack, TOM, view, Action.HOME_REFRESH)
    assert _coperniq_requests(slack) - before <= 3
    read = _form_reads(slack)[reads:]
    assert len(read) == min(3, late)
    assert f"Re-read the forms of {len(read)} project(s) from Coperniq" in _text(after)
    fresh = db.execute("select count(*) from form_cache where fetched_at > ?", [hour_ago])
    assert fresh.fetchone()[0] == len(read)
    # Pressed again at once: the lists were just read, so nothing is spent.
    before = _coperniq_requests(slack)
    press(slack, TOM, after, Action.HOME_REFRESH)
    assert _coperniq_requests(slack) == before


def _run(slack: SlackHarness) -> Run:
    now = datetime.now(UTC)
    return Run(deps_of(slack), None, now, RunResult("form-sla"), threading.Event(), lambda: now)


def test_after_run_republishes_only_the_homes_that_changed(slack: SlackHarness) -> None:
    seed_forms(slack, 1004, 2)
    seed_forms(slack, 1006, 2, start=2)
    tom, rosa = open_home(slack, TOM), open_home(slack, ROSA)
    home.after_run(JOBS["form-sla"], _run(slack), None, set())  # type: ignore[arg-type]
    assert slack.fake_slack.home(TOM)["id"] == tom["id"]  # nothing changed: nothing sent
    seed_forms(slack, 1004, 1, start=4)  # a run found one more late form of Tom's
    home.after_run(JOBS["form-sla"], _run(slack), None, set())  # type: ignore[arg-type]
    assert len(_form_blocks(slack.fake_slack.home(TOM))) == 3
    assert slack.fake_slack.home(ROSA)["id"] == rosa["id"]
    # Someone who has not opened the Home for over a month is left alone.
    slack.store.db.execute(
        "update home_views set opened_at = ?", [iso(datetime.now(UTC) - timedelta(days=31))]
    )
    seed_forms(slack, 1006, 1, start=5)
    home.after_run(JOBS["form-sla"], _run(slack), None, set())  # type: ignore[arg-type]
    assert slack.fake_slack.home(ROSA)["id"] == rosa["id"]
