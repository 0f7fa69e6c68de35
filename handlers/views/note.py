"""The Add note modal of a work-order card: `POST /work-orders/{id}/notes {body}`, exactly once.

Validated before the ack (an empty note is answered in the modal). The submission is claimed in
the store by its view id, so a double submit or a replay writes one note. A failure is told to the
person with their text, so nothing typed is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.common import decode_metadata, flatten_state
from bot.blocks.workorder_card import NOTE_MAX
from bot.coperniq.errors import CoperniqError
from bot.ids import Block
from handlers.actions.workorder_card import say
from jobs import state
from jobs.workorders import JOB_ID

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

NOTE_ACT = "note"


def parse_note(view: dict[str, Any]) -> tuple[int | None, str, str | None]:
    """(work order id, text, channel) from the submitted modal."""
    meta = decode_metadata(view)
    wo = meta.get("work_order_id")
    text = str(flatten_state(view).get(Block.NOTE_TEXT.value) or "").strip()
    return (wo if isinstance(wo, int) else None), text, meta.get("channel")


def create_note(coperniq: CoperniqClient, work_order_id: int, text: str) -> dict[str, Any]:
    """POST /work-orders/{id}/notes (the spec's create-work-order-note)."""
    return coperniq.interactive.request(
        "POST", f"/work-orders/{int(work_order_id)}/notes", json={"body": text}
    )


def submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    client: WebClient,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Check the note, close the modal, write it once, tell the person."""
    wo_id, text, channel = parse_note(view)
    if not text:
        ack(response_action="errors", errors={Block.NOTE_TEXT.value: "Write a note first."})
        return
    if len(text) > NOTE_MAX:
        ack(
            response_action="errors",
            errors={Block.NOTE_TEXT.value: f"Keep it under {NOTE_MAX} characters."},
        )
        return
    ack()
    user = body["user"]["id"]
    if wo_id is None:
        say(client, channel, user, "I lost track of the work order; your note was not saved.")
        return
    key = f"note:{view.get('id')}"
    if state.claim_act(store.db, JOB_ID, key, NOTE_ACT, slack_user=user, coperniq_user=None,
                       now=clock()) is not None:  # fmt: skip
        return  # the same submission again: written (or being written) once already
    try:
        create_note(coperniq, wo_id, text)
    except CoperniqError as exc:
        if not exc.outcome_unknown:
            state.release_act(store.db, JOB_ID, key, NOTE_ACT, user)
        why = (
            "Coperniq didn't answer, so I can't tell whether it was saved"
            if exc.outcome_unknown
            else f"Coperniq refused it: {exc.user_message}"
        )
        say(client, channel, user, f"{why}. Your note was:\n>{text[:2900]}")
        return
    state.finish_act(store.db, JOB_ID, key, NOTE_ACT, clock(), {"work_order_id": wo_id})
    say(client, channel, user, "Note added to the work order in Coperniq.")
