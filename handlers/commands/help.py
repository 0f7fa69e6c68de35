"""`/coperniq help`: each subcommand with one line and an example (also for empty/unknown)."""

from __future__ import annotations

import logging
from typing import Any

NAME = "help"
HELP = "Show this list"
EXAMPLE = "/coperniq help"


def run(
    *,
    body: dict[str, Any],
    context: Any,
    logger: logging.Logger,
    respond: Any = None,
    client: Any = None,
    args: str = "",
) -> None:
    """Send the help privately (the router normally answers help in its ack instead)."""
    from bot.blocks.help import build_help
    from handlers.commands import answer_privately, help_entries

    command = context["settings"].slack_command
    message = build_help(command, help_entries(command))
    answer_privately(message, body=body, client=client, respond=respond)
