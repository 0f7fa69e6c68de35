"""`/coperniq find <text>`: the best matches across projects, requests and clients."""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bot.blocks.find import (
    MAX_QUERY,
    MIN_QUERY,
    RECORD_TYPES,
    build_find_error,
    build_find_results,
    build_find_too_short,
)
from bot.coperniq.errors import CoperniqError
from handlers.commands import answer_privately

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient

NAME = "find"
HELP = "Find projects, requests and clients by name, address, phone or number"
EXAMPLE = "/coperniq find smith"
USAGE = "find <text>"

PER_TYPE = 5
_RESOURCES = {"project": "projects", "opportunity": "opportunities", "account": "accounts"}


def search(
    coperniq: CoperniqClient, query: str, per_type: int = PER_TYPE
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, CoperniqError]]:
    """Up to `per_type` matches of each record type, searched in parallel; errors per type."""

    def one(record_type: str) -> list[dict[str, Any]]:
        resource = getattr(coperniq, _RESOURCES[record_type])
        # islice: the list is lazy over all pages; one page of per_type is all we show.
        return list(itertools.islice(resource.list(q=query, page_size=per_type), per_type))

    results: dict[str, list[dict[str, Any]]] = {}
    errors: dict[str, CoperniqError] = {}
    # Three calls in parallel: the person waits for the slowest, not the sum.
    with ThreadPoolExecutor(max_workers=len(RECORD_TYPES), thread_name_prefix="find") as pool:
        futures = {t: pool.submit(one, t) for t in RECORD_TYPES}
        for record_type, future in futures.items():
            try:
                results[record_type] = future.result()
            except CoperniqError as exc:
                errors[record_type] = exc
    return results, errors


def build_answer(
    query: str, command: str, app_url: str, coperniq: CoperniqClient, logger: logging.Logger
) -> dict[str, Any]:
    """The message to show for `query` (searching Coperniq when the query is long enough)."""
    if not MIN_QUERY <= len(query) <= MAX_QUERY:
        return build_find_too_short(command, query)
    results, errors = search(coperniq, query)
    for record_type, exc in errors.items():
        logger.warning("find %s failed: %r", record_type, exc)
    if errors and not any(results.values()):
        return build_find_error(query, next(iter(errors.values())).user_message)
    return build_find_results(
        query, results, app_url, errors={t: e.user_message for t, e in errors.items()}
    )


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    context: Any,
    args: str,
    logger: logging.Logger,
    respond: Any = None,
) -> None:
    """Search and answer the person privately (response_url, else chat.postEphemeral)."""
    settings = context["settings"]
    message = build_answer(
        args.strip(),
        settings.slack_command,
        settings.coperniq_app_url,
        context["coperniq"].interactive,
        logger,
    )
    answer_privately(message, body=body, client=client, respond=respond)
