"""Create work order: the button on find's results and on SLA alert items opens the modal on
the record it names ("kind:id")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.records import parse_value
from handlers.views.workorder import open_workorder_modal

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store


def open_workorder(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Open the work-order modal prefilled with the button's record (none if it names none)."""
    ack()
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    value = action.get("value")
    open_workorder_modal(
        client=client,
        settings=settings,
        store=store,
        coperniq=coperniq,
        clock=clock,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=body["user"]["id"],
        record=value if parse_value(value) else None,
    )
