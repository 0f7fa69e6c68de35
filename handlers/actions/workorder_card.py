"""The buttons on a technician's work-order card: a status, Add photos, Add note.

A status button acks at once, then PATCHes `status` on the work order's record path once: the
click is claimed in the store (alert_acts, one pending claim per work order), so a double tap or
Slack's replay finds the claim, or finds the status already set, and writes nothing. The answer
(a WorkOrder) is stored and every card of the work order is updated in place. A refusal is shown
on the card and ephemerally, in plain words; nothing changed then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.workorder_card import note_modal, status_id, status_text
from bot.coperniq.errors import CoperniqError
from bot.records import PROJECT, parse_value
from handlers.views.photo import open_photo_modal
from jobs import state
from jobs.slackpost import SlackPoster
from jobs.workorders import JOB_ID, cards
from jobs.workorders.sweep import row_of, save

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

STATUS_ACT = "status"


def _where(body: dict[str, Any]) -> tuple[str | None, str]:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return channel, body["user"]["id"]


def say(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """An ephemeral line to the clicker beside the card (a DM when that fails)."""
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
    except Exception:
        log.info("chat.postEphemeral to %s failed; sending a DM", user)
    try:
        client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.warning("could not tell %s about their click", user)


def _parse(value: object) -> tuple[int, str] | None:
    wo, _, sid = str(value or "").partition(":")
    status = status_id(sid)
    return (int(wo), status) if wo.isdigit() and status else None


def set_status(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """A status button: PATCH the work order's status once, then update its cards."""
    ack()
    channel, user = _where(body)
    parsed = _parse(action.get("value"))
    if parsed is None:
        say(client, channel, user, "I couldn't read that button. Nothing changed.")
        return
    change_status(parsed[0], parsed[1], user, channel, client, settings, store, coperniq, clock())


def change_status(
    wo_id: int,
    target: str,
    user: str,
    channel: str | None,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
) -> bool:
    """Set the status (claimed, once); True when this click changed it."""
    db = store.db
    poster = SlackPoster(client, min_interval=0)
    row = db.execute(
        "select parent_type, parent_id, status from work_orders where id = ?", [wo_id]
    ).fetchone()
    if row is None:
        say(client, channel, user, "I don't know this work order any more. Nothing changed.")
        return False
    parent_type, parent_id, current = row
    shown = status_text(target)
    if current == target:
        cards.refresh(db, settings, poster, wo_id, now)
        return False  # a double tap after the first went through: nothing to write
    if not parent_type or parent_id is None:
        say(client, channel, user, "I can't tell which record this work order is on, so set "
            "its status in the Coperniq app.")  # fmt: skip
        return False
    key = f"wo:{wo_id}"
    held = state.claim_act(
        db, JOB_ID, key, STATUS_ACT, slack_user=user, coperniq_user=None, now=now,
        replaces=lambda act: act.state == state.DONE_ACT,
    )  # fmt: skip
    if held is not None:
        say(client, channel, user, "Hang on, that status change is still going through.")
        return False
    # A second tap that read the row before the first one's answer was saved claims once the
    # first is done: the saved status (written before the first claim finished) says so.
    again = db.execute("select status from work_orders where id = ?", [wo_id]).fetchone()
    if again is not None and again[0] == target:
        state.release_act(db, JOB_ID, key, STATUS_ACT, user)
        cards.refresh(db, settings, poster, wo_id, now)
        return False
    try:
        answer = coperniq.interactive.work_orders.update(
            parent_type, parent_id, wo_id, {"status": target}
        )
    except CoperniqError as exc:
        state.release_act(db, JOB_ID, key, STATUS_ACT, user)
        if exc.outcome_unknown:
            text = (
                f"Coperniq didn't answer, so I can't tell whether *{shown}* went through. "
                "Check the work order in the Coperniq app before tapping again."
            )
        elif exc.status in (400, 422):
            text = f"Coperniq wouldn't set *{shown}* on this work order: {exc.user_message}"
        elif exc.status == 404:
            text = "Coperniq can't find this work order any more (moved or deleted)."
        else:
            text = f"I couldn't set *{shown}*: {exc.user_message} Nothing changed; try again."
        cards.refresh(db, settings, poster, wo_id, now, note=f":warning: {text}")
        say(client, channel, user, text)
        return False
    if isinstance(answer, dict) and answer.get("id") is not None:
        save(db, [row_of(answer, now, (parent_type, parent_id))])
    else:
        db.execute("update work_orders set status = ?, status_label = null where id = ?",
                   [target, wo_id])  # fmt: skip
    state.finish_act(db, JOB_ID, key, STATUS_ACT, now, {"status": target})
    cards.refresh(db, settings, poster, wo_id, now)
    return True


def add_photos(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    coperniq: CoperniqClient,
) -> None:
    """Add photos: the photo modal, opened at once on the work order's project."""
    ack()
    channel, user = _where(body)
    value = action.get("value")
    open_photo_modal(
        client=client,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=channel,
        user=user,
        project=value if parse_value(value, (PROJECT.kind,)) else None,
    )


def add_note(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, store: Store
) -> None:
    """Add note: the note modal, opened at once (the title comes from the store)."""
    ack()
    channel, user = _where(body)
    value = str(action.get("value") or "")
    if not value.isdigit():
        say(client, channel, user, "I couldn't read that button.")
        return
    row = store.db.execute("select title from work_orders where id = ?", [int(value)]).fetchone()
    title = row[0] if row and row[0] else f"Work order {value}"
    client.views_open(trigger_id=body["trigger_id"], view=note_modal(int(value), title, channel))
