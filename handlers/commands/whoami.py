"""`/coperniq whoami`: who the bot thinks you are in Coperniq, and what you may do there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.people import build_whoami
from bot.people import identify
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

NAME = "whoami"
HELP = "Show who you are in Coperniq and what you may do from Slack"
EXAMPLE = "/coperniq whoami"
USAGE = "whoami"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    respond: Respond | None = None,
) -> None:
    """Identify the person (cached directory, Slack profile) and answer privately."""
    identity = identify(
        store.db,
        coperniq.interactive,
        client,
        body["user_id"],
        datetime.now(UTC),
        payment_roles=settings.payment_roles,
    )
    message = build_whoami(identity, settings.slack_command, settings.payment_roles)
    answer_privately(message, body=body, client=client, respond=respond)
