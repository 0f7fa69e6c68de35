"""Pagination, written once: lazy generators over Coperniq's two list shapes.

Most lists are plain JSON arrays with no total, so the last page is the first short (or empty)
one. Invoices and bills answer `{items, page, page_size, has_more}` and end on `has_more`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bot.coperniq.errors import CoperniqError

MAX_PAGE_SIZE = 100

# fetch(params) -> decoded JSON body of one page
Fetch = Callable[[dict[str, Any]], Any]


def check_page_size(page_size: int) -> int:
    """Return `page_size` if Coperniq accepts it (1..100), else raise ValueError."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValueError("page_size must be a whole number")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page_size


def paginate(
    fetch: Fetch,
    params: Mapping[str, Any] | None = None,
    *,
    page_size: int = MAX_PAGE_SIZE,
    envelope: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield every record across pages; nothing is fetched until the first item is asked for."""
    check_page_size(page_size)
    base = dict(params or {})
    return _pages(fetch, base, page_size, envelope)


def _pages(
    fetch: Fetch, base: dict[str, Any], page_size: int, envelope: bool
) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        body = fetch({**base, "page": page, "page_size": page_size})
        if envelope:
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise CoperniqError(
                    "Coperniq answered a paged list without the {items, has_more} envelope.",
                )
            items = body["items"]
            yield from items
            # An empty page ends the walk even if has_more lies, so a bad server cannot loop us.
            if not body.get("has_more") or not items:
                return
        else:
            if not isinstance(body, list):
                raise CoperniqError(
                    "Coperniq answered a list request with something other than a list."
                )
            yield from body
            if len(body) < page_size:
                return
        page += 1
