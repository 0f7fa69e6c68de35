"""Invoices: company-wide, per project and per account, and single-invoice verbs.

Invoice lists answer the `{items, page, page_size, has_more}` envelope, unlike the plain arrays
of the other lists, and are paged on `has_more`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.coperniq.pagination import MAX_PAGE_SIZE, check_page_size
from bot.coperniq.paths import check_id, record_path
from bot.coperniq.resources.base import Resource, _choice, _time


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
