"""Invoices: the paged envelope, create, update, delete, and a record's invoices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.base import (
    ApiBase,
    ApiRequest,
    ApiResponse,
    bad_request,
    not_found,
)
from sandbox.coperniq.timeutil import iso


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
