"""`/coperniq call [record]`: open the log-a-call modal, prefilled when a record is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.views.call import open_call_modal

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient

NAME = "call"
HELP = "Log a phone call on a project, request or client"
EXAMPLE = "/coperniq call 1234"
USAGE = "call [record]"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    args: str,
    settings: Settings,
    coperniq: CoperniqClient,
    **_: Any,
) -> None:
    """Open the modal at once; a project number or name in `args` is looked up after."""
    open_call_modal(
        client=client,
        settings=settings,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=body.get("channel_id"),
        user=body["user_id"],
        record_text=args or None,
    )
