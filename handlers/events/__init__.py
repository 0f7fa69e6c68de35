"""Event listeners: the Home tab, photos sent to the bot in a DM, and a quiet catch-all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.events.app_home import publish_home
from handlers.events.dedupe import once_per_event
from handlers.events.files import photos_in_dm
from handlers.events.link_shared import unfurl_links

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
    # Coperniq links in a message: chat.unfurl once per event (bot.unfurls caches the reads).
    app.event("link_shared")(once_per_event(unfurl_links))
    # Registered last so it only sees messages no other listener claimed.
    app.event("message")(ignore_other_messages)
