"""`/coperniq link @someone email@company.com`: a Slack workspace admin links a person by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.people import build_admins_only, build_linked, build_note, build_usage
from bot.people import PeopleError, is_workspace_admin, link_user
from bot.refs import parse_email, parse_slack_user
from handlers.views.common import answer_privately

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

NAME = "link"
HELP = "Slack admins: link a person to the Coperniq user with that email"
EXAMPLE = "/coperniq link @dana dana@company.com"
USAGE = "link @user email"


def parse_args(raw_args: str) -> tuple[str, str] | None:
    """(Slack user id, email) from Slack's escaped text `<@U…|name> <mailto:…|…>`; else None."""
    words = raw_args.split()
    if len(words) != 2:
        return None
    user, email = parse_slack_user(words[0]), parse_email(words[1])
    return None if user is None or email is None else (user, email)


def run(
    *,
    body: dict[str, Any],
    client: WebClient,
    raw_args: str,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    respond: Respond | None = None,
) -> None:
    """Check the words, then that the caller is a Slack admin, then link and confirm privately."""
    command = settings.slack_command
    parsed = parse_args(raw_args)
    if parsed is None:
        problem = "Name one person (an @mention) and one email address."
        message = build_usage(command, USAGE, EXAMPLE.replace("/coperniq", command), problem)
    else:
        slack_user, email = parsed
        try:
            if not is_workspace_admin(client, body["user_id"]):
                message = build_admins_only(command)
            else:
                person = link_user(
                    store.db,
                    slack_user,
                    email,
                    body["user_id"],
                    coperniq=coperniq.interactive,
                    now=datetime.now(UTC),
                )
                message = build_linked(slack_user, person)
        except PeopleError as exc:
            message = build_note(exc.user_message)
    answer_privately(message, body=body, client=client, respond=respond)
