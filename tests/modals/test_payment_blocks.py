"""The record-payment modal's pure parts: the amount as typed, the day sent, the fingerprint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.payment import parse_amount, validate_payment
from bot.flows.payment import Entry, fingerprint_details, paid_at
from bot.ids import Block

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1200", Decimal("1200.00")),
        ("1200.5", Decimal("1200.50")),
        ("$1,200.00", Decimal("1200.00")),
        (" 12.500 ", Decimal("12.50")),  # trailing zeros are still cents
        (".75", Decimal("0.75")),
    ],
)
def test_amounts_as_clerks_type_them_are_read_as_dollars(typed: str, amount: Decimal) -> None:
    assert parse_amount(typed) == amount


@pytest.mark.parametrize("typed", ["", "abc", "1,20", "1e3", "12.345", "0", "0.00", "-5", "$-5"])
def test_anything_else_is_a_sentence_not_an_amount(typed: str) -> None:
    assert isinstance(parse_amount(typed), str)


def test_every_problem_is_reported_at_once() -> None:
    errors = validate_payment(
        {"amount": "99.01", "method": "BITCOIN", "date": "2026-12-02", "reference": ""},
        balance=Decimal("99.00"),
        today=date(2026, 12, 1),
    )
    assert set(errors) == {Block.PAYMENT_AMOUNT, Block.PAYMENT_METHOD, Block.PAYMENT_DATE}
    assert "$99.00" in errors[Block.PAYMENT_AMOUNT]


def test_a_day_is_sent_at_noon_in_the_business_zone_but_never_after_now() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
    assert paid_at(date(2026, 11, 20), CHICAGO, now) == datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert paid_at(date(2026, 12, 1), CHICAGO, now) == now


def test_the_same_payment_is_the_same_whoever_types_the_reference() -> None:
    one = Entry(7, Decimal("10.00"), "CHECK", date(2026, 12, 1), "Chk  4417")
    two = Entry(7, Decimal("10.00"), "CHECK", date(2026, 12, 1), "chk 4417")
    assert fingerprint_details(one) == fingerprint_details(two)
    assert fingerprint_details(one) != fingerprint_details(
        Entry(7, Decimal("10.00"), "CASH", date(2026, 12, 1), "chk 4417")
    )
