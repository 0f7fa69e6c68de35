from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.blocks import call as callblocks
from bot.blocks.call import (
    build_call_modal,
    call_body,
    call_confirmation,
    numbers_for_direction,
    parse_call,
    validate_call,
)
from bot.blocks.records import record_options
from bot.ids import Block
from bot.records import parse_value
from tests.modals.slackstate import check_message, check_options_response, check_view, fill

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
START = int(NOW.timestamp())
COMPANY = "+15125550100"
META = {"c": "C0CHAN", "u": "U0USER"}
RECORD = {"text": {"type": "plain_text", "text": "Project #7"}, "value": "project:7"}


def _good(**over):
    values = {
        Block.CALL_RECORD: RECORD,
        Block.CALL_DIRECTION: "inbound",
        Block.CALL_FROM: "512-555-0177",
        Block.CALL_START: START,
        Block.CALL_DURATION: "12",
        Block.CALL_REASON: "SERVICE",
        Block.CALL_DISPOSITION: "VISIT_SCHEDULED",
        Block.CALL_NOTE: "Wants Tuesday",
    }
    values.update(over)
    return parse_call(fill(build_call_modal(META, now=NOW, company_phone=COMPANY), values))


def test_call_modal_fits_limits_and_puts_the_company_number_on_the_to_side_for_inbound():
    view = build_call_modal(META, now=NOW, company_phone=COMPANY, record_option=RECORD)
    check_view(view)
    data = parse_call(fill(view, {}))
    assert data["direction"] == "inbound"
    assert data["to"] == "(512) 555-0100" and data["from"] == ""
    assert data["start"] == START
    assert data["record"] == "project:7"


def test_switching_direction_moves_the_company_number_and_keeps_the_customer():
    assert numbers_for_direction("outbound", COMPANY, "512-555-0177", "(512) 555-0100") == (
        "(512) 555-0100",
        "512-555-0177",
    )
    assert numbers_for_direction("inbound", COMPANY, "(512) 555-0100", "512-555-0177") == (
        "512-555-0177",
        "(512) 555-0100",
    )
    assert numbers_for_direction("inbound", None, "1", "2") == ("1", "2")


def test_direction_change_gives_new_block_ids_so_slack_shows_the_new_numbers():
    a = build_call_modal(META, now=NOW, values={"direction": "inbound", "from": "x", "to": "y"})
    b = build_call_modal(META, now=NOW, values={"direction": "outbound", "from": "y", "to": "x"})
    ids = lambda v: {blk["block_id"] for blk in v["blocks"] if blk["type"] == "input"}  # noqa: E731
    assert ids(a) != ids(b)
    assert parse_call(fill(b, {}))["from"] == "y"


def test_valid_call_becomes_the_spec_body_with_e164_numbers_and_utc_times():
    data = _good()
    assert validate_call(data) == {}
    body = call_body(data)
    assert body == {
        "fromNumber": "+15125550177",
        "toNumber": COMPANY,
        "isInbound": True,
        "startTime": "2026-03-02T15:00:00Z",
        "endTime": "2026-03-02T15:12:00Z",
        "reason": "SERVICE",
        "disposition": "VISIT_SCHEDULED",
        "note": "Wants Tuesday",
    }


def test_end_time_wins_over_duration_and_must_follow_the_start():
    assert call_body(_good(**{Block.CALL_END: START + 600, Block.CALL_DURATION: None}))[
        "endTime"
    ] == ("2026-03-02T15:10:00Z")
    errors = validate_call(_good(**{Block.CALL_END: START - 60}))
    assert errors == {Block.CALL_END: "The end must be after the start."}


def test_every_problem_is_reported_at_once():
    data = _good(
        **{
            Block.CALL_RECORD: None,
            Block.CALL_FROM: "12",
            Block.CALL_DURATION: None,
            Block.CALL_REASON: None,
            Block.CALL_RECORDING: "ftp://x/rec.mp3",
        }
    )
    errors = validate_call(data)
    assert set(errors) == {
        Block.CALL_RECORD,
        Block.CALL_FROM,
        Block.CALL_DURATION,
        Block.CALL_REASON,
        Block.CALL_RECORDING,
    }


def test_recording_must_be_http_or_https():
    assert validate_call(_good(**{Block.CALL_RECORDING: "https://rec.example.com/1.mp3"})) == {}
    assert Block.CALL_RECORDING in validate_call(
        _good(**{Block.CALL_RECORDING: "javascript:alert(1)"})
    )


def test_enums_match_the_spec():
    spec_path = Path(__file__).parents[2] / "spec" / "coperniq-openapi.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    schemas = spec["components"]["schemas"]
    assert tuple(schemas["CallCreateReason"]["enum"]) == callblocks.REASONS
    assert tuple(schemas["CallCreateDisposition"]["enum"]) == callblocks.DISPOSITIONS
    assert tuple(schemas["CallCreateOutcome"]["enum"]) == callblocks.OUTCOMES


def test_record_options_stay_within_slack_limits():
    many = {
        t: [
            {"id": 10_000_000 + i, "number": i, "title": "T" * 120, "address": ["A" * 90]}
            for i in range(80)
        ]
        for t in ("project", "opportunity", "account")
    }
    payload = record_options(many)
    check_options_response(payload)
    values = [o["value"] for g in payload["option_groups"] for o in g["options"]]
    assert len(values) == 100
    assert parse_value(values[0]) == ("project", 10_000_000)
    assert record_options({}) == {"options": []}


def test_confirmation_shows_business_time_zone():
    body = call_body(_good())
    msg = call_confirmation(
        "Project #1042 · Smith",
        body,
        "https://app.example/projects/7",
        "U0USER",
        ZoneInfo("America/Chicago"),
    )
    check_message(msg)
    assert "9:00 AM CST" in msg["blocks"][0]["text"]["text"]
    assert "#1042" in msg["text"]


@pytest.mark.parametrize(
    ("start", "shown"),
    [
        (datetime(2026, 11, 1, 6, 50, tzinfo=UTC), "1:50 AM CDT"),  # clocks go back at 2:00
        (datetime(2026, 3, 8, 7, 50, tzinfo=UTC), "1:50 AM CST"),  # clocks go forward at 2:00
    ],
)
def test_a_call_across_a_dst_change_shows_its_real_length(start, shown):
    body = call_body(_good(**{Block.CALL_START: int(start.timestamp()), Block.CALL_DURATION: "20"}))
    msg = call_confirmation(
        "P", body, "https://app.example/p/7", "U0USER", ZoneInfo("America/Chicago")
    )
    text = msg["blocks"][0]["text"]["text"]
    assert shown in text and "20 min" in text
