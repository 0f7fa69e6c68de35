"""app_home_opened: publish the Home tab (how to use the bot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.help import build_home
from handlers.commands import help_entries

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings


def publish_home(event: dict[str, Any], client: WebClient, settings: Settings) -> None:
    """Publish the Home tab for the person who opened it (the Messages tab needs nothing)."""
    if event.get("tab", "home") != "home":
        return
    command = settings.slack_command
    client.views_publish(user_id=event["user"], view=build_home(command, help_entries(command)))
