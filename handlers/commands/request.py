"""`/coperniq request`: open the new service request modal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.views.request import open_request_modal

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

NAME = "request"
HELP = "Open a new service request (a Coperniq opportunity)"
EXAMPLE = "/coperniq request"
USAGE = "request"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    **_: Any,
) -> None:
    """Open the modal with the command's trigger id at once (the router has acked)."""
    open_request_modal(
        client=client,
        settings=settings,
        store=store,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=body.get("channel_id"),
        user=body["user_id"],
    )
