"""Buttons that open a modal: find's "Log a call" and "Attach photos", and the DM photo prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.photo import refs_from_button
from handlers.views.call import open_call_modal
from handlers.views.photo import open_photo_modal

if TYPE_CHECKING:
    from slack_sdk import WebClient


def _where(body: dict[str, Any]) -> tuple[str | None, str]:
    """(channel, user) of a block_actions payload; the channel is where the button was."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return channel, body["user"]["id"]


def open_call(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
) -> None:
    """Open the call modal for the record the button names ("type:id")."""
    ack()
    channel, user = _where(body)
    open_call_modal(
        client=client,
        context=context,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        record=action.get("value"),
    )


def open_photo(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
) -> None:
    """Open the photo modal on the project the button names."""
    ack()
    channel, user = _where(body)
    value = action.get("value") or ""
    open_photo_modal(
        client=client,
        context=context,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        project=value if value.startswith("project:") else None,
    )


def open_photo_with_files(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
) -> None:
    """The DM prompt's button: the photo modal with the photos sent in the DM already chosen."""
    ack()
    channel, user = _where(body)
    open_photo_modal(
        client=client,
        context=context,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        files=refs_from_button(action.get("value")),
    )
