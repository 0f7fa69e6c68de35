"""Event listeners: the Home tab here; DM file shares in `files.py` (registered when present)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from handlers.events.app_home import publish_home
from handlers.events.dedupe import once_per_event

if TYPE_CHECKING:
    from slack_bolt import App

__all__ = ["once_per_event", "register"]

# Listener modules of this package that register themselves, if present.
_OPTIONAL = ("files",)


def ignore_other_messages(logger: Any) -> None:
    """Events we subscribe to but do not act on (DM text): Bolt acks; Slack must not retry."""


def register(app: App) -> None:
    """app_home_opened, the optional modules' listeners, then a quiet catch-all for messages."""
    app.event("app_home_opened")(once_per_event(publish_home))
    for name in _OPTIONAL:
        module_name = f"{__name__}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(app)
    # Registered last so it only sees messages no other listener claimed.
    app.event("message")(ignore_other_messages)
