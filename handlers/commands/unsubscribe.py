"""`/coperniq unsubscribe sla|invoices`: this channel stops getting that job's alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.people import build_note
from bot.routing import do_unsubscribe
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

NAME = "unsubscribe"
HELP = "Stop sending this channel SLA alerts or overdue invoices"
EXAMPLE = "/coperniq unsubscribe sla"
USAGE = "unsubscribe sla|invoices"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    args: str,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
    respond: Respond | None = None,
) -> None:
    """Remove this channel's subscription, say so in the channel; tell privately."""
    answer = do_unsubscribe(args, body, client, settings, store, coperniq, clock())
    answer_privately(build_note(answer.text), body=body, client=client, respond=respond)
