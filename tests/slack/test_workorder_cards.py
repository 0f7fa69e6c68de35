"""A technician's day end to end: the shared sweep, the morning cards, status buttons, notes,
photos and webhook updates, against the Coperniq sandbox and the fake Slack."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.deps import Deps
from jobs.slackpost import SlackPoster
from jobs.workorders import job, live
from jobs.workorders.sweep import sweep
from sandbox.coperniq.seed import user_summary
from sandbox.coperniq.webhooks import work_order_payload
from tests.slack.harness import SlackHarness

TECH, TECH_ID = "U0TECH", 1010  # no seeded work order is assigned to 1010
CHICAGO = ZoneInfo("America/Chicago")
PHONE = "+1 (512) 555-0142"


def local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(CHICAGO).date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


@pytest.fixture
def deps(slack: SlackHarness) -> Deps:
    fs = slack.fake_slack
    settings = replace(slack.settings, timezone=CHICAGO, quiet_hours=(19, 7))
    return Deps(
        settings=settings,
        store=slack.store,
        coperniq=slack.coperniq,
        slack=WebClient(token=fs.bot_token, base_url=fs.base_url),
    )


def poster(deps: Deps) -> SlackPoster:
    assert deps.slack is not None
    return SlackPoster(deps.slack, min_interval=0)


def give_work(slack: SlackHarness, deps: Deps, day: int) -> list[dict[str, Any]]:
    """Two work orders for TECH starting on `day` (local) at 14:00 and 10:00, on a project."""
    pid = 40001  # a seeded project
    assert slack.sandbox.get("projects", pid) is not None
    person = user_summary(TECH_ID)
    out = []
    for wo_id, hour, title in ((990001, 14, "Battery Install"), (990002, 10, "AC Tune-Up")):
        start = local(day, hour).astimezone(UTC)
        rec = {
            "id": wo_id,
            "uid": wo_id - 990000,
            "templateId": 804,
            "title": title,
            "description": "",
            "priority": 2,
            "startDate": start.isoformat().replace("+00:00", "Z"),
            "startDateAllDay": False,
            "endDate": (start + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
            "endDateAllDay": False,
            "completedAt": None,
            "isArchived": False,
            "isCompleted": False,
            "isField": True,
            "labels": [],
            "project": {
                "id": pid,
                "uid": 7,
                "title": "Nguyen residence",
                "address": ["12 Oak St", "Austin, TX 78701"],
                "stage": None,
            },
            "assignee": {k: person[k] for k in ("id", "firstName", "lastName", "email")},
            "collaborators": [],
            "visits": {"visits": []},
            "statuses": [],
            "status": {"id": "SCHEDULED", "label": "Scheduled"},
            "checklist": [],
            "workItems": [],
            "lineItems": [],
            "_parentType": "project",
            "_parentId": pid,
            "_position": 1,
            "_phaseInstanceId": None,
        }
        slack.sandbox.put("work_orders", rec)
        out.append(rec)
    deps.store.db["slack_links"].insert(
        {"slack_user": TECH, "coperniq_user_id": TECH_ID, "email": person["email"],
         "linked_by": "UADMIN", "linked_at": "2026-01-01T00:00:00+00:00"},
        pk="slack_user",
    )  # fmt: skip
    # The local project copy (kept by the SLA sweep) has the client's phone: no extra call.
    deps.store.db["projects"].upsert(
        {"id": pid, "title": "Nguyen residence", "raw": json.dumps({"primaryPhone": PHONE})},
        pk="id",
        alter=False,
    )
    return out


def wo_requests(slack: SlackHarness, method: str = "GET") -> list[Any]:
    return [r for r in slack.sandbox.requests if "/work-orders" in r.path and r.method == method]


def dm(slack: SlackHarness) -> list[dict[str, Any]]:
    return [m for m in slack.fake_slack.calls_to("chat.postMessage") if m.get("channel") == TECH]


def test_the_sweep_lists_everything_once_then_only_changes(slack, deps) -> None:
    give_work(slack, deps, 2)
    db = deps.store.db
    first = sweep(db, deps.coperniq.background, deps.coperniq.budget, local(2, 6))
    assert first.mode == "full" and first.complete
    assert db["work_orders"].count == first.fetched >= 2
    [listing] = wo_requests(slack)
    assert "updated_after" not in listing.query and listing.query["page_size"] in ("100", 100)
    slack.sandbox.reset_requests()
    second = sweep(db, deps.coperniq.background, deps.coperniq.budget, local(2, 6, 30))
    [listing] = wo_requests(slack)
    assert "updated_after" in listing.query
    assert second.mode == "changes" and second.changed == []
    assert second.fetched < first.fetched
    # A change in Coperniq is seen by the next sweep, and only it.
    deps.coperniq.interactive.work_orders.update("project", 40001, 990002, {"status": "WORKING"})
    third = sweep(db, deps.coperniq.background, deps.coperniq.budget, local(2, 7))
    assert third.changed == [990002]
    row = db.execute("select status from work_orders where id = 990002").fetchone()
    assert row[0] == "WORKING"


def test_morning_cards_go_to_the_technician_in_start_order_with_links_and_buttons(
    slack, deps
) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    header, first, second = dm(slack)
    assert "2 work orders" in header["text"]
    assert "AC Tune-Up" in first["text"] and "Battery Install" in second["text"]  # 10:00, 14:00
    body = json.dumps(first["blocks"])
    assert "https://www.google.com/maps/search/?api=1&query=12+Oak+St%2C+Austin%2C+TX+78701" in body
    assert "tel:+15125550142" in body
    assert "10:00 AM" in body
    actions = next(b for b in first["blocks"] if b["type"] == "actions")["elements"]
    texts = [a["text"]["text"] for a in actions]
    assert texts[:4] == ["On my way", "Working", "Waiting", "Done"]
    assert texts[-2:] == ["Add photos", "Add note"]
    rows = deps.store.db.execute(
        "select work_order_id, channel, ts from wo_cards order by work_order_id"
    ).fetchall()
    assert len(rows) == 2 and all(r[1].startswith("D") and r[2] for r in rows)
    # A second morning run (a restart) posts nothing again.
    job.morning(deps, local(2, 7, 5), poster(deps))
    assert len(dm(slack)) == 3


def test_quiet_hours_hold_the_cards_until_they_end(slack, deps) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 6), poster(deps))  # before 07:00: quiet
    assert dm(slack) == []
    job.tick(deps, local(2, 7, 5), poster(deps))
    assert len(dm(slack)) == 3


def _card(slack: SlackHarness, deps: Deps, wo_id: int) -> tuple[str, str]:
    row = deps.store.db.execute(
        "select channel, ts from wo_cards where work_order_id = ?", [wo_id]
    ).fetchone()
    return row[0], row[1]


def _status_click(slack: SlackHarness, channel: str, ts: str, wo_id: int, status: str) -> None:
    reply = slack.block_action(
        f"workorder_status:{status}",
        value=f"{wo_id}:{status}",
        user=TECH,
        channel=channel,
        message={"type": "message", "ts": ts, "text": ""},
    )
    assert reply.status == 200


def test_a_status_button_patches_once_under_a_double_tap_and_updates_the_card(slack, deps) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    channel, ts = _card(slack, deps, 990002)
    slack.sandbox.reset_requests()
    _status_click(slack, channel, ts, 990002, "ON_THE_WAY")
    _status_click(slack, channel, ts, 990002, "ON_THE_WAY")
    slack.fake_slack.wait_for("chat.update")
    time.sleep(0.5)
    patches = wo_requests(slack, "PATCH")
    assert len(patches) == 1
    assert patches[0].path.endswith("/work-orders/990002") and patches[0].body == {
        "status": "ON_THE_WAY"
    }
    [card] = [m for m in slack.fake_slack.messages(channel) if m["ts"] == ts]
    assert "On the way" in card["text"]
    assert "✓ On my way" in json.dumps(card["blocks"], ensure_ascii=False)


def test_a_refused_status_is_said_in_plain_words(slack, deps) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    channel, ts = _card(slack, deps, 990002)
    _status_click(slack, channel, ts, 990002, "TELEPORTED")
    slack.fake_slack.wait_for("chat.postEphemeral")
    [said] = slack.fake_slack.ephemerals(user=TECH)
    assert "wouldn't set" in said["text"]


def test_a_webhook_status_change_updates_the_card_with_no_coperniq_call(slack, deps) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    channel, ts = _card(slack, deps, 990001)
    stored = slack.sandbox.get("work_orders", 990001)
    moved = {**stored, "status": {"id": "WORKING", "label": "Working"},
             "updatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")}  # fmt: skip
    body = {
        "event": {"eventId": 1, "triggerKey": "TASK_STATUS_MOVEMENT", "workOrderId": 990001,
                  "currentStatus": "WORKING", "previousStatus": "SCHEDULED"},
        "workOrder": work_order_payload(moved),
    }  # fmt: skip
    slack.sandbox.reset_requests()
    done = live.on_task(deps, 990001, body, local(2, 9))
    assert done.calls == 0 and slack.sandbox.requests == []
    [card] = [m for m in slack.fake_slack.messages(channel) if m["ts"] == ts]
    assert "Working" in card["text"]
    # The same delivery again (a retry) changes nothing.
    assert "unchanged" in live.on_task(deps, 990001, body, local(2, 9)).text


def test_add_note_writes_the_note_once(slack, deps) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    channel, ts = _card(slack, deps, 990002)
    slack.block_action(
        "workorder_note", value="990002", user=TECH, channel=channel,
        message={"type": "message", "ts": ts, "text": ""},
    )  # fmt: skip
    [opened] = slack.fake_slack.wait_for("views.open")
    view_id = slack.last_view_id()
    values = {"note_text": {"input": {"type": "plain_text_input", "value": "Gate code 4411"}}}
    slack.sandbox.reset_requests()
    assert slack.submit_view(view_id, values, user=TECH).status == 200
    assert slack.submit_view(view_id, values, user=TECH).status == 200
    slack.fake_slack.wait_for("chat.postEphemeral")
    time.sleep(0.3)
    posts = wo_requests(slack, "POST")
    assert [(p.path, p.body) for p in posts] == [
        ("/work-orders/990002/notes", {"body": "Gate code 4411"})
    ]


def test_an_empty_note_is_answered_in_the_modal(slack, deps) -> None:
    give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    channel, ts = _card(slack, deps, 990002)
    slack.block_action("workorder_note", value="990002", user=TECH, channel=channel,
                       message={"type": "message", "ts": ts, "text": ""})  # fmt: skip
    slack.fake_slack.wait_for("views.open")
    values = {"note_text": {"input": {"type": "plain_text_input", "value": "  "}}}
    reply = slack.submit_view(slack.last_view_id(), values, user=TECH)
    assert reply.json()["response_action"] == "errors"


def test_add_photos_opens_the_photo_modal_on_the_work_orders_project(slack, deps) -> None:
    [wo, _] = give_work(slack, deps, 2)
    job.morning(deps, local(2, 7), poster(deps))
    channel, ts = _card(slack, deps, 990002)
    msg = {"type": "message", "ts": ts, "text": ""}
    value = f"project:{wo['_parentId']}"
    slack.block_action("workorder_photos", value=value, user=TECH, channel=channel, message=msg)
    [opened] = slack.fake_slack.wait_for("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "photo_modal"
    # Opened at once; the project is filled in by the update that follows (its forms loaded).
    [updated] = slack.fake_slack.wait_for("views.update")
    assert f"project:{wo['_parentId']}" in json.dumps(updated)
