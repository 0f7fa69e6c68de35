"""What every button on an alert item shares: which card and item was clicked, telling the
clicker, showing an act on the item's cards, and saying why a click is refused.

A click names its item only by the block_id of the item's row (`alert-item:<key>`); everything
else about the item (its form, project, invoice, balance) comes from the model the bot stored
when it posted the message, never from the payload, so a forged payload can name an item but
cannot change what is done to it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.blocks.common import slack_text
from bot.blocks.people import refusal
from jobs import state
from jobs.blocks import item_key_of
from jobs.cards import change_card
from jobs.registry import JOBS

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlite_utils import Database

    from bot.config import Settings
    from bot.people import Identity
    from jobs.digest import DigestJob

log = logging.getLogger(__name__)

# The keys digest items have: "form:<id>", "invoice:<id>" (ids as bot.refs parses them).
_KEY = re.compile(r"^(form|invoice):([0-9]{1,19})$")
TOO_OLD = (
    "I no longer have this alert's details, so its buttons don't work any more. "
    "Open the record in Coperniq, or wait for the next digest."
)


@dataclass(frozen=True)
class Click:
    """One click on an item's button: where, by whom, and the item as the card shows it."""

    channel: str
    ts: str
    thread_ts: str | None
    user: str
    key: str
    job: DigestJob
    item: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def item_id(self) -> int:
        return int(self.key.partition(":")[2])


def read_click(db: Database, body: dict[str, Any], action: dict[str, Any]) -> Click | str:
    """The clicked item, or a sentence saying why the click cannot be acted on."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    user = (body.get("user") or {}).get("id")
    key = item_key_of(action.get("block_id"))
    match = _KEY.match(key or "")
    if not (channel and ts and user and match) or int(match.group(2)) == 0:
        return "That button didn't say which alert it belongs to."
    model = state.load_model(db, str(channel), str(ts))
    job = JOBS.get(str((model or {}).get("job")))
    item = next((i for i in (model or {}).get("items", []) if i.get("key") == key), None)
    if model is None or job is None or item is None:
        return TOO_OLD
    thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    return Click(str(channel), str(ts), thread_ts, str(user), str(key), job, item)


def tell(client: WebClient, click: Click, text: str) -> None:
    """An ephemeral note to the clicker, beside the card (in its thread when it is a reply)."""
    kwargs: dict[str, Any] = {"channel": click.channel, "user": click.user, "text": text}
    if click.thread_ts and click.thread_ts != click.ts:
        kwargs["thread_ts"] = click.thread_ts
    try:
        client.chat_postEphemeral(**kwargs)
    except SlackApiError as exc:
        # Not in the channel any more, or an archived one: a DM still reaches them.
        log.info("chat.postEphemeral failed (%s); sending a DM", (exc.response or {}).get("error"))
        try:
            client.chat_postMessage(channel=click.user, text=text)
        except SlackApiError:
            log.warning("Could not tell %s about their click", click.user)


def tell_unreadable(client: WebClient, body: dict[str, Any], why: str) -> None:
    """Tell the clicker of a click `read_click` could not place."""
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if not user:
        return
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=why)
        else:
            client.chat_postMessage(channel=user, text=why)
    except SlackApiError:
        log.warning("Could not tell %s why their click did nothing", user)


def stamp(at: datetime, tz: ZoneInfo) -> str:
    """When an act happened, as Slack shows it in each reader's own zone: "Today at 10:42"
    ("Yesterday at …" on a later day's card); the fallback is in the bot's zone."""
    local = at.astimezone(tz)
    fallback = f"{local:%a} {local.day} {local:%b} {local:%H:%M} {local.tzname()}"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def day_stamp(at: datetime, tz: ZoneInfo) -> str:
    """A day and time in each reader's zone, e.g. Thu, Dec 3 at 10:42 (a snooze's end)."""
    return stamp(at, tz)


def card_line(act: str, text: str, slack_user: str, at: datetime) -> dict[str, Any]:
    """What a card shows of one act, and what is carried onto the item's later cards."""
    return {"act": act, "text": text, "by": slack_user, "at": at.isoformat()}


def show_act(
    db: Database,
    client: WebClient,
    click: Click,
    line: dict[str, Any],
    now: datetime,
    *,
    resolved: bool = False,
) -> bool:
    """Add `line` under the item on every card that lists it now; False if a card failed.

    The clicked card first, then the item's open alerts in other channels or older messages
    (one item can be on several cards: a digest per channel, a reminder in a later digest).
    `resolved` also marks it resolved there, so its buttons go.
    """

    def change(model: dict[str, Any]) -> None:
        acts = model.setdefault("acts", {}).setdefault(click.key, [])
        if line not in acts:  # a replayed click shows once
            acts.append(line)
        if resolved:
            model["resolved"] = sorted(set(model.get("resolved", [])) | {click.key})

    def update(channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    cards = [(click.channel, click.ts)]
    for row in state.open_alerts(db, click.job.id):
        where = (row.channel or "", row.message_ts or "")
        if row.item_key == click.key and all(where) and where not in cards:
            cards.append(where)
    ok = True
    for channel, ts in cards:
        try:
            change_card(db, click.job, channel, ts, change, now, update)
        except SlackApiError as exc:
            ok = False
            log.warning(
                "%s: showing %s on card %s failed: %s",
                click.job.id,
                line["act"],
                ts,
                (exc.response or {}).get("error"),
            )
    return ok


def refused(identity: Identity, doing: str, settings: Settings) -> str:
    """Why the clicker may not `doing` ("take this form"), and what to ask for."""
    return refusal(identity, doing, settings.slack_command, settings.payment_roles)


def quote(text: Any, limit: int = 80) -> str:
    """Untrusted text (a form's name, a client's) for a message to the clicker."""
    return slack_text(str(text or ""), limit)
