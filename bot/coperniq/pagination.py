"""Pagination, written once: lazy generators over Coperniq's two list shapes.

Most lists are plain JSON arrays with no total, so the last page is the first short (or empty)
one. Invoices and bills answer `{items, page, page_size, has_more}` and end on `has_more`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bot.coperniq.errors import CoperniqError

log = logging.getLogger("bot.coperniq")

MAX_PAGE_SIZE = 100
# 200,000 records at 100 a page. A 20,000-project account has ~60,000 invoices (600 pages), so a
# lower cap failed a real full sync; past this a listing is a server paging in circles (the
# repeated-page check catches the plain loop first), and every further page spends the day's budget.
MAX_PAGES = 2000

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
    path: str = "a list",
    max_pages: int = MAX_PAGES,
) -> Iterator[dict[str, Any]]:
    """Yield every record across pages; nothing is fetched until the first item is asked for.

    Stops with a CoperniqError naming `path` on a page that repeats the one before it, or past
    `max_pages`: either means the server is not paging, and reading on would not end.
    """
    check_page_size(page_size)
    base = dict(params or {})
    return _pages(fetch, base, page_size, envelope, path, max_pages)


def _looping(path: str, page: int, why: str) -> CoperniqError:
    log.error("Stopped reading %s at page %d: %s", path, page, why)
    return CoperniqError(
        f"Coperniq's listing of {path} does not end: {why} (stopped at page {page}).",
        path=path,
    )


def _pages(
    fetch: Fetch,
    base: dict[str, Any],
    page_size: int,
    envelope: bool,
    path: str,
    max_pages: int,
) -> Iterator[dict[str, Any]]:
    page = 1
    expected = page_size  # the page size the server actually uses (learned for plain arrays)
    probing = False
    previous: Any = None
    while True:
        if page > max_pages:
            raise _looping(path, page, f"more than {max_pages} pages, which no account has")
        body = fetch({**base, "page": page, "page_size": page_size})
        items = body.get("items") if envelope and isinstance(body, dict) else body
        if isinstance(items, list) and items:
            if items == previous:
                raise _looping(path, page, f"page {page} repeats page {page - 1}")
            previous = items
        if envelope:
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise CoperniqError(
                    "Coperniq answered a paged list without the {items, has_more} envelope.",
                )
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
            n = len(body)
            if n == 0:
                return
            if n >= expected:
                # A full page: the server honours this size (or pages by a larger one it chose).
                expected = n
            elif page > 1 or not _could_be_a_cap(n):
                return
            else:
                # A short first page of a round size: the end, or a server that caps page_size
                # below what we asked (the spec says 100; the default is 20). Stopping here would
                # silently drop every later record, so look at the next page once.
                log.debug("short first page of %d; checking for a server-side page cap", n)
                expected, probing = n, True
                page += 1
                continue
            if probing:
                probing = False
                log.warning(
                    "Coperniq pages this list by %d, not the %d asked for; reading on", n, page_size
                )
        page += 1


def _could_be_a_cap(n: int) -> bool:
    """Whether a short first page's size looks like a server's page cap (20, 25, 50, ...)."""
    return n >= 10 and n % 5 == 0
