"""`/coperniq workorder` end to end: signed HTTP into the app, the fake Slack and the sandbox."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.common import base_id
from bot.blocks.find import record_blocks
from bot.ids import Action, Block, Callback
from jobs.sla.render import actions as sla_actions
from sandbox.slack.limits import assert_slack_limits
from tests.modals.e2e import current, open_modal, posts_to, writes
from tests.modals.slackstate import check_message, check_options_response, fill
from tests.slack.harness import APP_URL, CHANNEL, USER, running_harness

# Monday 2 March 2026, 09:00 in Chicago (BOT_TIMEZONE): the app's clock in these tests.
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TODAY = "2026-03-02"
TOMORROW = "2026-03-03"


@pytest.fixture
def slack(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[Any]:
    """The app on loopback with its clock fixed at NOW."""
    with running_harness(
        fake_slack, coperniq_sandbox, tmp_path, listener_threads=16, clock=lambda: NOW
    ) as harness:
        harness.seeded_work_orders = {w["id"] for w in coperniq_sandbox.db.all("work_orders")}
        yield harness


def _block(view: dict[str, Any], base: str) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if base_id(b.get("block_id", "")) == base), None)


def _state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """view.state.values as Slack sends them, datepickers included (keyed by base block id)."""
    state = fill(view, values)["state"]["values"]
    for block in view["blocks"]:
        el = block.get("element") or {}
        if block.get("type") == "input" and el.get("type") == "datepicker":
            key = base_id(block["block_id"])
            day = values[key] if key in values else el.get("initial_date")
            state[block["block_id"]] = {
                el["action_id"]: {"type": "datepicker", "selected_date": day}
            }
    return state


def _submit(slack: Any, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    reply = slack.submit_view(view["id"], _state(view, values))
    assert reply.status == 200
    answer = reply.json() or {}
    if answer.get("view"):
        assert_slack_limits(answer["view"])
    return answer


def _resubmit(slack: Any, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The same view_submission again, as Slack sends it when its first delivery timed out."""
    sent = copy.deepcopy(view)
    sent["state"] = {"values": _state(view, values)}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": USER, "username": "u0user", "name": "u0user", "team_id": "T0TEST"},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "trigger_id": slack.fake_slack.new_trigger_id(view_id=view["id"]),
        "view": sent,
        "response_urls": [],
        "is_enterprise_install": False,
    }
    reply = slack.interactive(payload)
    assert reply.status == 200
    return reply.json() or {}


def _project_with_a_started_phase(slack: Any) -> dict[str, Any]:
    for project in slack.sandbox.all("projects"):
        if any(p["status"] == "IN_PROGRESS" for p in project.get("phaseInstances") or []):
            return project
    raise AssertionError("the sandbox has no project with a phase in progress")


def _link_user(slack: Any, coperniq_user: dict[str, Any]) -> None:
    slack.fake_slack.add_user(USER, email=coperniq_user["email"])


def _template(slack: Any, title: str = "AC Tune-Up") -> dict[str, Any]:
    return next(t for t in slack.sandbox.all("work_order_templates") if t["title"] == title)


def _gets(slack: Any, path: str) -> int:
    return len([r for r in slack.sandbox.requests if r.method == "GET" and r.path == path])


def _work_orders_of(slack: Any, kind: str, record_id: int) -> list[dict[str, Any]]:
    """The work orders made during the test (the seed has some on many records)."""
    return [
        w
        for w in slack.sandbox.db.all("work_orders", parent=(kind, record_id))
        if w["id"] not in slack.seeded_work_orders
    ]


def _open_for(slack: Any, text: str) -> dict[str, Any]:
    return open_modal(slack, f"workorder {text}".strip(), updates=1)


def test_the_command_opens_the_modal_before_asking_coperniq_anything(slack):
    # Every Coperniq answer takes 3 s: the modal must be open long before the first one.
    slack.sandbox.inject(path="*", latency=3.0, times=None)
    assert slack.command("workorder").status == 200
    slack.wait_for("views.open", 1, timeout=2.0)
    opened = slack.fake_slack.calls_to("views.open")[0]["view"]
    assert opened["callback_id"] == Callback.WORKORDER_MODAL
    assert "Loading" in str(opened["blocks"])
    assert [r for r in slack.sandbox.requests if r.status] == []  # none answered yet
    slack.sandbox.clear_faults()
    slack.wait_for("views.update", 1, timeout=15)
    view = current(slack, slack.last_view_id())
    assert _block(view, Block.WORKORDER_TEMPLATE) is not None


def test_a_project_number_prefills_the_project_its_started_phases_and_me_as_assignee(slack):
    project = _project_with_a_started_phase(slack)
    me = slack.sandbox.all("users")[3]
    _link_user(slack, me)
    view = _open_for(slack, str(project["number"]))
    record = _block(view, Block.WORKORDER_RECORD)["element"]["initial_option"]
    assert record["value"] == f"project:{project['id']}"
    offered = [o["value"] for o in _block(view, Block.WORKORDER_TEMPLATE)["element"]["options"]]
    assert sorted(offered) == sorted(
        str(t["id"]) for t in slack.sandbox.all("work_order_templates")
    )
    phases = [int(o["value"]) for o in _block(view, Block.WORKORDER_PHASE)["element"]["options"]]
    assert phases == [p["id"] for p in project["phaseInstances"] if p["status"] == "IN_PROGRESS"]
    assignee = _block(view, Block.WORKORDER_ASSIGNEE)["element"]
    assert assignee["type"] == "static_select"
    assert assignee["initial_option"]["value"] == str(me["id"])
    assert _block(view, Block.WORKORDER_START)["element"]["initial_date"] == TODAY


def test_submit_creates_one_work_order_with_the_spec_body_then_sets_assignee_and_start(slack):
    project = _project_with_a_started_phase(slack)
    phase = next(p for p in project["phaseInstances"] if p["status"] == "IN_PROGRESS")
    me = slack.sandbox.all("users")[3]
    _link_user(slack, me)
    template = _template(slack)
    view = _open_for(slack, str(project["number"]))
    answer = _submit(
        slack,
        view,
        {
            Block.WORKORDER_TEMPLATE: str(template["id"]),
            Block.WORKORDER_PHASE: str(phase["id"]),
            Block.WORKORDER_START: TOMORROW,
        },
    )
    assert answer["response_action"] == "update"
    assert "Creating the work order" in str(answer["view"]["blocks"])
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    [post] = writes(slack, "POST", f"/projects/{project['id']}/work-orders")
    assert post.status == 201
    assert post.body == {"templateId": template["id"], "phaseInstanceId": phase["id"]}
    [work_order] = _work_orders_of(slack, "project", project["id"])
    [patch] = writes(slack, "PATCH", f"/projects/{project['id']}/work-orders/{work_order['id']}")
    name = f"{me['firstName']} {me['lastName']}"
    assert patch.body == {
        "assigneeId": me["id"],
        "startDate": "2026-03-03T06:00:00Z",  # midnight in Chicago
        "startDateAllDay": True,
        "description": f"{template['description']}\n\n— created from Slack by {name}",
    }
    assert work_order["assignee"]["id"] == me["id"]
    assert work_order["_phaseInstanceId"] == phase["id"]
    message = posts_to(slack, CHANNEL)[0]
    check_message({"text": message["text"], "blocks": message["blocks"]})
    assert f"Work order #{work_order['uid']}" in message["text"]
    assert template["title"] in message["text"]
    shown = str(message["blocks"])
    assert f"{APP_URL}/project/{project['id']}" in shown
    assert f"Assigned to {name}" in shown and "starts Tue, Mar 3" in shown
    # The modal says it too (updated just after the channel post).
    slack.wait_until(lambda: f"#{work_order['uid']}" in str(current(slack, view["id"])["blocks"]))
    rows = list(
        slack.store.db.query("select action, record_type, record_id, outcome from audit_log")
    )
    assert rows == [
        {
            "action": "create_work_order",
            "record_type": "project",
            "record_id": str(project["id"]),
            "outcome": "created",
        }
    ]
    assert slack.sandbox.conformance_warnings == []


def test_a_double_click_and_slacks_retry_create_one_work_order(slack):
    account = slack.sandbox.all("accounts")[0]
    template = _template(slack, "Furnace Repair")
    view = _open_for(slack, "")
    option = {"text": {"type": "plain_text", "text": "Client"}, "value": f"account:{account['id']}"}
    values = {Block.WORKORDER_RECORD: option, Block.WORKORDER_TEMPLATE: str(template["id"])}
    _submit(slack, view, values)
    _resubmit(slack, view, values)  # Slack delivering the same submission again
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    again = _resubmit(slack, view, values)  # a second click after it was made
    assert "already created" in str(again["view"]["blocks"])
    posts = writes(slack, "POST", f"/accounts/{account['id']}/work-orders")
    assert len(posts) == 1 and posts[0].body == {"templateId": template["id"]}
    assert len(_work_orders_of(slack, "account", account["id"])) == 1
    assert len(posts_to(slack, CHANNEL)) == 1


def test_a_timeout_after_coperniq_saved_it_is_looked_up_and_never_created_twice(slack):
    project = _project_with_a_started_phase(slack)
    template = _template(slack)
    view = _open_for(slack, str(project["number"]))
    path = f"/projects/{project['id']}/work-orders"
    slack.sandbox.inject(path=path, method="POST", timeout=1.0, apply_first=True, times=1)
    values = {Block.WORKORDER_TEMPLATE: str(template["id"])}
    _submit(slack, view, values)
    slack.wait_until(
        lambda: any(
            "may or may not" in str(c["view"]["blocks"])
            for c in slack.fake_slack.calls_to("views.update")
        ),
        timeout=15,
    )
    assert list(slack.store.db.query("select state from submissions")) == [{"state": "unknown"}]
    # The form came back with what was chosen; the person presses Create again.
    shown = current(slack, view["id"])
    assert _block(shown, Block.WORKORDER_TEMPLATE)["element"]["initial_option"]["value"] == str(
        template["id"]
    )
    _submit(slack, shown, values)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    assert len(writes(slack, "POST", path)) == 1
    assert [r.status for r in writes(slack, "GET", path)] == [200]  # the look-up
    [work_order] = _work_orders_of(slack, "project", project["id"])
    assert f"#{work_order['uid']}" in posts_to(slack, CHANNEL)[0]["text"]
    assert len(writes(slack, "PATCH", f"{path}/{work_order['id']}")) == 1


def test_when_setting_the_assignee_fails_the_retry_only_sets_it(slack):
    project = _project_with_a_started_phase(slack)
    template = _template(slack)
    view = _open_for(slack, str(project["number"]))
    slack.sandbox.inject(
        path=f"/projects/{project['id']}/work-orders/*",
        method="PATCH",
        status=400,
        times=1,
        body={"message": "User is inactive", "code": "VALIDATION_ERROR", "field": "assigneeId"},
    )
    other = slack.sandbox.all("users")[5]
    values = {
        Block.WORKORDER_TEMPLATE: str(template["id"]),
        Block.WORKORDER_ASSIGNEE: str(slack.sandbox.all("users")[4]["id"]),
    }
    before = len(slack.fake_slack.calls_to("views.update"))
    _submit(slack, view, values)
    slack.wait_for("views.update", before + 1, timeout=10)
    shown = current(slack, view["id"])
    text = str(shown["blocks"])
    assert "was created, but its assignee" in text
    blocks = [base_id(b.get("block_id", "")) for b in shown["blocks"]]
    warning = shown["blocks"][blocks.index(Block.WORKORDER_ASSIGNEE) + 1]
    assert warning["type"] == "context" and "assigneeId" in str(warning)
    _submit(slack, shown, {**values, Block.WORKORDER_ASSIGNEE: str(other["id"])})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    assert len(writes(slack, "POST", f"/projects/{project['id']}/work-orders")) == 1
    [work_order] = _work_orders_of(slack, "project", project["id"])
    assert work_order["assignee"]["id"] == other["id"]


def test_bad_input_gets_inline_errors_and_nothing_is_sent(slack):
    view = _open_for(slack, "")
    answer = _submit(
        slack, view, {Block.WORKORDER_TEMPLATE: None, Block.WORKORDER_START: "2026-03-01"}
    )
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert set(errors) == {Block.WORKORDER_RECORD, Block.WORKORDER_TEMPLATE, Block.WORKORDER_START}
    assert "past" in errors[Block.WORKORDER_START]
    assert [r for r in slack.sandbox.requests if r.method != "GET"] == []


def test_a_template_coperniq_no_longer_has_refreshes_the_list_and_is_shown_on_its_field(slack):
    project = _project_with_a_started_phase(slack)
    gone = _template(slack, "Battery Install")
    view = _open_for(slack, str(project["number"]))
    assert _gets(slack, "/work-orders/templates") == 1
    slack.sandbox.delete("work_order_templates", gone["id"])
    before = len(slack.fake_slack.calls_to("views.update"))
    _submit(slack, view, {Block.WORKORDER_TEMPLATE: str(gone["id"])})
    slack.wait_for("views.update", before + 1, timeout=10)
    shown = current(slack, view["id"])
    options = _block(shown, Block.WORKORDER_TEMPLATE)["element"]["options"]
    assert str(gone["id"]) not in [o["value"] for o in options]
    assert "no longer in Coperniq" in str(shown["blocks"])
    assert _gets(slack, "/work-orders/templates") == 2  # read again once
    # The fresh list is what the next modal shows, without another read.
    _open_for(slack, "")
    assert _gets(slack, "/work-orders/templates") == 2


def test_templates_and_users_are_read_once_for_many_modals(slack):
    for _ in range(3):
        _open_for(slack, "")
    assert _gets(slack, "/work-orders/templates") == 1
    assert _gets(slack, "/users") == 1
    assert len(slack.sandbox.requests) == 2  # nothing else: no record was given


def test_picking_another_record_shows_its_phases_or_none(slack):
    project = _project_with_a_started_phase(slack)
    view = _open_for(slack, "")
    assert _block(view, Block.WORKORDER_PHASE) is None
    reply = slack.block_suggestion(
        Action.WORKORDER_RECORD,
        str(project["number"]),
        block_id=Block.WORKORDER_RECORD,
        view_id=view["id"],
    )
    payload = reply.json()
    check_options_response(payload)
    option = next(
        o
        for g in payload["option_groups"]
        for o in g["options"]
        if o["value"] == f"project:{project['id']}"
    )
    before = len(slack.fake_slack.calls_to("views.update"))
    values = fill(view, {Block.WORKORDER_RECORD: option})["state"]["values"]
    slack.block_action(
        Action.WORKORDER_RECORD,
        view_id=view["id"],
        block_id=Block.WORKORDER_RECORD,
        values=values,
        action={"type": "external_select", "selected_option": option},
    )
    slack.wait_for("views.update", before + 1)
    shown = current(slack, view["id"])
    phases = [int(o["value"]) for o in _block(shown, Block.WORKORDER_PHASE)["element"]["options"]]
    assert phases == [p["id"] for p in project["phaseInstances"] if p["status"] == "IN_PROGRESS"]
    assert _gets(slack, f"/projects/{project['id']}") == 1


def test_the_find_result_button_opens_the_modal_on_that_request(slack):
    opp = slack.sandbox.all("opportunities")[0]
    [_, actions] = record_blocks("opportunity", opp, APP_URL)
    button = next(e for e in actions["elements"] if e["action_id"] == Action.OPEN_WORKORDER_MODAL)
    slack.block_action(button["action_id"], value=button["value"])
    slack.wait_for("views.update", timeout=10)
    view = current(slack, slack.last_view_id())
    record = _block(view, Block.WORKORDER_RECORD)["element"]["initial_option"]
    assert record["value"] == f"opportunity:{opp['id']}"
    assert _block(view, Block.WORKORDER_PHASE) is None  # phases only for a project


def test_the_sla_alert_button_opens_the_modal_on_the_alerts_project(slack):
    project = _project_with_a_started_phase(slack)
    item = {
        "key": f"form:{project['id']}:1",
        "project_id": project["id"],
        "assignee_id": None,
        "url": f"{APP_URL}/project/{project['id']}",
    }
    row = sla_actions(item, [])
    assert len(row) <= 5  # Slack's limit for one actions block
    button = next(e for e in row if e["action_id"] == Action.OPEN_WORKORDER_MODAL)
    slack.block_action(
        button["action_id"], value=button["value"], block_id=f"alert-item:{item['key']}"
    )
    slack.wait_for("views.update", timeout=10)
    view = current(slack, slack.last_view_id())
    record = _block(view, Block.WORKORDER_RECORD)["element"]["initial_option"]
    assert record["value"] == f"project:{project['id']}"
    assert _block(view, Block.WORKORDER_PHASE) is not None
