"""Buttons that open a modal: find's "Log a call" and "Attach photos", and the DM photo prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.photo import refs_from_button
from bot.records import PROJECT, parse_value
from handlers.views.call import open_call_modal
from handlers.views.photo import open_photo_modal

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient


def _where(body: dict[str, Any]) -> tuple[str | None, str]:
    """(channel, user) of a block_actions payload; the channel is where the button was."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return channel, body["user"]["id"]


def open_call(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    coperniq: CoperniqClient,
) -> None:
    """Open the call modal for the record the button names ("kind:id")."""
    ack()
    channel, user = _where(body)
    open_call_modal(
        client=client,
        settings=settings,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        record=action.get("value"),
    )


def open_photo(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    coperniq: CoperniqClient,
) -> None:
    """Open the photo modal on the project the button names."""
    ack()
    channel, user = _where(body)
    value = action.get("value")
    open_photo_modal(
        client=client,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        project=value if parse_value(value, (PROJECT.kind,)) else None,
    )


def open_photo_with_files(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    coperniq: CoperniqClient,
) -> None:
    """The DM prompt's button: the photo modal with the photos sent in the DM already chosen."""
    ack()
    channel, user = _where(body)
    open_photo_modal(
        client=client,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        files=refs_from_button(action.get("value")),
    )
