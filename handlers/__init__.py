"""Slack listeners, one package per surface; each package exposes `register(app)`.

Listeners translate Slack to the bot's flows (bot.flows, bot.records) and back. They declare what
they need as parameters: Bolt's `ack`, `body`, `client`, and the app's `settings`, `store` and
`coperniq`, which bot.app puts into every request's context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import actions, commands, events, functions, options, shortcuts, views

if TYPE_CHECKING:
    from slack_bolt import App


def register_all(app: App, *, command: str = commands.DEFAULT_COMMAND) -> None:
    """Register every surface's listeners. Order matters only where two listeners could match
    the same request: the first registered wins."""
    commands.register(app, command=command)
    views.register(app)
    actions.register(app)
    options.register(app)
    functions.register(app)
    events.register(app)
    shortcuts.register(app)
