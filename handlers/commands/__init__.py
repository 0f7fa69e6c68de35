"""The `/coperniq` router: acks at once, then dispatches on the first word to a subcommand module.

Subcommand contract (one module per subcommand, `handlers/commands/<name>.py`):

    NAME = "call"                         # the first word after the command
    HELP = "Log a phone call on a record"  # one line, shown by `help` and in the manifest hint
    EXAMPLE = "/coperniq call 1234"        # written with /coperniq; help shows the configured name
    def run(*, body, client, args: str, logger, settings, store, coperniq, **_) -> None

`run` is called AFTER the router has acked, on a listener thread, with:
  body     the slash-command payload (user_id, channel_id, trigger_id, response_url, text, ...);
           `body["trigger_id"]` dies 3 s after the person pressed Enter: open a modal FIRST
           (a loading state if needed), then call Coperniq and `views.update`.
  client   the Bolt WebClient (bot token, SLACK_API_URL).
  settings, store, coperniq   the app's Settings, Store and CoperniqClient (use
           `coperniq.interactive` while a person waits).
  args     the text after the subcommand name, stripped, as the person typed it: Slack sends the
           text escaped (the manifest's `should_escape`), and the router turns `&lt;` back into
           `<` and `<@U…|dana>`, `<#C…|general>`, `<mailto:…|a@b.com>` into `@dana`, `#general`,
           `a@b.com`.
  raw_args the same text as Slack sent it (mentions as `<@U…|name>`), for a subcommand that
           needs the ids behind the names (bot.refs.parse_slack_user, parse_email).
  logger   Bolt's logger.
  clock    what time it is (bot.deps.Deps.clock): code that stores or compares times takes it,
           so tests can fix it.
  ack      optional: accepted if declared; the router already acked, calling it again does nothing.
  respond  optional: answers through the command's response_url (ephemeral by default).
Only the keyword arguments `run` declares are passed (declare **_ to take them all).
An exception from `run` reaches the app's error handler, which logs it and tells the person.

Every subcommand module is listed once, in SUBCOMMANDS below; help and the manifest read it.

`help`, an empty text and an unknown word answer with the help, in the ack itself (an ephemeral
reply only the person sees), so they cost no extra Slack call.
"""

from __future__ import annotations

import inspect
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.blocks.common import slack_text
from bot.ids import Action
from bot.refs import plain_command_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from slack_bolt import Ack, App, Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "/coperniq"

# The table: help and the manifest list them in this order. (Imported here, after the router's
# own names above are defined; the modules import nothing from this package.)
from handlers.commands import (  # noqa: E402
    call,
    find,
    link,
    photo,
    request,
    subscribe,
    subscriptions,
    unlink,
    unsubscribe,
    whoami,
    workorder,
)
from handlers.commands import help as help_command  # noqa: E402

SUBCOMMANDS: tuple[ModuleType, ...] = (
    request,
    call,
    photo,
    find,
    workorder,
    subscribe,
    unsubscribe,
    subscriptions,
    whoami,
    link,
    unlink,
    help_command,
)
_BY_NAME: dict[str, ModuleType] = {m.NAME: m for m in SUBCOMMANDS}


def load_subcommand(name: str) -> ModuleType | None:
    """The module for subcommand `name`, or None for a word that is no subcommand."""
    return _BY_NAME.get(name)


def available_subcommands() -> list[ModuleType]:
    """Every subcommand module, in table order."""
    return list(SUBCOMMANDS)


def help_entries(command: str = DEFAULT_COMMAND) -> list[tuple[str, str, str]]:
    """(name, one-line help, example with the configured command name) for each subcommand."""
    entries = []
    for module in available_subcommands():
        example = module.EXAMPLE
        if example.startswith(DEFAULT_COMMAND):
            example = command + example[len(DEFAULT_COMMAND) :]
        entries.append((module.NAME, module.HELP, example))
    return entries


def usage_hint() -> str:
    """The slash command's usage hint for the manifest, e.g. "request | call [record] | ..."."""
    parts = []
    for module in available_subcommands():
        usage = getattr(module, "USAGE", None) or module.NAME
        parts.append(usage)
    return " | ".join(parts)


def parse(text: str | None) -> tuple[str, str]:
    """Split the command text into (subcommand name lowercased, rest)."""
    first, _, rest = (text or "").strip().partition(" ")
    return first.lower(), rest.strip()


def call_run(module: ModuleType, **available: Any) -> None:
    """Call module.run with the keyword arguments its signature declares."""
    params = inspect.signature(module.run).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        module.run(**available)
    else:
        module.run(**{k: v for k, v in available.items() if k in params})


def make_router(command: str) -> Any:
    """The slash command listener for `command`."""
    from bot.blocks.help import build_help

    def route(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        logger: logging.Logger,
        respond: Respond,
        settings: Settings,
        store: Store,
        coperniq: CoperniqClient,
        clock: Callable[[], datetime],
    ) -> None:
        name, raw_args = parse(body.get("text"))
        args = plain_command_text(raw_args).strip()
        module = None if name in ("", "help") else load_subcommand(name)
        if module is None:
            note = None
            if name and name != "help":
                note = f"I don't know “{slack_text(name, 40)}”."
            ack(**build_help(command, help_entries(command), note=note))
            return
        ack()
        call_run(
            module,
            body=body,
            client=client,
            args=args,
            raw_args=raw_args,
            logger=logger,
            ack=ack,
            respond=respond,
            settings=settings,
            store=store,
            coperniq=coperniq,
            clock=clock,
        )

    return route


def ack_link_click(ack: Ack) -> None:
    """URL buttons still send block_actions; Slack wants them acked like any other."""
    ack()


def register(app: App, *, command: str = DEFAULT_COMMAND) -> None:
    """Register the slash command router and the no-op ack for "Open in Coperniq" link buttons."""
    app.command(command)(make_router(command))
    app.action(Action.OPEN_IN_COPERNIQ.value)(ack_link_click)
