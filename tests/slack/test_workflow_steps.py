"""Workflow Builder steps end to end: a `function_executed` event as Slack sends it, the work
against the Coperniq sandbox, and the step's end through functions.completeSuccess/completeError.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from bot.ids import Callback
from handlers.functions.specs import STEPS
from tests.modals.e2e import writes
from tests.slack.harness import API_APP_ID, APP_URL, USER, SlackHarness

# The just-in-time token Slack puts in each function_executed event (bot_access_token).
WORKFLOW_TOKEN = "xwfp-T0TEST-A0FAKE-workflow-token"
STARTED = 1764590400  # 2025-12-01T12:00:00Z, as Workflow Builder sends a timestamp input
REQUEST_INPUTS = {
    "title": "AC not cooling",
    "address": "12 Oak St, Austin, TX 78701",
    "trades": "hvac, Solar",
    "contact_name": "Dana Smith",
    "contact_phone": "(512) 555-0134",
    "contact_email": "Dana@Example.com",
    "description": "Blowing warm air since Monday",
}


@pytest.fixture
def steps(slack: SlackHarness, monkeypatch: pytest.MonkeyPatch) -> SlackHarness:
    return _accepting_workflow_tokens(slack, monkeypatch)


@pytest.fixture
def steps_without_coperniq(
    bare_slack: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> SlackHarness:
    return _accepting_workflow_tokens(bare_slack, monkeypatch)


def _accepting_workflow_tokens(harness: SlackHarness, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake Slack takes the execution's token too (as Slack does), and notes who used which."""
    fs = harness.fake_slack
    used: list[tuple[str, str | None]] = []
    check = fs._check_auth

    def check_auth(method: str, token: str | None) -> None:
        used.append((method, token))
        if token != WORKFLOW_TOKEN:
            check(method, token)

    monkeypatch.setattr(fs, "_check_auth", check_auth)
    harness.tokens_used = used  # type: ignore[attr-defined]
    return harness


def function_executed(callback_id: str, inputs: dict[str, Any], execution_id: str) -> dict:
    """The event Slack sends when a workflow reaches one of the app's steps."""
    spec = STEPS[callback_id]

    def params(kind: str) -> list[dict[str, Any]]:
        return [dict(p) for p in spec[kind].values()]

    return {
        "type": "function_executed",
        "function": {
            "id": "Fn0" + callback_id.upper()[:8],
            "callback_id": callback_id,
            "title": spec["title"],
            "description": spec["description"],
            "type": "app",
            "input_parameters": params("input_parameters"),
            "output_parameters": params("output_parameters"),
            "app_id": API_APP_ID,
            "date_created": 1764500000,
            "date_updated": 1764500000,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": "Wx0" + execution_id[3:],
        "bot_access_token": WORKFLOW_TOKEN,
    }


def run(
    slack: SlackHarness, callback_id: str, inputs: dict[str, Any], execution_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Deliver the step and wait for its end: ('success', outputs) or ('error', message)."""
    execution_id = execution_id or f"Fx{uuid.uuid4().hex[:10].upper()}"
    reply = slack.event(function_executed(callback_id, inputs, execution_id))
    assert reply.status == 200
    return ended(slack, execution_id)


def ended(slack: SlackHarness, execution_id: str, timeout: float = 15) -> tuple[str, Any]:
    call = slack.fake_slack.wait_call(
        lambda c: (
            c.method in ("functions.completeSuccess", "functions.completeError")
            and c.args.get("function_execution_id") == execution_id
        ),
        timeout=timeout,
    )
    assert call.ok, call.error
    if call.method == "functions.completeError":
        return "error", call.args["error"]
    outputs = call.args["outputs"]
    return "success", outputs if isinstance(outputs, dict) else __import__("json").loads(outputs)


def completions(slack: SlackHarness, execution_id: str) -> list[str]:
    return [
        c.method
        for c in slack.fake_slack.calls
        if c.method.startswith("functions.") and c.args.get("function_execution_id") == execution_id
    ]


def _project(slack: SlackHarness) -> dict[str, Any]:
    return next(p for p in slack.sandbox.find("projects") if p.get("number"))


# --- Create Coperniq service request -----------------------------------------------------------


def test_create_request_completes_with_the_new_requests_id_number_and_link(steps):
    kind, outputs = run(steps, Callback.STEP_CREATE_REQUEST, {**REQUEST_INPUTS})
    assert kind == "success", outputs
    posts = writes(steps, "POST", "/opportunities")
    assert len(posts) == 1 and posts[0].status in (200, 201)
    body = posts[0].body
    assert body["title"] == "AC not cooling"
    assert body["address"] == ["12 Oak St, Austin, TX 78701"]
    assert body["trades"] == ["HVAC", "Solar"]  # as Coperniq names them, in the order typed
    assert body["primaryPhone"] == "+15125550134"
    assert body["primaryEmail"] == "dana@example.com"
    assert body["description"].startswith("Blowing warm air since Monday\n\nContact: Dana Smith")
    assert "from Slack by a Slack workflow" in body["description"]
    created = [o for o in steps.sandbox.find("opportunities") if o["title"] == "AC not cooling"]
    assert len(created) == 1
    record = created[0]
    assert outputs == {
        "request_id": str(record["id"]),
        "request_number": str(record["number"]),
        "request_url": f"{APP_URL}/request/{record['id']}",
    }
    assert set(outputs) == set(STEPS[Callback.STEP_CREATE_REQUEST]["output_parameters"])
    assert steps.sandbox.conformance_errors == []


def test_the_step_is_acked_before_coperniq_is_called_and_completes_with_the_events_token(steps):
    # The save is held 3 s: an ack that waited for it would come back after the completion.
    steps.sandbox.inject(path="/opportunities", method="POST", latency=3.0, times=1)
    execution_id = "Fx0SLOWSAVE"
    reply = steps.event(
        function_executed(Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS, execution_id)
    )
    assert reply.status == 200
    assert not steps.fake_slack.calls_to("functions.completeSuccess")  # acked first
    assert ended(steps, execution_id)[0] == "success"
    tokens = {token for method, token in steps.tokens_used if method.startswith("functions.")}
    assert tokens == {WORKFLOW_TOKEN}


def test_a_client_typed_by_number_becomes_the_requests_account(steps):
    account = next(a for a in steps.sandbox.find("accounts") if a.get("number"))
    kind, outputs = run(
        steps, Callback.STEP_CREATE_REQUEST, {**REQUEST_INPUTS, "client": f"#{account['number']}"}
    )
    assert kind == "success", outputs
    assert writes(steps, "POST", "/opportunities")[0].body["accountId"] == account["id"]


def test_bad_request_input_fails_with_every_problem_in_words_and_writes_nothing(steps):
    kind, error = run(
        steps,
        Callback.STEP_CREATE_REQUEST,
        {**REQUEST_INPUTS, "title": "  ", "contact_phone": "555-01", "trades": "HVAC, Pool"},
    )
    assert kind == "error"
    assert error.startswith("The service request was not created.")
    assert "Title:" in error
    assert "Contact phone: That is not a valid phone number" in error
    assert "Coperniq has no trade “Pool”" in error and "HVAC" in error
    assert "Traceback" not in error and "xwfp" not in error
    assert writes(steps, "POST", "/opportunities") == []
    assert list(steps.store.db.query("select * from submissions")) == []


def test_a_field_coperniq_refuses_is_named_as_the_steps_input(steps):
    steps.sandbox.inject(
        path="/opportunities",
        method="POST",
        status=400,
        times=1,
        body={"message": "not deliverable", "code": "VALIDATION_ERROR", "field": "primaryEmail"},
    )
    kind, error = run(steps, Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS)
    assert kind == "error"
    assert error == (
        "The service request was not created: Coperniq did not accept the contact email. "
        "Check that input of the step and run the workflow again."
    )
    assert list(steps.store.db.query("select state from submissions")) == [{"state": "failed"}]


def test_coperniq_failing_while_saving_says_the_request_may_exist_and_a_rerun_makes_one(steps):
    steps.sandbox.inject(path="/opportunities", method="POST", status=500, times=5)
    kind, error = run(steps, Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS)
    assert kind == "error"
    assert "Coperniq had a problem while saving" in error and "may or may not exist" in error
    assert "Run the workflow again" in error
    steps.sandbox.clear_faults()
    # The next run of the workflow (a new execution) checks Coperniq, then creates it once.
    kind, outputs = run(steps, Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS)
    assert kind == "success", outputs
    created = [o for o in steps.sandbox.find("opportunities") if o["title"] == "AC not cooling"]
    assert len(created) == 1 and outputs["request_id"] == str(created[0]["id"])


def test_a_redelivered_event_creates_once_and_completes_once(steps):
    steps.sandbox.inject(path="/opportunities", method="POST", latency=1.0, times=1)
    event = function_executed(Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS, "Fx0TWICE")
    assert steps.event(event, event_id="Ev0FIRST").status == 200
    # Slack's retry of the delivery while the first is still saving, then after it finished.
    assert steps.event(event, event_id="Ev0FIRST", retry_num=1).status == 200
    assert ended(steps, "Fx0TWICE")[0] == "success"
    assert steps.event(event, event_id="Ev0FIRST", retry_num=2).status == 200
    assert steps.event(event, event_id="Ev0ANOTHER").status == 200
    time.sleep(0.5)  # let a wrongly re-run step show itself before counting
    assert len(writes(steps, "POST", "/opportunities")) == 1
    assert completions(steps, "Fx0TWICE") == ["functions.completeSuccess"]


def test_a_redelivery_after_slack_missed_the_completion_answers_from_the_stored_request(steps):
    steps.fake_slack.fail("functions.completeSuccess", "internal_error", times=1)
    event = function_executed(Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS, "Fx0MISSED")
    steps.event(event, event_id="Ev0MISSED")
    steps.wait_until(
        lambda: (
            steps.store.db.execute(
                "select status from slack_events where event_id = ?",
                ["function_execution:Fx0MISSED"],
            ).fetchone()
            == ("failed",)
        )
    )
    steps.event(event, event_id="Ev0MISSED", retry_num=1)
    steps.fake_slack.wait_call(lambda c: c.method == "functions.completeSuccess" and c.ok)
    outputs = steps.fake_slack.calls_to("functions.completeSuccess")[-1]["outputs"]
    created = [o for o in steps.sandbox.find("opportunities") if o["title"] == "AC not cooling"]
    assert len(created) == 1 and len(writes(steps, "POST", "/opportunities")) == 1
    assert str(created[0]["id"]) in str(outputs)


# --- Log a call in Coperniq --------------------------------------------------------------------


def _call_inputs(record: str, **overrides: Any) -> dict[str, Any]:
    return {
        "record": record,
        "direction": "Inbound",
        "from_number": "512-555-0177",
        "started_at": STARTED,
        "duration_minutes": 7,
        "reason": "Service",
        "disposition": "visit scheduled",
        "outcome": "answered",
        "note": "Wants a visit Thursday",
        **overrides,
    }


def test_log_call_logs_the_call_on_the_typed_project_and_outputs_its_link(steps):
    project = _project(steps)
    kind, outputs = run(
        steps, Callback.STEP_LOG_CALL, _call_inputs(f"#{project['number']}", logged_by=USER)
    )
    assert kind == "success", outputs
    posts = writes(steps, "POST", f"/projects/{project['id']}/calls")
    assert len(posts) == 1 and posts[0].status in (200, 201)
    body = posts[0].body
    assert {k: body[k] for k in body if k != "note"} == {
        "fromNumber": "+15125550177",
        "toNumber": "+15125550100",  # the company's number on the company's side
        "isInbound": True,
        "startTime": "2025-12-01T12:00:00Z",
        "endTime": "2025-12-01T12:07:00Z",
        "reason": "SERVICE",
        "disposition": "VISIT_SCHEDULED",
        "outcome": "ANSWERED",
    }
    assert body["note"].startswith("Wants a visit Thursday\n— logged from Slack by ")
    assert outputs["record_id"] == str(project["id"])
    assert outputs["record_number"] == str(project["number"])
    assert outputs["record_url"] == f"{APP_URL}/project/{project['id']}"
    logged = [c for c in steps.sandbox.find("calls") if c.get("note") == body["note"]]
    assert len(logged) == 1 and outputs["call_id"] == str(logged[0]["id"])
    assert steps.sandbox.conformance_errors == []


def test_bad_call_input_is_refused_before_any_coperniq_call(steps):
    before = len(steps.sandbox.requests)
    kind, error = run(
        steps,
        Callback.STEP_LOG_CALL,
        _call_inputs("1042", direction="sideways", duration_minutes=0, reason="chat"),
    )
    assert kind == "error"
    assert error.startswith("The call was not logged.")
    assert "Direction: Use inbound or outbound." in error
    assert "Duration (minutes): Give whole minutes from 1 to 1440." in error
    assert "Reason: Use one of: product, process, service" in error
    assert len(steps.sandbox.requests) == before


def test_a_record_nobody_has_fails_with_what_to_type(steps):
    kind, error = run(steps, Callback.STEP_LOG_CALL, _call_inputs("project 987654"))
    assert kind == "error"
    assert "no Coperniq project, request or client matches “project 987654”" in error
    assert writes(steps, "POST", "/projects") == []


# --- Add a note to a Coperniq record -----------------------------------------------------------


def test_add_note_posts_the_text_on_a_linked_request_once_per_execution(steps):
    request = next(o for o in steps.sandbox.find("opportunities") if o.get("id"))
    link = f"{APP_URL}/request/{request['id']}"
    inputs = {"record": link, "text": "Customer asked for a morning slot"}
    event = function_executed(Callback.STEP_ADD_NOTE, inputs, "Fx0NOTE")
    steps.event(event, event_id="Ev0NOTE")
    kind, outputs = ended(steps, "Fx0NOTE")
    assert kind == "success", outputs
    steps.event(event, event_id="Ev0NOTE", retry_num=1)
    time.sleep(0.3)
    posts = writes(steps, "POST", f"/opportunities/{request['id']}/notes")
    assert len(posts) == 1
    assert posts[0].body == {
        "body": "Customer asked for a morning slot\n— from Slack by a Slack workflow"
    }
    notes = steps.sandbox.find("notes")
    assert outputs == {
        "note_id": str(notes[-1]["id"]),
        "record_id": str(request["id"]),
        "record_number": "" if request.get("number") is None else str(request["number"]),
        "record_url": link,
    }
    # The same note in another run of the workflow is another note.
    assert run(steps, Callback.STEP_ADD_NOTE, inputs)[0] == "success"
    assert len(writes(steps, "POST", f"/opportunities/{request['id']}/notes")) == 2
    assert completions(steps, "Fx0NOTE") == ["functions.completeSuccess"]


def test_a_link_to_another_site_is_refused(steps):
    kind, error = run(
        steps,
        Callback.STEP_ADD_NOTE,
        {"record": "https://example.com/project/12", "text": "hello"},
    )
    assert kind == "error"
    assert "is not a Coperniq link" in error and APP_URL in error


def test_an_empty_note_is_refused(steps):
    kind, error = run(steps, Callback.STEP_ADD_NOTE, {"record": "1042", "text": "  "})
    assert (kind, error) == ("error", "The note was not added. Note: write the note's text.")


def test_coperniq_unreachable_fails_the_step_with_a_readable_message(steps_without_coperniq):
    kind, error = run(
        steps_without_coperniq, Callback.STEP_ADD_NOTE, {"record": "1042", "text": "hi"}
    )
    assert kind == "error"
    assert error.startswith("Could not look up “1042” in Coperniq.")
    assert "could not reach Coperniq" in error
    assert "127.0.0.1" not in error and "Traceback" not in error


def test_a_note_on_a_client_typed_by_number_goes_to_that_client(steps):
    account = next(a for a in steps.sandbox.find("accounts") if a.get("number"))
    kind, outputs = run(
        steps,
        Callback.STEP_ADD_NOTE,
        {"record": f"client #{account['number']}", "text": "Prefers texts", "written_by": USER},
    )
    assert kind == "success", outputs
    posts = writes(steps, "POST", f"/accounts/{account['id']}/notes")
    assert len(posts) == 1 and posts[0].body["body"].startswith("Prefers texts\n— from Slack by ")
    assert outputs["record_url"] == f"{APP_URL}/client/{account['id']}"


def test_a_bug_fails_the_step_with_a_generic_sentence_and_no_details(steps, monkeypatch):
    import handlers.functions.steps as step_listeners

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("token xoxb-secret at /srv/bot/flows.py line 12")

    monkeypatch.setattr(step_listeners, "create_request", broken)
    kind, error = run(steps, Callback.STEP_CREATE_REQUEST, REQUEST_INPUTS)
    assert kind == "error"
    assert error.startswith("Something went wrong in the Coperniq bot")
    assert "xoxb" not in error and "flows.py" not in error
