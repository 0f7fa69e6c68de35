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
    from handlers.commands import help_entries

    command = context["settings"].slack_command
    message = build_help(command, help_entries(command))
    if respond is not None and body.get("response_url"):
        respond(**message)
    else:
        client.chat_postEphemeral(
            channel=body["channel_id"],
            user=body["user_id"],
            text=message["text"],
            blocks=message["blocks"],
        )
