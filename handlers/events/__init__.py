"""Event listeners: the Home tab, photos sent to the bot in a DM, and a quiet catch-all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.events.app_home import publish_home
from handlers.events.dedupe import once_per_event
from handlers.events.files import photos_in_dm

if TYPE_CHECKING:
    from slack_bolt import App

__all__ = ["once_per_event", "register"]


def ignore_other_messages() -> None:
    """Events we subscribe to but do not act on (DM text): Bolt acks; Slack must not retry."""


def register(app: App) -> None:
    """app_home_opened, DM file shares (each deduped on event_id), then the catch-all."""
    app.event("app_home_opened")(once_per_event(publish_home))
    # Slack retries events: a retry must not answer twice.
    app.event({"type": "message", "subtype": "file_share"})(once_per_event(photos_in_dm))
    # Registered last so it only sees messages no other listener claimed.
    app.event("message")(ignore_other_messages)
