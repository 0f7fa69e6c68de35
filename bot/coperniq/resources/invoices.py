"""Invoices: company-wide, per project and per account, single-invoice verbs, and payments.

Invoice lists answer the `{items, page, page_size, has_more}` envelope, unlike the plain arrays
of the other lists, and are paged on `has_more`. Payments (`/invoices/{id}/payments`) are a
plain array; recording one is a POST, sent once like every write (see transport.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bot.coperniq.pagination import MAX_PAGE_SIZE, check_page_size
from bot.coperniq.paths import check_id, record_path
from bot.coperniq.resources.base import Resource, _as_list, _choice, _time
from bot.coperniq.transport import iso_z

# components.schemas.PaymentCreatePaymentMethod, in the spec's order (a test compares them).
PAYMENT_METHODS: tuple[str, ...] = ("CASH", "ACH", "CREDIT_CARD", "KLARNA", "AFFIRM", "CHECK")
# What a billing clerk reads for each method.
PAYMENT_METHOD_LABELS: dict[str, str] = {
    "CASH": "Cash",
    "ACH": "ACH bank transfer",
    "CREDIT_CARD": "Credit card",
    "KLARNA": "Klarna",
    "AFFIRM": "Affirm",
    "CHECK": "Check",
}
_CENT = Decimal("0.01")


def payment_amount(amount: Decimal | float | int) -> float:
    """Dollars rounded to the cent (half up) as the JSON number the API takes; must be positive."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | float | int):
        raise ValueError("amount must be a number of dollars")
    # str() first: Decimal(0.1) would carry the float's binary error into the rounding.
    value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    if not value.is_finite():
        raise ValueError("amount must be a finite number of dollars")
    try:
        cents = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than a Decimal holds
        raise ValueError("amount is too large") from None
    if cents <= 0:
        raise ValueError("amount must be a positive number of dollars (at least 0.01)")
    return float(cents)


def payment_time(paid_at: datetime | str) -> str:
    """An aware datetime or ISO 8601 date-time with an offset, as UTC `...Z` text."""
    if isinstance(paid_at, str):
        text = paid_at.strip()
        try:
            # 3.11 reads `Z`; a bare date reads as a naive midnight and is refused below.
            paid_at = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("paid_at must be an ISO 8601 date-time") from None
        if len(text) <= 10:
            raise ValueError("paid_at must be a date-time, not a date (give the time and zone)")
    if not isinstance(paid_at, datetime):
        raise ValueError("paid_at must be a datetime or an ISO 8601 date-time")
    if paid_at.tzinfo is None or paid_at.utcoffset() is None:
        # Which day a payment fell on depends on the zone; the caller knows it, we don't.
        raise ValueError("paid_at needs a time zone (an aware datetime or an offset such as Z)")
    return iso_z(paid_at)


class Invoices(Resource):
    """Invoices; lists answer the `{items, page, page_size, has_more}` envelope."""

    def _list(
        self,
        path: str,
        updated_after: datetime | str | None,
        updated_before: datetime | str | None,
        order_by: str | None,
        page_size: int,
    ) -> Iterator[dict[str, Any]]:
        _choice(order_by, ("asc", "desc"), "order_by")
        check_page_size(page_size)
        params = {
            "updated_after": _time(updated_after),
            "updated_before": _time(updated_before),
            "order_by": order_by,
        }
        return self._pages(path, params, page_size=page_size, envelope=True)

    def list(
        self,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        *,
        order_by: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every invoice, lazily (GET /invoices)."""
        return self._list("/invoices", updated_after, updated_before, order_by, page_size)

    def list_for_project(
        self,
        project_id: int | str,
        *,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """A project's invoices, lazily (GET /projects/{id}/invoices)."""
        path = record_path("project", project_id) + "/invoices"
        return self._list(path, updated_after, updated_before, order_by, page_size)

    def list_for_account(
        self,
        account_id: int | str,
        *,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """An account's invoices, lazily (GET /accounts/{id}/invoices)."""
        path = record_path("account", account_id) + "/invoices"
        return self._list(path, updated_after, updated_before, order_by, page_size)

    def get(self, invoice_id: int | str) -> dict[str, Any]:
        """One invoice (GET /invoices/{id})."""
        return self._get(f"/invoices/{check_id(invoice_id, 'invoice id')}")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an invoice (POST /invoices); the spec requires recordId and calculationMethod."""
        return self._send("POST", "/invoices", body)

    def update(self, invoice_id: int | str, body: dict[str, Any]) -> dict[str, Any]:
        """Change an invoice (PATCH /invoices/{id})."""
        return self._send("PATCH", f"/invoices/{check_id(invoice_id, 'invoice id')}", body)

    def delete(self, invoice_id: int | str) -> Any:
        """Delete an invoice (DELETE /invoices/{id})."""
        return self._send("DELETE", f"/invoices/{check_id(invoice_id, 'invoice id')}")

    # --- payments ---------------------------------------------------------------------------

    def payments(self, invoice_id: int | str) -> list[dict[str, Any]]:
        """The invoice's payments, oldest first (GET /invoices/{id}/payments, a plain array)."""
        return _as_list(self._get(f"/invoices/{check_id(invoice_id, 'invoice id')}/payments"))

    def payment(self, invoice_id: int | str, payment_id: int | str) -> dict[str, Any]:
        """One payment of an invoice (GET /invoices/{id}/payments/{paymentId})."""
        iid = check_id(invoice_id, "invoice id")
        return self._get(f"/invoices/{iid}/payments/{check_id(payment_id, 'payment id')}")

    def record_payment(
        self,
        invoice_id: int | str,
        *,
        amount: Decimal | float,
        method: str,
        paid_at: datetime | str,
        notes: str | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """Record a manual payment (POST /invoices/{id}/payments); answers the new payment.

        `amount` is dollars, sent rounded to the cent; `method` one of PAYMENT_METHODS; `paid_at`
        an aware datetime or ISO 8601 date-time, sent as UTC. Blank `notes`/`reference` are left
        out. Like every write it is sent once: a timeout, dropped connection or 5xx raises with
        `outcome_unknown` set, and the caller looks the payment up before trying again.
        """
        iid = check_id(invoice_id, "invoice id")
        if method is None:
            raise ValueError(f"method must be one of {', '.join(PAYMENT_METHODS)}")
        _choice(method, PAYMENT_METHODS, "method")
        body: dict[str, Any] = {
            "amount": payment_amount(amount),
            "paymentMethod": method,
            "paymentDate": payment_time(paid_at),
        }
        for key, value in (("notes", notes), ("paymentReference", reference)):
            if value is None:
                continue
            if not isinstance(value, str):
                raise ValueError(f"{key} must be text")
            if value.strip():
                body[key] = value
        return self._send("POST", f"/invoices/{iid}/payments", body)
