"""app_home_opened: publish the Home tab (how to use the bot)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient


def publish_home(
    event: dict[str, Any], client: WebClient, context: Any, logger: logging.Logger
) -> None:
    """Publish the Home tab for the person who opened it (the Messages tab needs nothing)."""
    if event.get("tab", "home") != "home":
        return
    from bot.blocks.help import build_home
    from handlers.commands import help_entries

    command = context["settings"].slack_command
    client.views_publish(user_id=event["user"], view=build_home(command, help_entries(command)))
