"""`/coperniq subscriptions`: what this channel gets (and, for Slack admins, every channel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.people import build_note
from bot.routing import do_list
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.store import Store

NAME = "subscriptions"
HELP = "Show what this channel is sent (Slack admins: every channel)"
EXAMPLE = "/coperniq subscriptions"
USAGE = "subscriptions"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    respond: Respond | None = None,
) -> None:
    """Read the store (no Coperniq call) and answer privately."""
    answer = do_list(body, client, settings, store)
    answer_privately(build_note(answer.text), body=body, client=client, respond=respond)
