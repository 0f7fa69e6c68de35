"""`/coperniq workorder [record]`: open the new-work-order modal, prefilled with a record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handlers.views.workorder import open_workorder_modal

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

NAME = "workorder"
HELP = "Create a work order from a template on a project, request or client"
EXAMPLE = "/coperniq workorder 1234"
USAGE = "workorder [record]"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    args: str,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
    **_: Any,
) -> None:
    """Open the modal at once; the templates and a record in `args` are looked up after."""
    open_workorder_modal(
        client=client,
        settings=settings,
        store=store,
        coperniq=coperniq,
        clock=clock,
        trigger_id=body["trigger_id"],
        channel=body.get("channel_id"),
        user=body["user_id"],
        record_text=args or None,
    )
