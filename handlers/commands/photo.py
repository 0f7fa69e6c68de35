"""`/coperniq photo [project]`: open the attach-photos modal, on a project when one is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.views.photo import open_photo_modal

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient

NAME = "photo"
HELP = "Attach photos to a field of a project's Coperniq form"
EXAMPLE = "/coperniq photo 1234"
USAGE = "photo [project]"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    args: str,
    coperniq: CoperniqClient,
    **_: Any,
) -> None:
    """Open the modal at once; a project number or name in `args` is looked up after."""
    open_photo_modal(
        client=client,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=body.get("channel_id"),
        user=body["user_id"],
        project_text=args or None,
    )
