"""`/coperniq unlink @someone`: a Slack workspace admin removes a person's link to Coperniq."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.people import build_admins_only, build_note, build_unlinked, build_usage
from bot.people import PeopleError, is_workspace_admin, unlink_user
from bot.refs import parse_slack_user
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.store import Store

NAME = "unlink"
HELP = "Slack admins: stop linking a person to a Coperniq user"
EXAMPLE = "/coperniq unlink @dana"
USAGE = "unlink @user"


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    raw_args: str,
    settings: Settings,
    store: Store,
    respond: Respond | None = None,
) -> None:
    """Check the mention, then that the caller is a Slack admin, then store "no link"."""
    command = settings.slack_command
    slack_user = parse_slack_user(raw_args) if len(raw_args.split()) == 1 else None
    if slack_user is None:
        problem = "Name one person, as an @mention."
        message = build_usage(command, USAGE, EXAMPLE.replace("/coperniq", command), problem)
    else:
        try:
            if not is_workspace_admin(client, body["user_id"]):
                message = build_admins_only(command)
            else:
                unlink_user(store.db, slack_user, body["user_id"], now=datetime.now(UTC))
                message = build_unlinked(slack_user, command)
        except PeopleError as exc:
            message = build_note(exc.user_message)
    answer_privately(message, body=body, client=client, respond=respond)
