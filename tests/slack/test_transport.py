"""HTTP transport: signatures, health, the help, link buttons; all over real loopback HTTP."""

from __future__ import annotations

import json
import time

from bot.ids import Action
from tests.slack.harness import SlackHarness
from tests.slack.limits import assert_slack_limits


def test_a_bad_signature_is_refused_with_401(bare_slack: SlackHarness) -> None:
    reply = bare_slack.command("help", signature="v0=" + "0" * 64)
    assert reply.status == 401
    assert bare_slack.fake_slack.calls_to("views.open") == []


def test_a_stale_timestamp_is_refused_with_401(bare_slack: SlackHarness) -> None:
    reply = bare_slack.command("help", timestamp=int(time.time()) - 6 * 60)
    assert reply.status == 401


def test_a_signed_request_with_a_fresh_timestamp_is_accepted(bare_slack: SlackHarness) -> None:
    assert bare_slack.command("help").status == 200


def test_healthz_answers_ok_json(bare_slack: SlackHarness) -> None:
    response = bare_slack.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["ok"] is True


def test_unknown_paths_are_404(bare_slack: SlackHarness) -> None:
    assert bare_slack.get("/nope").status_code == 404


def _help_text(reply_json: dict) -> str:
    return reply_json["text"] + json.dumps(reply_json["blocks"])


def test_help_lists_every_available_subcommand_with_an_example(bare_slack: SlackHarness) -> None:
    from handlers.commands import available_subcommands

    reply = bare_slack.command("help")
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert_slack_limits(body)
    for module in available_subcommands():
        assert f"/coperniq {module.NAME}" in body["text"]
        assert module.HELP in body["text"]
        assert module.EXAMPLE in body["text"]


def test_an_empty_command_answers_the_help(bare_slack: SlackHarness) -> None:
    body = bare_slack.command("").json()
    assert "/coperniq find" in body["text"]
    assert "don't know" not in body["text"]


def test_an_unknown_subcommand_answers_the_help_naming_it(bare_slack: SlackHarness) -> None:
    body = bare_slack.command("frobnicate the widgets").json()
    assert "I don't know “frobnicate”" in body["text"]
    assert "/coperniq find" in body["text"]


def test_help_uses_the_configured_command_name(fake_slack, tmp_path) -> None:
    from types import SimpleNamespace

    from tests.slack.harness import running_harness

    nowhere = SimpleNamespace(base_url="http://127.0.0.1:9/v1", api_key="k")
    with running_harness(fake_slack, nowhere, tmp_path, slack_command="/cq") as slack:
        body = slack.command("help", command="/cq").json()
        assert "`/cq find`" in _help_text(body)
        assert "/coperniq" not in body["text"]
        # The command Slack would never send to this app is not routed.
        assert slack.command("help", command="/coperniq").status == 404


def test_open_in_coperniq_link_clicks_are_acked(bare_slack: SlackHarness) -> None:
    reply = bare_slack.block_action(Action.OPEN_IN_COPERNIQ.value)
    assert reply.status == 200
