from __future__ import annotations

from datetime import UTC, datetime

from bot.ids import Action, Block
from tests.modals.e2e import current, open_modal, posts_to, resubmit, submit, writes
from tests.modals.slackstate import check_message, check_options_response, fill
from tests.slack.harness import CHANNEL, USER

START = int(datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp())
CALL = {
    Block.CALL_FROM: "512-555-0177",
    Block.CALL_START: START,
    Block.CALL_DURATION: "12",
    Block.CALL_REASON: "SERVICE",
    Block.CALL_DISPOSITION: "VISIT_SCHEDULED",
    Block.CALL_OUTCOME: "ANSWERED",
    Block.CALL_NOTE: "Wants a visit Tuesday",
    Block.CALL_RECORDING: "https://recordings.example.com/c/1.mp3",
}


def _project(slack):
    return slack.sandbox.find("projects")[0]


def _input(view, base):
    return next(b for b in view["blocks"] if b.get("block_id", "").split("~")[0] == base)


def test_call_opens_at_once_with_the_company_number_on_the_to_side(slack):
    view = open_modal(slack, "call")
    assert slack.fake_slack.calls_to("views.update") == []
    assert slack.sandbox.requests == []  # nothing asked of Coperniq before the modal opened
    assert _input(view, Block.CALL_TO)["element"]["initial_value"] == "(512) 555-0100"
    assert "initial_value" not in _input(view, Block.CALL_FROM)["element"]


def test_record_search_offers_projects_requests_and_clients(slack):
    view = open_modal(slack, "call")
    project = _project(slack)
    reply = slack.block_suggestion(
        Action.CALL_RECORD, project["title"][:6], block_id=Block.CALL_RECORD, view_id=view["id"]
    )
    payload = reply.json()
    check_options_response(payload)
    values = [o["value"] for g in payload["option_groups"] for o in g["options"]]
    assert f"project:{project['id']}" in values
    assert all(v.split(":")[0] in ("project", "opportunity", "account") for v in values)


def test_switching_to_outbound_moves_the_company_number_to_from(slack):
    view = open_modal(slack, "call")
    state = fill(view, {Block.CALL_DIRECTION: "outbound", Block.CALL_FROM: "512-555-0177"})
    option = state["state"]["values"][Block.CALL_DIRECTION][Action.CALL_DIRECTION][
        "selected_option"
    ]
    slack.block_action(
        Action.CALL_DIRECTION,
        view_id=view["id"],
        block_id=Block.CALL_DIRECTION,
        values=state["state"]["values"],
        action={"type": "radio_buttons", "selected_option": option},
    )
    slack.wait_for("views.update")
    updated = current(slack, view["id"])
    assert _input(updated, Block.CALL_FROM)["element"]["initial_value"] == "(512) 555-0100"
    assert _input(updated, Block.CALL_TO)["element"]["initial_value"] == "512-555-0177"


def test_call_with_a_project_number_prefills_and_logs_one_call(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    record = _input(view, Block.CALL_RECORD)["element"]["initial_option"]
    assert record["value"] == f"project:{project['id']}"
    answer = submit(slack, view, CALL)
    assert answer["response_action"] == "update"
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    posts = writes(slack, "POST", f"/projects/{project['id']}/calls")
    assert len(posts) == 1 and posts[0].status in (200, 201)
    assert posts[0].body == {
        "fromNumber": "+15125550177",
        "toNumber": "+15125550100",
        "isInbound": True,
        "startTime": "2026-03-02T15:00:00Z",
        "endTime": "2026-03-02T15:12:00Z",
        "reason": "SERVICE",
        "disposition": "VISIT_SCHEDULED",
        "outcome": "ANSWERED",
        # Signed with the Slack profile's name (this person is linked to no Coperniq user).
        "note": "Wants a visit Tuesday\n— logged from Slack by Test User U0USER",
        "recordingUrl": "https://recordings.example.com/c/1.mp3",
    }
    message = posts_to(slack, CHANNEL)[0]
    check_message({"text": message["text"], "blocks": message["blocks"]})
    assert f"#{project['number']}" in message["text"]
    assert f"/project/{project['id']}" in str(message["blocks"])
    assert "9:00 AM CST" in str(message["blocks"])  # shown in BOT_TIMEZONE
    rows = list(
        slack.store.db.query("select slack_user, action, record_type, record_id from audit_log")
    )
    assert rows == [
        {
            "slack_user": USER,
            "action": "log_call",
            "record_type": "project",
            "record_id": str(project["id"]),
        }
    ]


def test_the_find_button_opens_the_modal_on_that_request(slack):
    opp = slack.sandbox.find("opportunities")[0]
    slack.block_action(Action.OPEN_CALL_MODAL, value=f"opportunity:{opp['id']}")
    slack.wait_for("views.update")
    view = current(slack, slack.last_view_id())
    assert _input(view, Block.CALL_RECORD)["element"]["initial_option"]["value"] == (
        f"opportunity:{opp['id']}"
    )
    submit(slack, view, {**CALL, Block.CALL_DIRECTION: "inbound"})
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    assert len(writes(slack, "POST", f"/opportunities/{opp['id']}/calls")) == 1


def test_invalid_call_shows_every_error_and_sends_nothing(slack):
    view = open_modal(slack, "call")
    answer = submit(
        slack,
        view,
        {
            **CALL,
            Block.CALL_FROM: "12",
            Block.CALL_END: START - 60,
            Block.CALL_RECORDING: "ftp://x/y.mp3",
        },
    )
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert Block.CALL_RECORD in errors and Block.CALL_END in errors
    assert Block.CALL_RECORDING in errors
    assert any(k.startswith(Block.CALL_FROM) for k in errors)  # on the real (versioned) block id
    assert set(errors) <= {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert [r for r in slack.sandbox.requests if r.method == "POST"] == []


def test_a_repeated_call_submission_logs_once(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    submit(slack, view, CALL)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    answer = resubmit(slack, view, CALL)
    assert "already logged" in str(answer["view"]["blocks"])
    assert len(writes(slack, "POST", f"/projects/{project['id']}/calls")) == 1


def test_when_the_bot_is_not_in_the_channel_the_confirmation_goes_to_a_dm(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    slack.fake_slack.fail("chat.postMessage", "not_in_channel", times=1)
    submit(slack, view, CALL)
    dm = slack.wait_until(
        lambda: [
            c for c in slack.fake_slack.calls_to("chat.postMessage") if c.get("channel") == USER
        ]
    )
    assert "can't post in" in dm[0]["text"] and f"#{project['number']}" in dm[0]["text"]
    assert len(writes(slack, "POST", f"/projects/{project['id']}/calls")) == 1


def test_an_unknown_record_in_the_command_leaves_the_search_open_with_a_note(slack):
    view = open_modal(slack, "call no-such-customer-anywhere", updates=1)
    assert "No single project matches" in str(view["blocks"])
    assert "initial_option" not in _input(view, Block.CALL_RECORD)["element"]


def test_a_slow_record_type_is_left_out_rather_than_losing_the_whole_answer(slack):
    view = open_modal(slack, "call")
    project = _project(slack)
    slack.sandbox.inject(path="/accounts", method="GET", latency=5.0, times=1)
    reply = slack.block_suggestion(
        Action.CALL_RECORD, project["title"][:6], block_id=Block.CALL_RECORD, view_id=view["id"]
    )
    groups = {g["label"]["text"] for g in reply.json()["option_groups"]}
    assert "Projects" in groups and "Clients" not in groups


def test_a_note_cannot_ping_the_channel_and_every_line_stays_quoted(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    submit(slack, view, {**CALL, Block.CALL_NOTE: "Call back <!here>\n*asap* & <@U0BOSS>"})
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    message = posts_to(slack, CHANNEL)[0]
    shown = str(message["blocks"])
    assert "<!here>" not in shown and "<@U0BOSS>" not in shown
    assert "> Call back &lt;!here&gt;\\n> *asap* &amp; &lt;@U0BOSS&gt;" in shown


def test_an_answer_the_bot_cannot_read_keeps_the_typed_call_and_an_unknown_outcome(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    path = f"/projects/{project['id']}/calls"
    slack.sandbox.inject(path=path, method="POST", status=201, body=[], times=1)
    before = len(slack.fake_slack.calls_to("views.update"))
    submit(slack, view, CALL)
    slack.wait_for("views.update", before + 1, timeout=10)
    shown = slack.fake_slack.calls_to("views.update")[-1]["view"]
    assert _input(shown, Block.CALL_NOTE)["element"]["initial_value"] == CALL[Block.CALL_NOTE]
    assert "may or may not" in str(shown["blocks"])
    assert [r["state"] for r in slack.store.db.query("select state from submissions")] == [
        "unknown"
    ]


def test_a_request_number_in_the_command_prefills_that_request(slack):
    opp = slack.sandbox.find("opportunities")[0]
    view = open_modal(slack, f"call {opp['number']}", updates=1)
    assert _input(view, Block.CALL_RECORD)["element"]["initial_option"]["value"] == (
        f"opportunity:{opp['id']}"
    )


def test_a_one_character_search_costs_no_coperniq_call(slack):
    view = open_modal(slack, "call")
    before = len(slack.sandbox.requests)
    reply = slack.block_suggestion(
        Action.CALL_RECORD, "1", block_id=Block.CALL_RECORD, view_id=view["id"]
    )
    assert reply.json() == {"options": []}
    assert len(slack.sandbox.requests) == before


def test_a_plain_500_says_coperniq_had_a_problem_not_that_it_was_slow(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    slack.sandbox.inject(
        path=f"/projects/{project['id']}/calls", method="POST", status=500, times=2
    )
    before = len(slack.fake_slack.calls_to("views.update"))
    submit(slack, view, CALL)
    slack.wait_for("views.update", before + 1, timeout=10)
    shown = str(slack.fake_slack.calls_to("views.update")[-1]["view"]["blocks"])
    assert "had a problem while saving" in shown and "may or may not" in shown
    assert "in time" not in shown


def test_a_call_coperniq_numbers_0_is_logged_once_not_taken_for_a_failure(slack):
    project = _project(slack)
    view = open_modal(slack, f"call {project['number']}", updates=1)
    path = f"/projects/{project['id']}/calls"
    answer = {"id": 0, "projectId": project["id"], "reason": "SERVICE", "disposition": "RESOLVED"}
    slack.sandbox.inject(path=path, method="POST", status=201, body=answer, times=1)
    submit(slack, view, CALL)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    assert [r["state"] for r in slack.store.db.query("select state from submissions")] == ["done"]
    assert len(writes(slack, "POST", path)) == 1
