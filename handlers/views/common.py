"""Small Slack-side helpers the modal flows share: open, update, post a result, tell the person."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.blocks.common import slack_text
from bot.coperniq.errors import ConnectionFailed, CoperniqError, ServerError, Timeout

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

TRIGGER_EXPIRED = (
    "That took too long to open (Slack allows 3 seconds). Please run the command or press the "
    "button again."
)
# views.open's answers to a trigger id that is too old, unknown or already used (Slack's names).
TRIGGER_ERRORS = ("expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id")
# Errors that mean the bot may not post in that conversation: fall back to a DM.
_CANNOT_POST = {
    "not_in_channel",
    "channel_not_found",
    "is_archived",
    "restricted_action",
    "cannot_reply_to_message",
    "access_denied",
}


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code of a failed Web API call."""
    return str((exc.response or {}).get("error") or exc)


def open_view(
    client: WebClient,
    trigger_id: str,
    view: dict[str, Any],
    *,
    channel: str | None,
    user: str,
) -> dict[str, Any] | None:
    """views.open; when the trigger expired, tell the person to try again and return None."""
    try:
        return client.views_open(trigger_id=trigger_id, view=view)["view"]
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in TRIGGER_ERRORS:
            log.warning("views.open failed (%s): asking the user to retry", error)
            tell(client, channel, user, TRIGGER_EXPIRED)
            return None
        raise


def update_view(
    client: WebClient, view_id: str, view: dict[str, Any], view_hash: str | None = None
) -> dict[str, Any] | None:
    """views.update; None when the modal was closed or changed meanwhile (nothing to update)."""
    try:
        kwargs: dict[str, Any] = {"view_id": view_id, "view": view}
        if view_hash:
            kwargs["hash"] = view_hash
        return client.views_update(**kwargs)["view"]
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in ("not_found", "hash_conflict", "view_not_found"):
            log.info("views.update skipped: %s", error)
        else:
            # Never fail the flow over a modal refresh: callers fall back to a message.
            log.warning("views.update failed: %s", error)
        return None


def tell(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """An ephemeral note to the person in `channel`, or a DM when that is not possible."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            log.info("chat.postEphemeral in %s failed: %s", channel, slack_error(exc))
    try:
        client.chat_postMessage(channel=user, text=text)
    except SlackApiError:
        log.exception("Could not tell %s: %s", user, text[:80])


def post_result(
    client: WebClient,
    channel: str | None,
    user: str,
    message: dict[str, Any],
    thread_ts: str | None = None,
) -> None:
    """Post a confirmation where the person started; DM them when the bot cannot post there."""
    reason = None
    if channel:
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)
            return
        except SlackApiError as exc:
            # The Coperniq write is done: whatever Slack says, the person must still hear of it.
            reason = slack_error(exc)
            log.warning("Cannot post in %s (%s); sending a DM", channel, reason)
    note = dict(message)
    if channel and reason in _CANNOT_POST:
        note["text"] = (
            f"(I can't post in <#{channel}>; add me there to share these.) {note['text']}"
        )
    try:
        client.chat_postMessage(channel=user, **note)
    except SlackApiError:
        log.exception("Could not send %s the confirmation either", user)


def why_unsure(exc: CoperniqError | None) -> str:
    """Why a write's outcome is unknown, as the start of a sentence a dispatcher understands."""
    if isinstance(exc, Timeout):
        return "Coperniq did not answer in time"
    if isinstance(exc, ConnectionFailed):
        return "The connection to Coperniq dropped"
    if isinstance(exc, ServerError):
        return "Coperniq had a problem while saving"
    return "I could not read Coperniq's answer"


def no_single_project(text: str | None) -> str:
    """The modal's note when the typed project text names no one project."""
    return f":mag: No single project matches “{slack_text(text or '')}”. Search for it below."


def field_errors(exc: CoperniqError | None, blocks: Mapping[str, str]) -> dict[str, str]:
    """A 400's `field` as an error on the input block that shows it; {} when none does."""
    if exc is None or not exc.field:
        return {}
    # "body.primaryEmail" or "address[0]" name the same input as "primaryEmail" and "address".
    name = re.split(r"[.\[]", exc.field.removeprefix("body."), maxsplit=1)[0]
    block = blocks.get(name)
    return {block: exc.user_message} if block else {}


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
