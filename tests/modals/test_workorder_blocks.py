"""The work-order modal's pure pieces: the form, its state, validation, the Coperniq bodies."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.common import base_id
from bot.blocks.workorder import (
    build_workorder_modal,
    create_body,
    fingerprint_details,
    parse_workorder,
    phase_options,
    signed_description,
    started_phases,
    template_options,
    update_body,
    user_option,
    validate_workorder,
    workorder_confirmation,
)
from bot.ids import Action, Block
from tests.modals.slackstate import check_message, check_view, fill

CHICAGO = ZoneInfo("America/Chicago")
TODAY = date(2026, 3, 2)
PROJECT = {"text": {"type": "plain_text", "text": "Project #1001"}, "value": "project:40001"}
TEMPLATES = [
    {"id": 805, "title": "Furnace Repair", "type": "FIELD"},
    {"id": 804, "title": "AC Tune-Up", "type": "FIELD"},
]


def _blocks(view):
    return {base_id(b.get("block_id", "")): b for b in view["blocks"] if b.get("block_id")}


def test_templates_are_offered_by_title_and_never_over_100():
    assert [o["value"] for o in template_options(TEMPLATES)] == ["804", "805"]
    many = [{"id": i, "title": f"T{i:03}"} for i in range(150)]
    assert len(template_options(many)) == 100


def test_only_phases_in_progress_are_offered():
    project = {
        "phaseInstances": [
            {"id": 1, "name": "Survey", "status": "COMPLETED"},
            {"id": 2, "name": "Install", "status": "IN_PROGRESS"},
            {"id": 3, "name": "Inspection", "status": "NOT_STARTED"},
        ]
    }
    assert started_phases(project) == [{"id": 2, "name": "Install"}]
    assert started_phases({}) == []


def test_the_form_for_a_project_has_phase_assignee_and_today_as_start_within_slacks_limits():
    view = build_workorder_modal(
        {"c": "C1", "u": "U1", "t": "abc"},
        templates=template_options(TEMPLATES),
        today=TODAY,
        record_option=PROJECT,
        phases=phase_options([{"id": 2, "name": "Install"}]),
        assignees=[user_option({"id": 1004, "first_name": "Tom", "last_name": "Nguyen"})],
        assignee_option={"text": {"type": "plain_text", "text": "Tom"}, "value": "1004"},
    )
    check_view(view)
    blocks = _blocks(view)
    assert blocks[Block.WORKORDER_RECORD]["dispatch_action"] is True
    assert blocks[Block.WORKORDER_PHASE]["block_id"] == f"{Block.WORKORDER_PHASE}~40001"
    assert blocks[Block.WORKORDER_ASSIGNEE]["element"]["initial_option"]["value"] == "1004"
    assert blocks[Block.WORKORDER_START]["element"]["initial_date"] == "2026-03-02"


def test_a_request_has_no_phase_and_many_users_are_searched():
    view = build_workorder_modal(
        {"t": "abc"},
        templates=template_options(TEMPLATES),
        today=TODAY,
        record_option={"text": {"type": "plain_text", "text": "R"}, "value": "opportunity:7"},
        assignees=None,
    )
    check_view(view)
    blocks = _blocks(view)
    assert Block.WORKORDER_PHASE not in blocks
    assert blocks[Block.WORKORDER_ASSIGNEE]["element"]["type"] == "external_select"
    assert blocks[Block.WORKORDER_ASSIGNEE]["element"]["action_id"] == Action.WORKORDER_ASSIGNEE


def test_parse_reads_back_what_was_chosen():
    view = build_workorder_modal(
        {"t": "abc"},
        templates=template_options(TEMPLATES),
        today=TODAY,
        record_option=PROJECT,
        phases=phase_options([{"id": 2, "name": "Install"}]),
        assignees=[user_option({"id": 1004, "first_name": "Tom", "last_name": "Nguyen"})],
    )
    filled = fill(view, {Block.WORKORDER_TEMPLATE: "804", Block.WORKORDER_PHASE: "2"})
    start = filled["state"]["values"][Block.WORKORDER_START][Action.INPUT]
    start.update({"type": "datepicker", "selected_date": "2026-03-04"})
    assert parse_workorder(filled) == {
        "record": "project:40001",
        "template": "804",
        "phase": "2",
        "assignee": None,
        "start": "2026-03-04",
    }


@pytest.mark.parametrize(
    ("data", "block"),
    [
        ({"template": "804"}, Block.WORKORDER_RECORD),
        ({"record": "project:1"}, Block.WORKORDER_TEMPLATE),
        ({"record": "account:1", "template": "804", "phase": "2"}, Block.WORKORDER_PHASE),
        ({"record": "project:1", "template": "804", "start": "2026-03-01"}, Block.WORKORDER_START),
        ({"record": "project:1", "template": "804", "start": "2027-04-01"}, Block.WORKORDER_START),
        ({"record": "project:1", "template": "804", "assignee": "x"}, Block.WORKORDER_ASSIGNEE),
    ],
)
def test_each_bad_choice_is_named_on_its_block(data, block):
    assert set(validate_workorder(data, TODAY)) == {block}


def test_a_good_form_has_no_errors():
    data = {"record": "project:1", "template": "804", "phase": "2", "start": "2026-03-02"}
    assert validate_workorder(data, TODAY) == {}


def test_the_create_body_is_the_specs_and_a_phase_goes_only_with_a_project():
    project = {"record": "project:1", "template": "804", "phase": "2", "assignee": "1004"}
    assert create_body(project) == {"templateId": 804, "phaseInstanceId": 2}
    assert create_body({"record": "account:9", "template": "804"}) == {"templateId": 804}


@pytest.mark.parametrize(
    ("day", "instant"),
    [
        ("2026-03-02", "2026-03-02T06:00:00Z"),  # CST
        ("2026-03-09", "2026-03-09T05:00:00Z"),  # CDT, the day after the change
    ],
)
def test_the_start_date_is_midnight_in_the_business_time_zone(day, instant):
    body = update_body({"start": day, "assignee": "1004"}, CHICAGO, "Desc")
    assert body == {
        "assigneeId": 1004,
        "startDate": instant,
        "startDateAllDay": True,
        "description": "Desc",
    }


def test_the_description_is_signed_once():
    once = signed_description("Seasonal maintenance.", "— created from Slack by Dana")
    assert once == "Seasonal maintenance.\n\n— created from Slack by Dana"
    assert signed_description(once, "— created from Slack by Dana") == once
    assert signed_description(None, "— created from Slack by Dana") == (
        "— created from Slack by Dana"
    )


def test_the_same_modal_and_choices_are_one_submission_whatever_the_assignee_or_date():
    data = {"record": "project:1", "template": "804", "phase": None, "assignee": "1", "start": None}
    same = fingerprint_details("tok", {**data, "assignee": "2", "start": "2026-03-05"})
    assert fingerprint_details("tok", data) == same
    assert fingerprint_details("other", data) != same
    assert fingerprint_details("tok", {**data, "template": "805"}) != same


def test_the_confirmation_names_number_title_record_and_links_it_safely():
    work_order = {
        "id": 100042,
        "uid": 42,
        "title": "AC Tune-Up <!channel>",
        "assignee": {"firstName": "Tom", "lastName": "Nguyen"},
        "startDate": "2026-03-03T06:00:00Z",
    }
    message = workorder_confirmation(
        work_order, "Project #1001 · Smith", "https://app.example.com/1/project/4", "U1", CHICAGO
    )
    check_message(message)
    shown = str(message["blocks"])
    assert "Work order #42" in message["text"] and "<!channel>" not in shown
    assert "Assigned to Tom Nguyen · starts Tue, Mar 3" in shown
    assert "https://app.example.com/1/project/4" in shown


def test_assignees_are_searched_in_the_cached_users_by_every_word(store):
    from bot.flows.workorder import search_users

    store.db["coperniq_users"].insert_all(
        [
            {
                "id": 1,
                "email_key": "tom@x.com",
                "email": "tom@x.com",
                "first_name": "Tom",
                "last_name": "Nguyen",
                "role_name": "Technician",
                "fetched_at": "2026-03-02",
            },
            {
                "id": 2,
                "email_key": "tomas@x.com",
                "email": "tomas@x.com",
                "first_name": "Tomas",
                "last_name": "Reyes",
                "role_name": None,
                "fetched_at": "2026-03-02",
            },
        ]
    )
    assert [u["id"] for u in search_users(store.db, "tom")] == [1, 2]
    assert [u["id"] for u in search_users(store.db, "TOM ngu")] == [1]
    assert user_option(search_users(store.db, "reyes")[0])["text"]["text"] == "Tomas Reyes"
