"""Invoice payments through the client: paths, the spec's body, checks and the write policy."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.coperniq import CoperniqClient
from bot.coperniq.errors import NotFound, ServerError, Timeout
from bot.coperniq.resources.invoices import (
    PAYMENT_METHOD_LABELS,
    PAYMENT_METHODS,
    payment_amount,
    payment_time,
)
from bot.store import Store
from tests.conftest import SANDBOX_KEY
from tests.coperniq.conftest import Clock, Sleeper, last, to

PAID_AT = datetime(2026, 1, 14, 15, 30, tzinfo=ZoneInfo("America/Chicago"))


def open_invoice(sb: Any) -> dict[str, Any]:
    """A seeded SENT invoice with more than $200 left to pay."""
    found = [i for i in sb.find("invoices", status="SENT") if i["amount"] - i["amountPaid"] > 200]
    assert found, "the sandbox has no SENT invoice with a balance"
    return found[0]


# --- constants ------------------------------------------------------------------------------


def test_payment_methods_are_the_spec_enum() -> None:
    spec_path = Path(__file__).parents[2] / "spec" / "coperniq-openapi.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    assert PAYMENT_METHODS == tuple(
        spec["components"]["schemas"]["PaymentCreatePaymentMethod"]["enum"]
    )


def test_every_method_has_a_label() -> None:
    assert tuple(PAYMENT_METHOD_LABELS) == PAYMENT_METHODS
    assert PAYMENT_METHOD_LABELS["CREDIT_CARD"] == "Credit card"
    assert PAYMENT_METHOD_LABELS["ACH"] == "ACH bank transfer"
    assert PAYMENT_METHOD_LABELS["CHECK"] == "Check"
    assert all(label.strip() for label in PAYMENT_METHOD_LABELS.values())


# --- argument checks (no server) --------------------------------------------------------------


@pytest.mark.parametrize(
    "amount,sent",
    [
        (Decimal("125.50"), 125.5),
        (Decimal("12.345"), 12.35),
        (0.1 + 0.2, 0.3),
        (1.005, 1.01),
        (40, 40.0),
        (Decimal("0.01"), 0.01),
    ],
)
def test_amounts_are_sent_as_dollars_rounded_to_the_cent(amount: Any, sent: float) -> None:
    assert payment_amount(amount) == sent


@pytest.mark.parametrize(
    "amount",
    [0, -1, Decimal("0.004"), float("nan"), float("inf"), Decimal("NaN"), True, "12.50", None],
)
def test_amounts_that_are_not_positive_dollars_are_refused(amount: Any) -> None:
    with pytest.raises(ValueError):
        payment_amount(amount)


def test_payment_times_are_sent_as_utc() -> None:
    assert payment_time(PAID_AT) == "2026-01-14T21:30:00Z"
    assert payment_time("2026-01-14T15:30:00-06:00") == "2026-01-14T21:30:00Z"
    assert payment_time("2026-01-14T21:30:00Z") == "2026-01-14T21:30:00Z"


@pytest.mark.parametrize(
    "paid_at",
    ["2026-01-14", "2026-01-14T15:30:00", "last tuesday", "", datetime(2026, 1, 14, 15, 30), 5],
)
def test_payment_times_without_a_zone_are_refused(paid_at: Any) -> None:
    with pytest.raises(ValueError):
        payment_time(paid_at)


# --- requests -------------------------------------------------------------------------------


def test_payments_and_payment_send_gets_on_the_spec_paths(client: CoperniqClient, sb: Any) -> None:
    inv = next(i for i in sb.all("invoices") if sb.payments(i["id"]))
    iid = inv["id"]
    listed = client.invoices.payments(iid)
    assert last(sb) == ("GET", f"/invoices/{iid}/payments", {}, None)
    assert listed == sb.payments(iid)
    pid = listed[0]["id"]
    assert client.invoices.payment(str(iid), pid) == listed[0]
    assert last(sb) == ("GET", f"/invoices/{iid}/payments/{pid}", {}, None)


def test_record_payment_sends_the_spec_body(client: CoperniqClient, sb: Any) -> None:
    iid = open_invoice(sb)["id"]
    client.invoices.record_payment(
        iid,
        amount=Decimal("125.499"),
        method="CHECK",
        paid_at=PAID_AT,
        notes="Mailed check",
        reference="4417",
    )
    assert last(sb) == (
        "POST",
        f"/invoices/{iid}/payments",
        {},
        {
            "amount": 125.5,
            "paymentMethod": "CHECK",
            "paymentDate": "2026-01-14T21:30:00Z",
            "notes": "Mailed check",
            "paymentReference": "4417",
        },
    )


def test_blank_notes_and_reference_are_left_out(client: CoperniqClient, sb: Any) -> None:
    iid = open_invoice(sb)["id"]
    client.invoices.record_payment(
        iid, amount=20, method="CASH", paid_at="2026-01-14T21:30:00Z", notes="  ", reference=""
    )
    assert last(sb)[3] == {
        "amount": 20.0,
        "paymentMethod": "CASH",
        "paymentDate": "2026-01-14T21:30:00Z",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "BITCOIN"},
        {"method": "check"},
        {"method": None},
        {"amount": 0},
        {"amount": "20"},
        {"paid_at": datetime(2026, 1, 14, 15, 30)},
        {"paid_at": "2026-01-14"},
        {"notes": 5},
        {"reference": 4417},
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    client: CoperniqClient, sb: Any, kwargs: dict[str, Any]
) -> None:
    args: dict[str, Any] = {"amount": 20, "method": "ACH", "paid_at": PAID_AT} | kwargs
    before = len(sb.requests)
    with pytest.raises(ValueError):
        client.invoices.record_payment(open_invoice(sb)["id"], **args)
    assert len(sb.requests) == before


@pytest.mark.parametrize("bad", ["12/3", "../invoices", "-1", "1.5", "", "abc"])
def test_ids_are_checked_before_any_request(client: CoperniqClient, sb: Any, bad: str) -> None:
    before = len(sb.requests)
    with pytest.raises(ValueError):
        client.invoices.payments(bad)
    with pytest.raises(ValueError):
        client.invoices.payment(bad, 1)
    with pytest.raises(ValueError):
        client.invoices.payment(1, bad)
    with pytest.raises(ValueError):
        client.invoices.record_payment(bad, amount=20, method="ACH", paid_at=PAID_AT)
    assert len(sb.requests) == before


# --- against the running sandbox ------------------------------------------------------------


def test_a_payment_recorded_through_the_client_updates_the_invoice(
    client: CoperniqClient, sb: Any
) -> None:
    inv = open_invoice(sb)
    iid = inv["id"]
    view = client.interactive  # a person waits in Slack while it is recorded
    pay = view.invoices.record_payment(
        iid, amount=Decimal("150.00"), method="CREDIT_CARD", paid_at=PAID_AT, reference="ch_1"
    )
    assert pay["id"] and pay["amount"] == 150.0 and pay["paymentMethod"] == "CREDIT_CARD"
    assert pay["paymentDate"].startswith("2026-01-14T21:30:00")
    after = view.invoices.get(iid)
    assert after["status"] == "PARTIALLY_PAID"
    assert after["amountPaid"] == round(inv["amountPaid"] + 150, 2)
    assert after["updatedAt"] > inv["updatedAt"]
    assert view.invoices.payments(iid)[-1] == pay
    assert view.invoices.payment(iid, pay["id"]) == pay

    balance = Decimal(str(after["amount"])) - Decimal(str(after["amountPaid"]))
    view.invoices.record_payment(iid, amount=balance, method="ACH", paid_at=PAID_AT)
    assert view.invoices.get(iid)["status"] == "PAID"


def test_a_payment_is_not_resent_after_a_5xx(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    iid = open_invoice(sb)["id"]
    # Coperniq saved it, but the answer was lost: sending it again would record it twice.
    sb.inject(path="/invoices/*/payments", method="POST", status=502, times=1, apply_first=True)
    with pytest.raises(ServerError) as info:
        client.invoices.record_payment(iid, amount=77, method="ACH", paid_at=PAID_AT)
    assert info.value.outcome_unknown is True
    assert [r[0] for r in to(sb, f"/invoices/{iid}/payments")] == ["POST"]
    assert sleeper.calls == []
    # The caller looks before trying again, and finds it.
    assert client.invoices.payments(iid)[-1]["amount"] == 77


def test_a_payment_that_timed_out_is_not_resent(
    sb: Any, store: Store, sleeper: Sleeper, clock: Clock
) -> None:
    c = CoperniqClient(
        SANDBOX_KEY, sb.base_url, store=store, sleep=sleeper, clock=clock, timeout=0.3
    )
    iid = open_invoice(sb)["id"]
    sb.inject(path="/invoices/*/payments", method="POST", latency=1.0, times=1)
    with pytest.raises(Timeout) as info:
        c.invoices.record_payment(iid, amount=55, method="CASH", paid_at=PAID_AT)
    assert info.value.outcome_unknown is True
    assert sleeper.calls == []
    # The sandbox records the request once its held answer is done (the client has gone).
    deadline = time.monotonic() + 10
    while not to(sb, f"/invoices/{iid}/payments") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r[0] for r in to(sb, f"/invoices/{iid}/payments")] == ["POST"]
    c.close()


def test_a_rate_limited_payment_is_sent_again(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    iid = open_invoice(sb)["id"]
    sb.inject(
        path="/invoices/*/payments",
        method="POST",
        status=429,
        times=1,
        retry_after=1,
        body={"message": "slow down", "code": "RATE_LIMIT_EXCEEDED"},
    )
    pay = client.invoices.record_payment(iid, amount=12, method="CHECK", paid_at=PAID_AT)
    assert pay["amount"] == 12
    assert [r[0] for r in to(sb, f"/invoices/{iid}/payments")] == ["POST", "POST"]
    # A 429 means nothing was done, so the write policy sends it again after Retry-After.
    assert len(sleeper.calls) == 1 and sleeper.calls[0] >= 1.0


def test_an_unknown_invoice_is_not_found(client: CoperniqClient, sb: Any, sleeper: Sleeper) -> None:
    with pytest.raises(NotFound):
        client.invoices.record_payment(999999, amount=5, method="ACH", paid_at=PAID_AT)
    with pytest.raises(NotFound):
        client.invoices.payments(999999)
    iid = open_invoice(sb)["id"]
    with pytest.raises(NotFound):
        client.invoices.payment(iid, 999999)
    assert [r[0] for r in to(sb, "/invoices/999999/payments")] == ["POST", "GET"]
    assert sleeper.calls == []
