"""Shortcuts: "Attach to Coperniq form" on a message with photos."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.photo import file_refs
from bot.blocks.photo_replies import no_photos_modal
from bot.ids import Callback
from handlers.views.common import open_view
from handlers.views.photo import open_photo_modal

if TYPE_CHECKING:
    from slack_bolt import Ack, App
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient

# Shown in the manifest and Slack's shortcut menu.
SHORTCUT_NAME = "Attach to Coperniq form"
SHORTCUT_DESCRIPTION = "Attach this message's photos to a field of a Coperniq form"


def attach_photos(
    ack: Ack, body: dict[str, Any], client: WebClient, coperniq: CoperniqClient
) -> None:
    """Open the photo modal with the message's photos already chosen."""
    ack()
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    message = body.get("message") or {}
    refs = file_refs(message.get("files") or [])
    if not refs:
        open_view(client, body["trigger_id"], no_photos_modal(), channel=channel, user=user)
        return
    open_photo_modal(
        client=client,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        files=refs,
        thread_ts=message.get("thread_ts") or message.get("ts"),
    )


def register(app: App) -> None:
    """Register the message shortcut."""
    app.shortcut(Callback.ATTACH_SHORTCUT.value)(attach_photos)
