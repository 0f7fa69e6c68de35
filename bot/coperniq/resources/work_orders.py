"""Work orders (under projects, opportunities and accounts, and their templates) and line items.

Work orders are listed company-wide or per record; only the project variant of the per-record
list is paged in the spec. Line items belong to a project and are replaced as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.coperniq.pagination import MAX_PAGE_SIZE, check_page_size
from bot.coperniq.paths import check_id, record_collection, record_path
from bot.coperniq.resources.base import Resource, _as_list, _choice, _time


class WorkOrders(Resource):
    """Work orders under projects, opportunities and accounts, and their templates."""

    def list(
        self,
        *,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every work order in the company, lazily (GET /work-orders)."""
        _choice(order_by, ("asc", "desc"), "order_by")
        check_page_size(page_size)
        params = {
            "updated_after": _time(updated_after),
            "updated_before": _time(updated_before),
            "order_by": order_by,
        }
        return self._pages("/work-orders", params, page_size=page_size)

    def list_for(
        self, record_type: str, record_id: int | str, *, page_size: int = MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Work orders of one record (GET /{type}s/{id}/work-orders), every page."""
        # Spec: only the project variant takes page/page_size/updated_*; the opportunity and
        # account variants take no query at all, so they are fetched in one request.
        path = record_path(record_type, record_id) + "/work-orders"
        if record_collection(record_type) == "projects":
            # Only the project list is paged in the spec; opportunity and account lists are not.
            return list(self._pages(path, page_size=page_size))
        return _as_list(self._get(path))

    def get(self, work_order_id: int | str) -> dict[str, Any]:
        """One work order (GET /work-orders/{id})."""
        return self._get(f"/work-orders/{check_id(work_order_id, 'work order id')}")

    def create(
        self, record_type: str, record_id: int | str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a work order from a template under a record (POST /{type}s/{id}/work-orders)."""
        return self._send("POST", record_path(record_type, record_id) + "/work-orders", body)

    def update(
        self,
        record_type: str,
        record_id: int | str,
        work_order_id: int | str,
        body: dict[str, Any],
    ) -> dict[str, Any]:
        """Change a work order (PATCH /{type}s/{id}/work-orders/{woId})."""
        path = (
            record_path(record_type, record_id)
            + f"/work-orders/{check_id(work_order_id, 'work order id')}"
        )
        return self._send("PATCH", path, body)

    def delete(self, record_type: str, record_id: int | str, work_order_id: int | str) -> Any:
        """Delete a work order (DELETE /{type}s/{id}/work-orders/{woId})."""
        path = (
            record_path(record_type, record_id)
            + f"/work-orders/{check_id(work_order_id, 'work order id')}"
        )
        return self._send("DELETE", path)

    def templates(self) -> list[dict[str, Any]]:
        """Work order templates (GET /work-orders/templates)."""
        return _as_list(self._get("/work-orders/templates"))


class LineItems(Resource):
    """A project's line items."""

    def get(self, project_id: int | str) -> list[dict[str, Any]]:
        """The project's line items (GET /projects/{id}/line-items)."""
        return _as_list(self._get(record_path("project", project_id) + "/line-items"))

    def replace(
        self, project_id: int | str, items: list[dict[str, Any]] | dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Replace all line items (PUT /projects/{id}/line-items); a list = `{lineItems: [...]}`."""
        body = items if isinstance(items, dict) else {"lineItems": list(items)}
        return _as_list(self._send("PUT", record_path("project", project_id) + "/line-items", body))
