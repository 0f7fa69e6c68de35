"""Options loads: answer within 3 s, at most 100 options, each value carrying "type:id"."""

from __future__ import annotations

import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from bot.blocks.call import RECORD_PATHS, RECORD_TYPES, record_option, record_options
from bot.blocks.common import MIN_SEARCH_CHARS
from bot.coperniq.errors import CoperniqError
from handlers.views.common import interactive

log = logging.getLogger(__name__)

PER_TYPE = 20
SINGLE_TYPE = 50
# Slack drops an options answer after 3 s: stop waiting for slow searches well before that.
DEADLINE_SECONDS = 2.2

# Shared by every options load (three searches each); threads start only when needed.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="options")


def _query(body: dict[str, Any]) -> str:
    return " ".join(str(body.get("value") or "").split())


def _search(coperniq: Any, record_type: str, query: str, limit: int) -> list[dict[str, Any]]:
    resource = getattr(coperniq, RECORD_PATHS[record_type])
    # islice: the list is lazy over pages; the first page holds all we show.
    return list(itertools.islice(resource.list(q=query, page_size=limit), limit))


def search_records(
    coperniq: Any,
    query: str,
    types: tuple[str, ...],
    limit: int,
    deadline: float = DEADLINE_SECONDS,
) -> dict[str, list[dict[str, Any]]]:
    """Each type's matches, searched in parallel; a type that errs or is too slow is left out."""
    futures = {t: _POOL.submit(_search, coperniq, t, query, limit) for t in types}
    out: dict[str, list[dict[str, Any]]] = {}
    # One deadline for all: they run in parallel, so each wait gets only what time is left.
    until = time.monotonic() + deadline
    for record_type, future in futures.items():
        try:
            out[record_type] = future.result(timeout=max(0.0, until - time.monotonic()))
        except FutureTimeout:
            log.warning("Options search for %s took longer than %.1f s", record_type, deadline)
        except CoperniqError as exc:
            log.warning("Options search for %s failed: %r", record_type, exc)
    return out


def any_record(ack: Any, body: dict[str, Any], context: Any) -> None:
    """Projects, requests and clients matching what was typed, grouped by type."""
    query = _query(body)
    if len(query) < MIN_SEARCH_CHARS:
        ack(options=[])
        return
    groups = search_records(interactive(context), query, RECORD_TYPES, PER_TYPE)
    ack(**record_options(groups))


def _single(ack: Any, body: dict[str, Any], context: Any, record_type: str) -> None:
    query = _query(body)
    if len(query) < MIN_SEARCH_CHARS:
        ack(options=[])
        return
    found = search_records(interactive(context), query, (record_type,), SINGLE_TYPE)
    ack(options=[record_option(record_type, r) for r in found.get(record_type, [])][:100])


def clients(ack: Any, body: dict[str, Any], context: Any) -> None:
    """Clients (accounts) for the request modal."""
    _single(ack, body, context, "account")


def projects(ack: Any, body: dict[str, Any], context: Any) -> None:
    """Projects for the photo modal."""
    _single(ack, body, context, "project")
