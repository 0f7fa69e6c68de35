"""`/coperniq find <text>`: the best matches across projects, requests and clients."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.blocks.find import (
    MAX_QUERY,
    MIN_QUERY,
    build_find_error,
    build_find_results,
    build_find_too_short,
)
from bot.records import search
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient

NAME = "find"
HELP = "Find projects, requests and clients by name, address, phone or number"
EXAMPLE = "/coperniq find smith"
USAGE = "find <text>"

PER_TYPE = 5
# The answer goes through the response_url (no 3-second limit), but a person is waiting.
DEADLINE_SECONDS = 8.0


def build_answer(
    query: str, command: str, app_url: str, coperniq: CoperniqClient, logger: logging.Logger
) -> dict[str, Any]:
    """The message to show for `query` (searching Coperniq when its length is searchable)."""
    if not MIN_QUERY <= len(query) <= MAX_QUERY:
        return build_find_too_short(command, query)
    results, errors = search(coperniq, query, limit=PER_TYPE, deadline=DEADLINE_SECONDS)
    for kind, exc in errors.items():
        logger.warning("find %s failed: %r", kind, exc)
    if errors and not any(results.values()):
        return build_find_error(query, next(iter(errors.values())).user_message)
    return build_find_results(
        query, results, app_url, errors={t: e.user_message for t, e in errors.items()}
    )


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    coperniq: CoperniqClient,
    args: str,
    logger: logging.Logger,
    respond: Respond | None = None,
) -> None:
    """Search and answer the person privately (response_url, else chat.postEphemeral)."""
    app_url = settings.coperniq_app_url
    query = args.strip()
    message = build_answer(query, settings.slack_command, app_url, coperniq.interactive, logger)
    answer_privately(message, body=body, client=client, respond=respond)
