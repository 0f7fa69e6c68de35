"""Projects, opportunities (requests) and accounts (clients): the record collections' verbs.

List, search, get, create (or upsert), update and delete are the same on each, so one class,
`Records`, serves all three and the client makes one per collection. Paths follow the spec
(`/opportunities`, `/accounts`), not the words people use in Slack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.coperniq.pagination import MAX_PAGE_SIZE, check_page_size
from bot.coperniq.paths import COLLECTIONS, check_id
from bot.coperniq.resources.base import Resource, _choice, _time

if TYPE_CHECKING:
    from bot.coperniq.client import CoperniqClient

MATCH_BY = ("title", "primaryEmail", "primaryPhone", "address")
MATCH_FOUND_STRATEGIES = ("skip", "replace", "enrich")
SEARCH_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", "nin", "between")


class Records(Resource):
    """Projects, opportunities (requests) or accounts (clients): the same verbs on each."""

    _LIST_FILTERS = frozenset(
        {
            "q",
            "title",
            "address",
            "primaryName",
            "primaryPhone",
            "primaryEmail",
            "updated_after",
            "updated_before",
            "order_by",
            "include_archived",
            "include_virtual_properties",
        }
    )

    def __init__(self, client: CoperniqClient, collection: str) -> None:
        super().__init__(client)
        self.collection = collection
        self.record_type = {v: k for k, v in COLLECTIONS.items()}[collection]

    def __repr__(self) -> str:
        return f"<Records {self.collection}>"

    def _item(self, record_id: int | str) -> str:
        return f"/{self.collection}/{check_id(record_id, f'{self.record_type} id')}"

    def _filters(self, filters: dict[str, Any]) -> dict[str, Any]:
        allowed = self._LIST_FILTERS | (
            {"include_contacts"} if self.collection == "accounts" else set()
        )
        unknown = set(filters) - allowed
        if unknown:
            raise TypeError(
                f"unknown filter(s) for {self.collection}: {', '.join(sorted(unknown))}"
            )
        _choice(filters.get("order_by"), ("asc", "desc"), "order_by")
        for key in ("updated_after", "updated_before"):
            _time(filters.get(key))
        return filters

    def list(self, *, page_size: int = MAX_PAGE_SIZE, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, lazily across pages (GET /{collection})."""
        check_page_size(page_size)
        return self._pages(f"/{self.collection}", self._filters(filters), page_size=page_size)

    def search(
        self,
        prop1: str,
        op1: str,
        value1: str | int | float | list[Any] | tuple[Any, ...],
        *,
        logic: str | None = None,
        prop2: str | None = None,
        op2: str | None = None,
        value2: str | int | float | list[Any] | tuple[Any, ...] | None = None,
        order_by: str | None = None,
        include_archived: bool | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Records matching one or two property filters (GET /{collection}/search), lazily."""
        # Spec: the description's examples use `prop1=name` and mention an `exists` operator, but
        # the op enum has no `exists`; we accept only the enum.
        _choice(op1, SEARCH_OPS, "op1")
        _choice(op2, SEARCH_OPS, "op2")
        _choice(logic, ("and", "or"), "logic")
        _choice(order_by, ("asc", "desc"), "order_by")
        if (prop2 is None) != (op2 is None) or (prop2 is None) != (value2 is None):
            raise ValueError("prop2, op2 and value2 go together")
        check_page_size(page_size)

        def value(v: Any) -> str | None:
            # The spec takes CSV for in/nin/between.
            if v is None:
                return None
            if isinstance(v, list | tuple):
                return ",".join(str(x) for x in v)
            return str(v)

        params = {
            "prop1": prop1,
            "op1": op1,
            "value1": value(value1),
            "logic": logic,
            "prop2": prop2,
            "op2": op2,
            "value2": value(value2),
            "order_by": order_by,
            "include_archived": include_archived,
        }
        return self._pages(f"/{self.collection}/search", params, page_size=page_size)

    def get(
        self,
        record_id: int | str,
        *,
        include_archived: bool | None = None,
        include_virtual_properties: bool | None = None,
    ) -> dict[str, Any]:
        """One record (GET /{collection}/{id})."""
        return self._get(
            self._item(record_id),
            {
                "include_archived": include_archived,
                "include_virtual_properties": include_virtual_properties,
            },
        )

    def create(
        self,
        body: dict[str, Any],
        match_by: str | None = None,
        match_found_strategy: str | None = None,
        *,
        allow_new_options: bool | None = None,
    ) -> dict[str, Any]:
        """Create a record (POST /{collection}); with match_by it is an idempotent upsert."""
        # Spec: POST /projects types accountId and workflowId as strings while every response
        # (and POST /opportunities' workflowId) has integers; we pass the caller's body unchanged.
        _choice(match_by, MATCH_BY, "match_by")
        _choice(match_found_strategy, MATCH_FOUND_STRATEGIES, "match_found_strategy")
        params = {
            "match_by": match_by,
            "match_found_strategy": match_found_strategy,
            "allow_new_options": allow_new_options,
        }
        return self._send("POST", f"/{self.collection}", body, params)

    def update(
        self, record_id: int | str, body: dict[str, Any], *, allow_new_options: bool | None = None
    ) -> dict[str, Any]:
        """Change fields of a record (PATCH /{collection}/{id})."""
        # The spec marks title/address/trades required on PATCH /opportunities/{id} (a copy of the
        # create schema); a partial update is what the API means, so we send only what we're given.
        return self._send(
            "PATCH", self._item(record_id), body, {"allow_new_options": allow_new_options}
        )

    def delete(self, record_id: int | str) -> Any:
        """Delete a record (DELETE /{collection}/{id})."""
        return self._send("DELETE", self._item(record_id))
