"""Slack listeners, one package per surface; each package exposes `register(app)`."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)

# Order matters only where two listeners could match the same request: the first registered wins.
SURFACES: tuple[str, ...] = ("commands", "views", "actions", "options", "events", "shortcuts")

DEFAULT_COMMAND = "/coperniq"


def register_all(app: App, *, command: str = DEFAULT_COMMAND) -> list[str]:
    """Call each surface package's register(app); return the surfaces registered."""
    done: list[str] = []
    for surface in SURFACES:
        name = f"{__name__}.{surface}"
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a broken import inside the package must not pass silently
                raise
            log.debug("No %s listeners yet", surface)
            continue
        if not hasattr(package, "register"):
            # A package still being written (no register yet) must not stop the app.
            log.warning("handlers.%s has no register(app); skipped", surface)
            continue
        if surface == "commands":
            package.register(app, command=command)
        else:
            package.register(app)
        done.append(surface)
    return done
