"""Snooze…, on any alert item: leave it out of the digests for a day or more, or (a form) until
its project's phase changes. No Coperniq write, so no link is needed; the card says who snoozed
it and until when, and the item comes back in the first digest after the snooze ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.store import audit
from handlers.actions.cards import card_line, day_stamp, read_click, show_act, tell, tell_unreadable
from jobs import state
from jobs.invoices import render as invoice_render
from jobs.sla import render as sla_render

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.store import Store

CHOICES = {
    "form": dict((v, label) for label, v in sla_render.SNOOZE_CHOICES),
    "invoice": dict((v, label) for label, v in invoice_render.SNOOZE_CHOICES),
}
UNTIL_PHASE = "phase"


def snooze(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    clock: Callable[[], datetime],
) -> None:
    """Snooze the item for the chosen time (every channel), and say so on its cards."""
    ack()
    click = read_click(store.db, body, action)
    if isinstance(click, str):
        tell_unreadable(client, body, click)
        return
    choice = str((action.get("selected_option") or {}).get("value") or "")
    if choice not in CHOICES.get(click.kind, {}):
        tell(client, click, "That isn't a snooze I know; pick one from the menu.")
        return
    now = clock()
    if choice == UNTIL_PHASE:
        until, phase = None, str(click.item.get("phase") or "")
        shown = (
            f"until {sla_render.mrkdwn_escape(phase)} ends" if phase else "until the phase changes"
        )
    else:
        until, phase = now + timedelta(days=int(choice.rstrip("d"))), None
        shown = f"until {day_stamp(until, settings.timezone)}"
    state.snooze(
        store.db, click.job.id, click.key, until=until, phase=phase, slack_user=click.user, now=now
    )
    audit(
        store.db,
        slack_user=click.user,
        action="snooze",
        record_type=click.kind,
        record_id=click.item_id,
        outcome="ok",
        detail={"job": click.job.id, "until": until, "phase": phase},
        now=now,
    )
    line = card_line("snooze", f"Snoozed by <@{click.user}> {shown}", click.user, now)
    if not show_act(store.db, client, click, line, now):
        tell(client, click, f"Snoozed {shown}; it will be listed again after that.")
