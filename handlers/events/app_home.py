"""app_home_opened: publish the person's Home tab from the store (bot/home.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import home

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store


def publish_home(
    event: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Publish the Home tab for the person who opened it (the Messages tab needs nothing)."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    now = clock()
    user = str(event["user"])
    identity, admin = home.who_opened(store.db, coperniq, client, settings, user, now)
    home.publish(
        client, store.db, settings, coperniq.budget, identity, admin=admin, now=now, opened=True
    )
