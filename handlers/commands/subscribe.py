"""`/coperniq subscribe sla|invoices [filters]`: this channel gets that job's alerts, filtered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.people import build_note
from bot.routing import do_subscribe
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

NAME = "subscribe"
HELP = "Send this channel SLA alerts or overdue invoices, with filters"
EXAMPLE = '/coperniq subscribe sla workflow:"Residential Solar" level:red'
USAGE = "subscribe sla|invoices [filters]"


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
    """Check the filters against Coperniq's names, confirm in the channel, store; tell privately."""
    answer = do_subscribe(args, body, client, settings, store, coperniq, clock())
    answer_privately(build_note(answer.text), body=body, client=client, respond=respond)
