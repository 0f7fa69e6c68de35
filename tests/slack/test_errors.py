"""The global error handler: logs with traceback and tells the person something short and useful."""

from __future__ import annotations

import logging
import time

import pytest

from bot.app import GENERIC_ERROR
from bot.coperniq.errors import ServerError
from tests.slack.harness import USER, SlackHarness


def _broken(exc: Exception):
    def listener(ack, body) -> None:
        ack()
        # Bolt 1.x resets the ack to None when a listener raises after acking; if that lands
        # before its request thread (polling every 10 ms) has seen the ack, Slack is answered
        # 404. Real listeners work between ack and failure; give the ack that moment here too.
        time.sleep(0.2)
        raise exc

    return listener


def test_an_unexpected_error_is_logged_and_the_person_told(
    bare_slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    bare_slack.app.command("/broken")(_broken(RuntimeError("secret internals")))
    with caplog.at_level(logging.ERROR):
        reply = bare_slack.command("", command="/broken")
        assert reply.status == 200
        answer = bare_slack.wait_until(lambda: bare_slack.fake_slack.responses(reply.response_url))
    assert GENERIC_ERROR in answer[0]["text"]
    assert answer[0]["response_type"] == "ephemeral"
    assert "secret internals" not in answer[0]["text"]
    bare_slack.wait_until(lambda: any(r.exc_info for r in caplog.records))
    assert any("RuntimeError" in r.exc_text for r in caplog.records if r.exc_text)


def test_a_coperniq_error_reaches_the_person_as_its_user_message(bare_slack: SlackHarness) -> None:
    error = ServerError("upstream 503", status=503)
    bare_slack.app.command("/broken")(_broken(error))
    reply = bare_slack.command("", command="/broken")
    answer = bare_slack.wait_until(lambda: bare_slack.fake_slack.responses(reply.response_url))
    assert error.user_message in answer[0]["text"]


def test_an_error_from_a_modal_button_is_sent_to_the_person_directly(
    bare_slack: SlackHarness,
) -> None:
    # A modal has no channel and no response_url: the app's DM is the one place left.
    fake = bare_slack.fake_slack
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Test"}, "blocks": []}
    view = bare_slack.app.client.views_open(trigger_id=fake.new_trigger_id(), view=modal)["view"]
    bare_slack.app.action("boom")(_broken(RuntimeError("x")))
    assert bare_slack.block_action("boom", view_id=view["id"]).status == 200
    posted = bare_slack.wait_for("chat.postMessage")[0]
    assert posted["channel"] == USER
    assert GENERIC_ERROR in posted["text"]
