from __future__ import annotations

from bot.blocks.common import decode_metadata
from bot.blocks.request import (
    DEFAULT_TRADES,
    build_request_modal,
    fingerprint_details,
    opportunity_body,
    parse_request,
    request_confirmation,
    request_done_modal,
    trades_from_properties,
    validate_request,
)
from bot.ids import Block, Callback
from tests.modals.slackstate import check_message, check_view, fill

META = {"c": "C0CHAN", "u": "U0USER"}

GOOD = {
    Block.REQUEST_TITLE: "AC not cooling",
    Block.REQUEST_ADDRESS: "12 Oak St, Austin, TX 78701",
    Block.REQUEST_TRADES: ["HVAC"],
    Block.REQUEST_CONTACT: "Dana Smith",
    Block.REQUEST_PHONE: "(512) 555-0134",
    Block.REQUEST_EMAIL: "Dana@Example.com",
    Block.REQUEST_DESCRIPTION: "Unit blowing warm air",
}


def test_request_modal_fits_slack_limits_and_carries_the_channel():
    view = build_request_modal(META, DEFAULT_TRADES)
    check_view(view)
    assert view["callback_id"] == Callback.REQUEST_MODAL
    assert decode_metadata(view) == META


def test_request_modal_caps_a_long_trade_list_at_100_options():
    view = build_request_modal(META, [f"Trade {i} " + "x" * 90 for i in range(150)])
    check_view(view)


def test_parse_then_body_normalises_phone_and_email():
    data = parse_request(fill(build_request_modal(META, DEFAULT_TRADES), GOOD))
    assert validate_request(data) == {}
    body = opportunity_body(data)
    assert body["title"] == "AC not cooling"
    assert body["address"] == ["12 Oak St, Austin, TX 78701"]
    assert body["trades"] == ["HVAC"]
    assert body["primaryPhone"] == "+15125550134"
    assert body["primaryEmail"] == "dana@example.com"
    assert "Dana Smith" in body["description"] and "Unit blowing warm air" in body["description"]
    assert "accountId" not in body


def test_an_existing_client_becomes_the_account_id():
    data = parse_request(
        fill(
            build_request_modal(META, DEFAULT_TRADES), {**GOOD, Block.REQUEST_CLIENT: "account:77"}
        )
    )
    assert validate_request(data) == {}
    assert opportunity_body(data)["accountId"] == 77


def test_every_problem_is_reported_at_once_on_its_block():
    data = parse_request(
        fill(
            build_request_modal(META, DEFAULT_TRADES),
            {
                Block.REQUEST_TITLE: "  ",
                Block.REQUEST_PHONE: "555-01",
                Block.REQUEST_EMAIL: "nope@",
            },
        )
    )
    errors = validate_request(data)
    assert set(errors) == {
        Block.REQUEST_TITLE,
        Block.REQUEST_ADDRESS,
        Block.REQUEST_TRADES,
        Block.REQUEST_CONTACT,
        Block.REQUEST_PHONE,
        Block.REQUEST_EMAIL,
    }


def test_a_refilled_form_shows_what_was_typed():
    data = parse_request(fill(build_request_modal(META, DEFAULT_TRADES), GOOD))
    again = parse_request(fill(build_request_modal(META, DEFAULT_TRADES, values=data), {}))
    assert again == data


def test_same_details_typed_differently_give_the_same_fingerprint():
    a = parse_request(fill(build_request_modal(META, DEFAULT_TRADES), GOOD))
    b = parse_request(
        fill(
            build_request_modal(META, DEFAULT_TRADES),
            {
                **GOOD,
                Block.REQUEST_TITLE: "ac  NOT cooling ",
                Block.REQUEST_PHONE: "+1 512 555 0134",
            },
        )
    )
    assert fingerprint_details(a) == fingerprint_details(b)
    c = parse_request(
        fill(build_request_modal(META, DEFAULT_TRADES), {**GOOD, Block.REQUEST_TITLE: "Leak"})
    )
    assert fingerprint_details(a) != fingerprint_details(c)


def test_trades_come_from_coperniq_properties_when_it_has_them():
    props = {
        "opportunity": [{"keyName": "trades", "name": "Trades", "options": ["Solar", "Roofing"]}]
    }
    assert trades_from_properties(props) == ["Solar", "Roofing"]
    assert trades_from_properties({"opportunity": [{"keyName": "trades", "options": []}]}) == []


def test_confirmation_and_done_modal_fit_slack_limits():
    record = {"id": 5, "number": 1042, "title": "AC not cooling", "address": ["12 Oak St"]}
    msg = request_confirmation(record, "https://app.example/opportunities/5", "U0USER")
    check_message(msg)
    assert "#1042" in msg["text"]
    check_view(request_done_modal(record, "https://app.example/opportunities/5"))


def test_blank_trades_are_left_out_of_the_choices():
    view = build_request_modal(META, ["Solar", "   ", "", "HVAC"])
    check_view(view)
    trades = next(b for b in view["blocks"] if b["block_id"].startswith(Block.REQUEST_TRADES))
    assert [o["value"] for o in trades["element"]["options"]] == ["Solar", "HVAC"]
