"""Every Slack id the bot uses (callback_id, action_id, block_id), defined once.

Append new ids to the section of their surface; never reuse a value for two meanings.
"""

from __future__ import annotations

from enum import StrEnum


class Callback(StrEnum):
    """View callback_ids and shortcut callback_ids."""

    REQUEST_MODAL = "request_modal"
    CALL_MODAL = "call_modal"
    PHOTO_MODAL = "photo_modal"
    ATTACH_SHORTCUT = "attach_photos_shortcut"


class Action(StrEnum):
    """action_ids of buttons, selects and inputs."""

    OPEN_CALL_MODAL = "open_call_modal"
    OPEN_PHOTO_MODAL = "open_photo_modal"
    OPEN_IN_COPERNIQ = "open_in_coperniq"


class Block(StrEnum):
    """block_ids of input blocks (errors are keyed by these)."""
