"""`/coperniq find` end to end: command, ack, Coperniq searches, ephemeral answer with buttons."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.find import build_find_empty, build_find_results, build_find_too_short
from bot.ids import Action
from bot.records import record_url
from tests.slack.harness import APP_URL, SlackHarness
from tests.slack.limits import assert_slack_limits


def _answer(slack: SlackHarness, reply: Any) -> dict[str, Any]:
    assert reply.status == 200
    assert reply.text == ""  # acked at once, empty: the answer comes through the response_url
    return slack.wait_until(lambda: slack.fake_slack.responses(reply.response_url))[0]


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _searches(slack: SlackHarness) -> list[Any]:
    return [r for r in slack.sandbox.requests if r.method == "GET" and "q" in r.query]


def test_find_lists_matching_records_with_their_buttons(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[0]
    word = max(project["title"].split(), key=len)
    message = _answer(slack, slack.command(f"find {word}"))
    assert message["response_type"] == "ephemeral"
    assert_slack_limits(message)
    assert project["title"] in json.dumps(message["blocks"])
    buttons = _buttons(message)
    value = f"project:{project['id']}"
    assert {"action_id": Action.OPEN_CALL_MODAL.value, "value": value}.items() <= next(
        b for b in buttons if b.get("value") == value
    ).items()
    photo = [b for b in buttons if b["action_id"] == Action.OPEN_PHOTO_MODAL.value]
    assert value in [b["value"] for b in photo]
    # Only projects get "Attach photos".
    assert all(b["value"].startswith("project:") for b in photo)
    links = [b["url"] for b in buttons if b["action_id"] == Action.OPEN_IN_COPERNIQ.value]
    assert record_url(APP_URL, "project", project["id"]) in links
    # One page of five per record type, searched with the client's `q` filter.
    searched = {r.path.rsplit("/", 1)[-1]: r.query for r in _searches(slack)}
    assert set(searched) == {"projects", "opportunities", "accounts"}
    assert all(q["q"] == word and q["page_size"] == "5" for q in searched.values())


def test_find_with_no_match_says_so(slack: SlackHarness) -> None:
    message = _answer(slack, slack.command("find qqzzxxyy-no-such-thing"))
    assert "Nothing in Coperniq matches" in message["text"]
    assert _buttons(message) == []


def test_find_with_a_too_short_query_asks_for_more_without_searching(slack: SlackHarness) -> None:
    message = _answer(slack, slack.command("find a"))
    assert "too short" in message["text"]
    assert _searches(slack) == []
    message = _answer(slack, slack.command("find"))
    assert "/coperniq find smith" in message["text"]


def test_find_when_coperniq_fails_tells_the_person_what_to_do(slack: SlackHarness) -> None:
    slack.sandbox.inject(path="*", status=401)
    message = _answer(slack, slack.command("find smith"))
    assert "couldn't search Coperniq" in message["text"]
    assert _buttons(message) == []
    assert "test-sandbox-key" not in message["text"]


def test_find_names_a_record_type_that_failed_beside_the_others(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[0]
    word = max(project["title"].split(), key=len)
    slack.sandbox.inject(path="/accounts*", status=403)
    message = _answer(slack, slack.command(f"find {word}"))
    assert project["title"] in json.dumps(message["blocks"])
    assert "Couldn't search clients" in message["text"]


def test_find_builders_stay_within_slack_limits() -> None:
    long = "x" * 400
    records = [
        {
            "id": i,
            "title": long,
            "number": i,
            "address": [long],
            "status": "ON_HOLD",
            "phase": {"name": long},
        }
        for i in range(5)
    ]
    results = {"project": records, "opportunity": records, "account": records}
    for message in (
        build_find_results("smith", results, APP_URL, errors={"account": "It failed."}),
        build_find_empty("<smith>"),
        build_find_too_short("/coperniq", "a"),
    ):
        assert_slack_limits(message)


def test_find_buttons_open_the_modals_for_that_record(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[0]
    word = max(project["title"].split(), key=len)
    message = _answer(slack, slack.command(f"find {word}"))
    value = f"project:{project['id']}"
    for action_id in (Action.OPEN_CALL_MODAL.value, Action.OPEN_PHOTO_MODAL.value):
        count = len(slack.fake_slack.calls_to("views.open"))
        button = next(
            b for b in _buttons(message) if b["action_id"] == action_id and b["value"] == value
        )
        reply = slack.block_action(action_id, value=button["value"], block_id="find_actions")
        assert reply.status == 200
        slack.wait_for("views.open", count=count + 1)
        view_id = slack.last_view_id()
        slack.wait_until(lambda v=view_id: project["title"] in json.dumps(slack.fake_slack.view(v)))


def test_without_a_response_url_the_answer_is_an_ephemeral_in_the_channel(
    bare_slack: SlackHarness,
) -> None:
    from handlers.views.common import answer_privately

    message = build_find_too_short("/coperniq", "")
    body = {"channel_id": "C0CHANNEL", "user_id": "U0USER"}
    answer_privately(message, body=body, client=bare_slack.app.client, respond=None)
    sent = bare_slack.wait_for("chat.postEphemeral")[0]
    assert (sent["channel"], sent["user"]) == ("C0CHANNEL", "U0USER")
    assert sent["text"] == message["text"]


def test_a_command_with_the_word_payload_in_it_is_still_answered(slack: SlackHarness) -> None:
    # Bolt reads any form body holding the letters "payload" as an interactivity payload.
    answer = _answer(slack, slack.command("find payload box"))
    assert "payload box" in answer["text"]
    assert [r.query["q"] for r in _searches(slack)] == ["payload box"] * 3
