"""Invoice payments in the sandbox: list, record, get; what one does to its invoice; errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from sandbox.coperniq import CoperniqSandbox
from sandbox.coperniq.conformance import SPEC_PATH
from sandbox.coperniq.seed import PAYMENT_METHODS
from tests.fakes.conftest import KEY, TODAY

PAID_AT = "2026-01-14T15:30:00Z"


def payment_body(**over: Any) -> dict[str, Any]:
    """A valid PaymentCreate body."""
    body: dict[str, Any] = {"amount": 100.0, "paymentMethod": "CHECK", "paymentDate": PAID_AT}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def an_invoice(s: CoperniqSandbox, status: str = "SENT") -> dict[str, Any]:
    """A seeded invoice in `status` with more than $100 left to pay."""
    found = [i for i in s.find("invoices", status=status) if i["amount"] - i["amountPaid"] > 100]
    assert found, f"no seeded {status} invoice with a balance"
    return found[0]


def test_the_sandbox_methods_are_the_spec_enum() -> None:
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert PAYMENT_METHODS == spec["components"]["schemas"]["PaymentCreatePaymentMethod"]["enum"]


def test_a_payment_is_recorded_listed_and_read(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    body = payment_body(amount=125.5, notes="Mailed check", paymentReference="4417")
    r = api.post(f"/invoices/{inv['id']}/payments", json=body)
    assert r.status_code == 201
    pay = r.json()
    assert pay["amount"] == 125.5 and pay["paymentMethod"] == "CHECK"
    assert pay["paymentDate"] == "2026-01-14T15:30:00.000Z"
    assert (pay["notes"], pay["paymentReference"]) == ("Mailed check", "4417")
    assert pay["status"] and pay["isExternal"] is False and pay["createdBy"]["id"] == 1001
    assert not [k for k in pay if k.startswith("_")]
    listed = api.get(f"/invoices/{inv['id']}/payments").json()
    assert listed[-1] == pay
    assert api.get(f"/invoices/{inv['id']}/payments/{pay['id']}").json() == pay


def test_payments_list_in_creation_order(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    before = [p["id"] for p in api.get(f"/invoices/{inv['id']}/payments").json()]
    made = [
        api.post(f"/invoices/{inv['id']}/payments", json=payment_body(amount=a)).json()["id"]
        for a in (30, 10, 20)
    ]
    listed = api.get(f"/invoices/{inv['id']}/payments").json()
    assert [p["id"] for p in listed] == before + made
    assert [p["amount"] for p in listed[-3:]] == [30, 10, 20]


def test_a_part_payment_leaves_it_partially_paid_and_bumps_updated_at(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    inv = an_invoice(sb, "OVERDUE")
    api.post(f"/invoices/{inv['id']}/payments", json=payment_body(amount=40.25))
    after = api.get(f"/invoices/{inv['id']}").json()
    assert after["status"] == "PARTIALLY_PAID"
    assert after["amountPaid"] == round(inv["amountPaid"] + 40.25, 2)
    assert after["updatedAt"] > inv["updatedAt"]
    # An incremental sync from just before the payment sees the invoice.
    changed = api.get("/invoices", params={"updated_after": inv["updatedAt"], "page_size": 100})
    assert inv["id"] in [i["id"] for i in changed.json()["items"]]


def test_paying_the_balance_makes_it_paid(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    balance = round(inv["amount"] - inv["amountPaid"], 2)
    api.post(f"/invoices/{inv['id']}/payments", json=payment_body(amount=balance - 50))
    assert api.get(f"/invoices/{inv['id']}").json()["status"] == "PARTIALLY_PAID"
    api.post(f"/invoices/{inv['id']}/payments", json=payment_body(amount=50))
    after = api.get(f"/invoices/{inv['id']}").json()
    assert after["status"] == "PAID" and after["amountPaid"] == inv["amount"]


def test_an_over_payment_is_accepted_and_reads_paid(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    over = round(inv["amount"] - inv["amountPaid"] + 75, 2)
    r = api.post(f"/invoices/{inv['id']}/payments", json=payment_body(amount=over))
    assert r.status_code == 201
    after = api.get(f"/invoices/{inv['id']}").json()
    assert after["status"] == "PAID"
    assert after["amountPaid"] == round(inv["amount"] + 75, 2)


def test_amounts_are_kept_to_the_cent(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    pay = api.post(f"/invoices/{inv['id']}/payments", json=payment_body(amount=12.345)).json()
    assert pay["amount"] == 12.35
    assert sb.get("invoices", inv["id"])["amountPaid"] == round(inv["amountPaid"] + 12.35, 2)


@pytest.mark.parametrize(
    "over,field",
    [
        ({"amount": None}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 0.004}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": True}, "amount"),
        ({"paymentMethod": None}, "paymentMethod"),
        ({"paymentMethod": "BITCOIN"}, "paymentMethod"),
        ({"paymentMethod": "check"}, "paymentMethod"),
        ({"paymentDate": None}, "paymentDate"),
        ({"paymentDate": "yesterday"}, "paymentDate"),
        ({"paymentDate": "2026-01-14"}, "paymentDate"),
        ({"paymentDate": "2026-01-14T15:30:00"}, "paymentDate"),
        ({"paymentDate": "2026-13-14T15:30:00Z"}, "paymentDate"),
        ({"paymentDate": 1768404600}, "paymentDate"),
        ({"notes": 5}, "notes"),
        ({"paymentReference": 4417}, "paymentReference"),
    ],
)
def test_invalid_payments_are_refused_with_the_field(
    sb: CoperniqSandbox, api: httpx.Client, over: dict[str, Any], field: str
) -> None:
    inv = an_invoice(sb)
    before = sb.payments(inv["id"])
    body = payment_body(**over)  # None: the field is left out
    r = api.post(f"/invoices/{inv['id']}/payments", json=body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["field"] == field and err["message"] and err["code"]
    assert sb.payments(inv["id"]) == before and sb.get("invoices", inv["id"]) == inv


def test_nan_and_a_body_that_is_not_an_object_are_refused(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    inv = an_invoice(sb)
    raw = b'{"amount": NaN, "paymentMethod": "CASH", "paymentDate": "2026-01-14T15:30:00Z"}'
    r = api.post(
        f"/invoices/{inv['id']}/payments",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["field"] == "amount"
    r = api.post(f"/invoices/{inv['id']}/payments", json=[payment_body()])
    assert r.status_code == 400 and r.json()["field"] == "body"


def test_unknown_invoices_and_payments_are_404(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    assert api.get("/invoices/999999/payments").status_code == 404
    r = api.post("/invoices/999999/payments", json=payment_body())
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert api.get(f"/invoices/{inv['id']}/payments/999999").status_code == 404
    # A payment is found only under its own invoice.
    pay = api.post(f"/invoices/{inv['id']}/payments", json=payment_body()).json()
    other = next(i for i in sb.all("invoices") if i["id"] != inv["id"])
    assert api.get(f"/invoices/{other['id']}/payments/{pay['id']}").status_code == 404
    assert api.get("/invoices/abc/payments").status_code == 400


def test_seeded_payments_add_up_to_amount_paid(sb: CoperniqSandbox) -> None:
    invoices = sb.all("invoices")
    paid = [i for i in invoices if i["amountPaid"] > 0]
    assert {i["status"] for i in paid} >= {"PAID", "PARTIALLY_PAID"}
    for inv in invoices:
        payments = sb.payments(inv["id"])
        assert round(sum(p["amount"] for p in payments), 2) == inv["amountPaid"]
        for p in payments:
            assert p["paymentMethod"] in PAYMENT_METHODS
            assert p["paymentDate"] <= inv["updatedAt"]


def test_seeded_payments_are_deterministic() -> None:
    a = CoperniqSandbox(api_key=KEY, projects=20, today=TODAY)
    b = CoperniqSandbox(api_key=KEY, projects=20, today=TODAY)
    assert a.all("invoice_payments") == b.all("invoice_payments")
    assert a.all("invoice_payments")
    a.close()
    b.close()


def test_pay_invoice_records_a_payment_too(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    sb.pay_invoice(inv["id"], amount=60)
    sb.pay_invoice(inv["id"])
    after = sb.get("invoices", inv["id"])
    assert after["status"] == "PAID" and after["amountPaid"] == inv["amount"]
    listed = api.get(f"/invoices/{inv['id']}/payments").json()
    assert round(sum(p["amount"] for p in listed), 2) == inv["amount"]
    assert listed[-2]["amount"] == 60
    sb.pay_invoice(inv["id"])  # nothing left: no payment of 0
    assert len(api.get(f"/invoices/{inv['id']}/payments").json()) == len(listed)


def test_faults_apply_to_the_payment_paths(sb: CoperniqSandbox, api: httpx.Client) -> None:
    inv = an_invoice(sb)
    path = f"/invoices/{inv['id']}/payments"
    sb.inject(path="/invoices/*/payments", method="POST", status=503, times=1)
    assert api.post(path, json=payment_body()).status_code == 503
    assert sb.get("invoices", inv["id"]) == inv  # answered instead: nothing applied
    sb.inject(path="/invoices/*/payments", method="POST", status=502, times=1, apply_first=True)
    assert api.post(path, json=payment_body(amount=33)).status_code == 502
    assert api.get(path).json()[-1]["amount"] == 33  # saved, though the answer was lost
    sb.inject(path="/invoices/*/payments/*", status=500, times=1)
    assert api.get(f"{path}/1").status_code == 500


def test_every_payment_exchange_conforms(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    inv = an_invoice(checked)
    path = f"/invoices/{inv['id']}/payments"
    assert capi.get(path).status_code == 200
    full = payment_body(amount=99.99, notes="At the door", paymentReference="R-1")
    for body in (payment_body(), full, payment_body(paymentReference=None, paymentMethod="ACH")):
        assert capi.post(path, json=body).status_code == 201
    for method in PAYMENT_METHODS:
        assert capi.post(path, json=payment_body(amount=1, paymentMethod=method)).status_code == 201
    listed = capi.get(path).json()
    assert capi.get(f"{path}/{listed[-1]['id']}").status_code == 200
    assert capi.get(f"{path}/999999").status_code == 404
    assert capi.get("/invoices/999999/payments").status_code == 404
    assert capi.post("/invoices/999999/payments", json=payment_body()).status_code == 404
    # Valid as the schema has it (no minimum), refused by the API: a 400 naming the field.
    r = capi.post(path, json=payment_body(amount=0))
    assert r.status_code == 400 and r.json()["field"] == "amount"
    seeded = next(i for i in checked.all("invoices") if checked.payments(i["id"]))
    assert capi.get(f"/invoices/{seeded['id']}/payments").status_code == 200
    assert checked.conformance_errors == []
