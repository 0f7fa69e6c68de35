"""The shared Slack-limits check catches what Slack would refuse."""

from __future__ import annotations

from tests.slack.limits import slack_limit_problems


def _section(i: int) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"line {i}"}}


def _modal(**fields) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Fine"},
        "blocks": [],
        **fields,
    }


def test_a_valid_message_and_modal_pass() -> None:
    assert slack_limit_problems({"text": "hi", "blocks": [_section(1)]}) == []
    assert slack_limit_problems(_modal(blocks=[_section(1)])) == []


def test_a_modal_title_over_24_characters_fails() -> None:
    problems = slack_limit_problems(_modal(title={"type": "plain_text", "text": "x" * 25}))
    assert problems


def test_too_many_blocks_fail() -> None:
    assert slack_limit_problems({"text": "x", "blocks": [_section(i) for i in range(51)]})
    assert slack_limit_problems(_modal(blocks=[_section(i) for i in range(101)]))


def test_blocks_without_a_text_fallback_fail() -> None:
    assert slack_limit_problems({"blocks": [_section(1)]}) == [
        "blocks without a plain text fallback"
    ]


def test_long_option_text_and_value_fail() -> None:
    select = {
        "type": "static_select",
        "action_id": "pick",
        "options": [{"text": {"type": "plain_text", "text": "t" * 76}, "value": "v" * 151}],
    }
    block = {
        "type": "input",
        "block_id": "b",
        "label": {"type": "plain_text", "text": "Pick"},
        "element": select,
    }
    problems = slack_limit_problems(
        _modal(blocks=[block], submit={"type": "plain_text", "text": "OK"})
    )
    assert any("option text" in p for p in problems)
    assert any("option value" in p for p in problems)
