"""The `/coperniq` router: acks at once, then dispatches on the first word to a subcommand module.

Subcommand contract (one module per subcommand, `handlers/commands/<name>.py`):

    NAME = "call"                         # the first word after the command
    HELP = "Log a phone call on a record"  # one line, shown by `help` and in the manifest hint
    EXAMPLE = "/coperniq call 1234"        # written with /coperniq; help shows the configured name
    def run(*, body, client, context, args: str, logger, **_) -> None

`run` is called AFTER the router has acked, on a listener thread, with:
  body     the slash-command payload (user_id, channel_id, trigger_id, response_url, text, ...);
           `body["trigger_id"]` dies 3 s after the person pressed Enter: open a modal FIRST
           (a loading state if needed), then call Coperniq and `views.update`.
  client   the Bolt WebClient (bot token, SLACK_API_URL).
  context  Bolt context with "settings", "store" and "coperniq" (use `.interactive` while a
           person waits).
  args     the text after the subcommand name, stripped.
  logger   Bolt's logger.
  ack      optional: accepted if declared; the router already acked, calling it again does nothing.
  respond  optional: answers through the command's response_url (ephemeral by default).
Only the keyword arguments `run` declares are passed (declare **_ to take them all).
An exception from `run` reaches the app's error handler, which logs it and tells the person.

Modules listed in SUBCOMMANDS but not yet written are skipped (absent from help and the manifest);
a broken import inside a module that does exist is raised, not hidden.

`help`, an empty text and an unknown word answer with the help, in the ack itself (an ephemeral
reply only the person sees), so they cost no extra Slack call.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.blocks.common import slack_text
from bot.ids import Action

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "/coperniq"

# The table: help and the manifest list them in this order.
SUBCOMMANDS: tuple[str, ...] = ("request", "call", "photo", "find", "help")


def load_subcommand(name: str) -> ModuleType | None:
    """The module for subcommand `name`, or None when it does not exist (yet)."""
    if name not in SUBCOMMANDS:
        return None
    module_name = f"{__name__}.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


def available_subcommands() -> list[ModuleType]:
    """The table's modules that exist, in table order."""
    return [m for name in SUBCOMMANDS if (m := load_subcommand(name)) is not None]


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
        context: Any,
        logger: logging.Logger,
        respond: Respond,
    ) -> None:
        name, args = parse(body.get("text"))
        module = None if name in ("", "help") else load_subcommand(name)
        if module is None:
            note = None
            if name and name != "help":
                note = (
                    f"I don't know “{slack_text(name, 40)}”."
                    if name not in SUBCOMMANDS
                    else (f"`{name}` isn't available yet.")
                )
            ack(**build_help(command, help_entries(command), note=note))
            return
        ack()
        call_run(
            module,
            body=body,
            client=client,
            context=context,
            args=args,
            logger=logger,
            ack=ack,
            respond=respond,
        )

    return route


def answer_privately(
    message: dict[str, Any], *, body: dict[str, Any], client: WebClient, respond: Any = None
) -> None:
    """An answer only the person sees: through the command's response_url, else an ephemeral."""
    if respond is not None and body.get("response_url"):
        respond(**message)
        return
    client.chat_postEphemeral(
        channel=body["channel_id"],
        user=body["user_id"],
        text=message["text"],
        blocks=message["blocks"],
    )


def ack_link_click(ack: Ack) -> None:
    """URL buttons still send block_actions; Slack wants them acked like any other."""
    ack()


def register(app: App, *, command: str = DEFAULT_COMMAND) -> None:
    """Register the slash command router and the no-op ack for "Open in Coperniq" link buttons."""
    app.command(command)(make_router(command))
    app.action(Action.OPEN_IN_COPERNIQ.value)(ack_link_click)
