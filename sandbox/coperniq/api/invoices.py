"""Invoices: the paged envelope, create, update, delete, a record's invoices, and payments.

Payments are stored in their own collection, `invoice_payments`, each under its invoice
(parent ("invoice", id)), so ids ascend in creation order and a list reads them oldest first.
Recording one adds to the invoice's amountPaid, moves its status to PAID once nothing is left
to pay (else PARTIALLY_PAID) and bumps its updatedAt, so `updated_after` syncs see the change.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.base import (
    ApiBase,
    ApiRequest,
    ApiResponse,
    bad_request,
    not_found,
)
from sandbox.coperniq.timeutil import iso, parse_iso

# The user an API key acts as (the sandbox's key belongs to the admin, as elsewhere).
KEY_USER_ID = 1001
MAX_PAYMENT = 1e12
# RFC 3339 date-time, what the spec's `format: date-time` means: a date alone, or a time without
# a zone, is refused (which day a payment fell on depends on the zone).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def cents(dollars: float | int) -> int:
    """Dollars as whole cents, half up (the API stores cents; the spec says so)."""
    return int(Decimal(str(dollars)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


class InvoicesMixin(ApiBase):
    """The invoices resource."""

    # ----- invoices
    # --------------------------------------------------------------------------------
    def _envelope(
        self, req: ApiRequest, parent: tuple[str, int] | None = None, account_id: int | None = None
    ) -> ApiResponse:
        q = req.query
        page, size, desc = self._paging(q)
        after, before = (
            self._time_filter(q, "updated_after"),
            self._time_filter(q, "updated_before"),
        )
        if account_id is not None:
            recs = [
                r
                for r in self.db.all(
                    "invoices", updated_after=after, updated_before=before, descending=desc
                )
                if r.get("_accountId") == account_id
            ]
            items, more = self._slice(recs, page, size)
        else:
            items, more = self.db.page(
                "invoices",
                offset=(page - 1) * size,
                limit=size,
                parent=parent,
                updated_after=after,
                updated_before=before,
                descending=desc,
            )
        return ApiResponse(
            200,
            {
                "items": [self.render("invoices", r) for r in items],
                "page": page,
                "page_size": size,
                "has_more": more,
            },
        )

    def list_invoices(self, req: ApiRequest) -> ApiResponse:
        """GET /invoices: the {items, page, page_size, has_more} envelope."""
        return self._envelope(req)

    def list_record_invoices(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /projects/{id}/invoices and /accounts/{id}/invoices (envelope)."""
        ptype, pid, _ = self._parent(coll, record_id)
        if coll == "accounts":
            return self._envelope(req, account_id=pid)
        return self._envelope(req, parent=(ptype, pid))

    def get_invoice(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """GET /invoices/{invoiceId}."""
        iid = self._path_id(invoiceId, "invoiceId")
        return ApiResponse(200, self.render("invoices", self._require("invoices", iid, "Invoice")))

    def _invoice_lines(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        lines = []
        groups: list[tuple[list[Any], str]] = []
        if body.get("lineItems") is not None:
            if not isinstance(body["lineItems"], list):
                raise bad_request("lineItems must be a list", "lineItems")
            groups.append((body["lineItems"], "lineItems"))
        for s, sec in enumerate(body.get("sections") or []):
            if not isinstance(sec, dict) or not isinstance(sec.get("lineItems"), list):
                raise bad_request("sections need lineItems", f"sections[{s}].lineItems")
            groups.append((sec["lineItems"], f"sections[{s}].lineItems"))
        next_id = int(self.db.meta_get("next_invoice_line") or 690001)
        for items, where in groups:
            for k, item in enumerate(items):
                cat = self._line_item_input(item, f"{where}[{k}]")
                lines.append(
                    {
                        "id": next_id,
                        "catalogItemId": cat["id"],
                        "quantity": item["quantity"],
                        "unitCost": float(item["unitCost"]),
                        "unitPrice": float(item["unitPrice"]),
                        "description": item.get("description") or cat["name"],
                        "catalogItem": {
                            k2: cat[k2] for k2 in ("id", "name", "manufacturer", "sku", "type")
                        },
                    }
                )
                next_id += 1
        self.db.meta_set("next_invoice_line", str(next_id))
        return lines

    def create_invoice(self, req: ApiRequest) -> ApiResponse:
        """POST /invoices: 201 with the new invoice."""
        body = self._body(req)
        record_id = self._check(body, "recordId", int, required=True)
        method = self._check(
            body, "calculationMethod", str, required=True, enum=["LINE_ITEMS", "PERCENTAGE"]
        )
        status = (
            self._check(body, "status", str, enum=["DRAFT", "SENT", "PARTIALLY_PAID", "PAID"])
            or "DRAFT"
        )
        self._check(body, "description", str, nullable=True)
        due = self._check_datetime(body, "dueDate")
        issue = self._check_datetime(body, "issueDate")
        rec_type, parent = "project", self.db.get("projects", record_id)
        if parent is None:
            rec_type, parent = "opportunity", self.db.get("opportunities", record_id)
        if parent is None:
            raise bad_request(f"recordId {record_id} is not a project or opportunity", "recordId")
        percentage = None
        with self._lock:
            lines = self._invoice_lines(body)
            if method == "LINE_ITEMS":
                if not lines:
                    raise bad_request("lineItems are required for LINE_ITEMS invoices", "lineItems")
                amount = round(sum(ln["unitPrice"] * ln["quantity"] for ln in lines), 2)
            else:
                percentage = self._check(body, "percentage", (int, float), required=True)
                if not 0 < percentage <= 100:
                    raise bad_request("percentage must be between 0 and 100", "percentage")
                amount = round((parent.get("value") or 0) * percentage / 100, 2)
            iid = self._next_id("invoices", 300001)
            uid = max([r["uid"] for r in self.db.all("invoices")] + [1000]) + 1
            now = self.now_iso()
            acc = (
                self.db.get("accounts", int(parent["accountId"]))
                if parent.get("accountId")
                else None
            )
            rec = {
                "id": iid,
                "uid": uid,
                "description": body.get("description"),
                "type": "INVOICE",
                "status": status,
                "basedOnId": None,
                "basedOnUid": None,
                "dueDate": due
                or iso(
                    datetime.combine(self.today() + timedelta(days=30), datetime.min.time(), UTC)
                ),
                "amount": amount,
                "amountPaid": amount if status == "PAID" else 0.0,
                "isArchived": False,
                "sharedWithPortal": status != "DRAFT",
                "calculationMethod": method,
                "percentage": percentage,
                "baseAmount": parent.get("value") if method == "PERCENTAGE" else None,
                "createdAt": issue or now,
                "updatedAt": now,
                "account": {"id": acc["id"], "title": acc["title"]} if acc else None,
                "record": {
                    "id": parent["id"],
                    "uid": parent.get("number"),
                    "title": parent.get("title"),
                },
                "lineItems": lines,
                "_parentType": rec_type,
                "_parentId": parent["id"],
                "_accountId": acc["id"] if acc else None,
            }
            self.db.put("invoices", rec)
        return ApiResponse(201, self.render("invoices", rec))

    def update_invoice(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """PATCH /invoices/{invoiceId}."""
        iid = self._path_id(invoiceId, "invoiceId")
        body = self._body(req)
        with self._lock:
            rec = self._require("invoices", iid, "Invoice")
            status = self._check(body, "status", str, enum=seeddata.INVOICE_STATUSES)
            due = self._check_datetime(body, "dueDate")
            self._check(body, "description", str, nullable=True)
            if "lineItems" in body or "sections" in body:
                rec["lineItems"] = self._invoice_lines(body)
                if rec["calculationMethod"] == "LINE_ITEMS":
                    rec["amount"] = round(
                        sum(ln["unitPrice"] * ln["quantity"] for ln in rec["lineItems"]), 2
                    )
            if status is not None:
                rec["status"] = status
                if status == "PAID":
                    rec["amountPaid"] = rec["amount"]
            if due is not None:
                rec["dueDate"] = due
            if "description" in body:
                rec["description"] = body["description"]
            rec["updatedAt"] = self.now_iso()
            self.db.put("invoices", rec)
        return ApiResponse(200, self.render("invoices", rec))

    def delete_invoice(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """DELETE /invoices/{invoiceId}."""
        iid = self._path_id(invoiceId, "invoiceId")
        if not self.db.delete("invoices", iid):
            raise not_found("Invoice", iid)
        return ApiResponse(200, None)

    # ----- payments
    # -------------------------------------------------------------------------------
    def list_invoice_payments(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """GET /invoices/{invoiceId}/payments: a plain array, oldest first."""
        iid = self._path_id(invoiceId, "invoiceId")
        self._require("invoices", iid, "Invoice")
        payments = self.db.all("invoice_payments", parent=("invoice", iid))
        return ApiResponse(200, [self.render("invoice_payments", p) for p in payments])

    def get_invoice_payment(
        self,
        req: ApiRequest,
        invoiceId: str,  # noqa: N803
        paymentId: str,  # noqa: N803
    ) -> ApiResponse:
        """GET /invoices/{invoiceId}/payments/{paymentId}: 404 unless it is this invoice's."""
        iid = self._path_id(invoiceId, "invoiceId")
        pid = self._path_id(paymentId, "paymentId")
        self._require("invoices", iid, "Invoice")
        rec = self.db.get("invoice_payments", pid)
        if rec is None or rec.get("_parentId") != iid:
            raise not_found("Payment", pid)
        return ApiResponse(200, self.render("invoice_payments", rec))

    def create_invoice_payment(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """POST /invoices/{invoiceId}/payments: 201 with the payment; the invoice is updated."""
        iid = self._path_id(invoiceId, "invoiceId")
        self._require("invoices", iid, "Invoice")
        body = self._body(req)
        amount = self._check(body, "amount", (int, float), required=True)
        # Python's JSON reader takes NaN and Infinity; the cap (far above any invoice) keeps the
        # cent arithmetic exact.
        if not math.isfinite(amount) or amount > MAX_PAYMENT:
            raise bad_request("amount must be a number of dollars", "amount")
        if cents(amount) <= 0:
            raise bad_request("amount must be a positive number of dollars", "amount")
        method = self._check(
            body, "paymentMethod", str, required=True, enum=seeddata.PAYMENT_METHODS
        )
        paid_at = self._check(body, "paymentDate", str, required=True)
        if not _DATE_TIME.fullmatch(paid_at.strip()):
            raise bad_request(
                "paymentDate must be an ISO 8601 date-time with a zone, e.g. 2026-01-15T14:00:00Z",
                "paymentDate",
            )
        try:
            paid_at = iso(parse_iso(paid_at))
        except ValueError:
            raise bad_request("paymentDate is not a valid date-time", "paymentDate") from None
        notes = self._check(body, "notes", str)
        reference = self._check(body, "paymentReference", str, nullable=True)
        with self._lock:
            inv = self._require("invoices", iid, "Invoice")
            # Over-payment (more than the balance) is accepted, as nothing in the spec refuses
            # it: amountPaid goes past amount and the invoice reads PAID. The bot must not rely
            # on Coperniq to refuse one.
            payment = self.add_payment(
                inv,
                cents(amount),
                method=method,
                paid_at=paid_at,
                notes=notes,
                reference=reference,
                created_by=KEY_USER_ID,
            )
        return ApiResponse(201, self.render("invoice_payments", payment))

    def add_payment(
        self,
        inv: dict[str, Any],
        amount_cents: int,
        *,
        method: str,
        paid_at: str | None = None,
        notes: str | None = None,
        reference: str | None = None,
        created_by: int = KEY_USER_ID,
    ) -> dict[str, Any]:
        """Store a payment on a stored invoice and update the invoice (call under the lock)."""
        now = self.now_iso()
        payment = seeddata.payment_record(
            self._next_id("invoice_payments", 380001),
            int(inv["id"]),
            amount=amount_cents / 100,
            method=method,
            paid_at=paid_at or now,
            created_at=now,
            created_by=created_by,
            notes=notes,
            reference=reference,
        )
        paid = cents(inv["amountPaid"]) + amount_cents
        inv["amountPaid"] = paid / 100
        inv["status"] = "PAID" if paid >= cents(inv["amount"]) else "PARTIALLY_PAID"
        inv["updatedAt"] = now
        self.db.put("invoice_payments", payment)
        self.db.put("invoices", inv)
        return payment
