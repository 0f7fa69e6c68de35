"""Odd and hostile input, over signed HTTP: a clear answer, no crash, and no Coperniq call."""

from __future__ import annotations

import pytest

from bot.blocks.common import MESSAGE_TEXT_MAX
from bot.ids import Action, Block
from sandbox.scenarios.modals import choose_project_and_form, input_block, open_form_with_file
from tests.modals.e2e import current, open_modal, submit, writes
from tests.modals.test_photo_e2e import JPEG


def _texts(view: dict) -> str:
    return " ".join(
        str((b.get("text") or {}).get("text", ""))
        + " ".join(str(e.get("text", "")) for e in b.get("elements") or [] if isinstance(e, dict))
        for b in view["blocks"]
    )


@pytest.mark.parametrize("typed", ["²", "١٢٣", "999999999999999999999", "0"])
@pytest.mark.parametrize("subcommand", ["call", "photo"])
def test_a_number_the_bot_cannot_use_is_named_in_the_modal_without_asking_coperniq(
    slack, subcommand: str, typed: str
) -> None:
    view = open_modal(slack, f"{subcommand} {typed}", updates=1)
    shown = _texts(view)
    assert "is not a record number" in shown and "0–9" in shown
    assert "Looking up" not in shown
    assert slack.sandbox.requests == []


def test_a_number_with_a_hash_is_read_as_the_number(slack) -> None:
    project = slack.sandbox.find("projects")[0]
    view = open_modal(slack, f"call #{project['number']}", updates=1)
    record = input_block(view, Block.CALL_RECORD)["element"]["initial_option"]
    assert record["value"] == f"project:{project['id']}"


@pytest.mark.parametrize(
    "value", ["project:1/../../users", "abc", "project:-1", "project:١٢٣", "project:" + "9" * 21]
)
def test_a_forged_project_choice_asks_again_without_asking_coperniq(slack, value: str) -> None:
    view = open_modal(slack, "photo")
    updates = len(slack.fake_slack.calls_to("views.update"))
    option = {"text": {"type": "plain_text", "text": "x"}, "value": value}
    reply = slack.block_action(
        Action.PHOTO_PROJECT,
        view_id=view["id"],
        block_id=Block.PHOTO_PROJECT,
        action={"type": "external_select", "selected_option": option},
    )
    assert reply.status == 200
    slack.wait_for("views.update", updates + 1)
    assert "Choose the project from the list again" in _texts(current(slack, view["id"]))
    assert slack.sandbox.requests == []


def test_a_forged_form_or_field_value_is_refused_inline_not_a_500(slack) -> None:
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    photo = slack.fake_slack.add_file(JPEG, "roof.jpg")
    form_block = input_block(view, Block.PHOTO_FORM)["block_id"]
    field_block = input_block(view, Block.PHOTO_FIELD)["block_id"]
    for forged in ({Block.PHOTO_FORM: "²"}, {Block.PHOTO_FIELD: "²"}):
        values = {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [photo], **forged}
        answer = submit(slack, view, values)
        assert answer["response_action"] == "errors"
        assert set(answer["errors"]) & {form_block, field_block}
    assert writes(slack, "POST", f"/projects/{project['id']}/files") == []


def test_an_unknown_subcommand_is_shown_escaped_and_short(slack) -> None:
    reply = slack.command("<!channel>")
    text = reply.json()["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    huge = slack.command("x" * 500_000)  # under the HTTP body limit, far over a message
    assert huge.status == 200
    answer = huge.json()
    assert len(answer["text"]) < 2000
    assert all(len(b["text"]["text"]) <= 3000 for b in answer["blocks"] if "text" in b)
    assert MESSAGE_TEXT_MAX == 40000


def test_a_search_too_long_to_mean_anything_costs_no_coperniq_call(slack) -> None:
    reply = slack.command("find " + "smith " * 200)
    assert reply.status == 200
    answer = slack.wait_until(lambda: slack.fake_slack.responses(reply.response_url))[0]
    assert "too long to search" in answer["text"]
    assert slack.sandbox.requests == []
