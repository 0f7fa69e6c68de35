"""Photos sent to the bot in a direct message: answer with a button that opens the photo modal."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.blocks.photo_replies import dm_photos_prompt

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

NOT_PHOTOS = "I can attach photos to Coperniq forms; those files are not photos."


def _complete(client: WebClient, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """File objects with name, type and size (Slack sometimes sends only ids: ask files.info)."""
    out = []
    for f in files:
        if f.get("mimetype") and f.get("size") is not None:
            out.append(f)
            continue
        try:
            out.append(client.files_info(file=f["id"])["file"])
        except SlackApiError as exc:
            log.warning("files.info %s failed: %s", f.get("id"), exc.response.get("error"))
    return out


def photos_in_dm(event: dict[str, Any], client: WebClient) -> None:
    """A file_share in the bot's DM: one answer with an "Attach to a Coperniq form" button."""
    if event.get("channel_type") != "im" or not event.get("files"):
        return
    files = _complete(client, list(event["files"]))
    prompt = dm_photos_prompt(files)
    if prompt is None:
        client.chat_postMessage(channel=event["channel"], text=NOT_PHOTOS)
        return
    client.chat_postMessage(channel=event["channel"], **prompt)
