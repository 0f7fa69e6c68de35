"""An overdue invoice, from its card: Record payment and Log collection call.

Record payment needs a Coperniq user whose role is in PAYMENT_ROLES: the clicker is identified
(a cached look-up) and refused at once, or the payment modal opens on the trigger (Slack's dies
in 3 s); the modal's submission records it (handlers/views/payment.py). Log collection call opens
the call modal on the invoice's client (else its project) with the reason set to accounting;
anyone may log calls. Both modals carry the card, so the card says what was done when it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.blocks.payment import build_payment_modal
from bot.people import identify, may
from handlers.actions.cards import (
    Click,
    card_line,
    read_click,
    refused,
    show_act,
    stamp,
    tell,
    tell_unreadable,
)
from handlers.views.call import open_call_modal
from handlers.views.common import open_view
from jobs import state
from jobs.blocks import ITEM_BLOCK
from jobs.times import local_today

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient
    from sqlite_utils import Database

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

# Acts on an invoice (alert_acts): one payment being recorded at a time, the latest payment
# recorded (its card line carries onto the invoice's later cards), a collection call.
PAYING, PAID, CALLED = "paying", "paid", "collection_call"
COLLECTION_REASON = "ACCOUNTING"  # the spec's CallCreateReason for a call about money owed


def card_meta(click: Click) -> dict[str, Any]:
    """Where the clicked card is, for a modal's private_metadata (the card is read again later)."""
    return {"c": click.channel, "t": click.ts, "th": click.thread_ts, "k": click.key}


def card_click(db: Database, card: Any, user: str) -> Click | str:
    """The card a modal was opened from, as a click by `user` (or why it can't be found now).

    Read from the stored model exactly as a click is: the metadata names the card and the item,
    nothing else of it is used.
    """
    if not isinstance(card, dict):
        return "That form didn't say which alert it belongs to."
    body = {
        "container": {"channel_id": card.get("c"), "message_ts": card.get("t")},
        "user": {"id": user},
    }
    if card.get("th"):
        body["container"]["thread_ts"] = card["th"]
    return read_click(db, body, {"block_id": ITEM_BLOCK + str(card.get("k") or "")})


def resolved_on_card(db: Database, click: Click) -> bool:
    """Whether the card already shows the item resolved (paid, or no longer overdue)."""
    model = state.load_model(db, click.channel, click.ts) or {}
    return click.key in model.get("resolved", [])


def owed_on_card(db: Database, click: Click) -> Decimal:
    """What is owed as far as the bot knows: after the latest payment recorded from Slack, else
    the balance the card shows."""
    paid = state.get_act(db, click.job.id, click.key, PAID)
    if paid is not None and paid.state == state.DONE_ACT and paid.detail.get("owed") is not None:
        return Decimal(str(paid.detail["owed"]))
    return Decimal(str(click.item.get("balance") or 0)).quantize(Decimal("0.01"))


def _invoice_click(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, store: Store
) -> Click | None:
    ack()
    click = read_click(store.db, body, action)
    if isinstance(click, str):
        tell_unreadable(client, body, click)
        return None
    if click.kind != "invoice":
        tell(client, click, "That button belongs to an invoice alert, and this item isn't one.")
        return None
    return click


def record_payment(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Record payment: refuse without a payment role, else open the payment modal at once."""
    click = _invoice_click(ack, body, action, client, store)
    if click is None:
        return
    now = clock()
    identity = identify(
        store.db,
        coperniq.interactive,
        client,
        click.user,
        now,
        payment_roles=settings.payment_roles,
    )
    if not may(identity.person, "record_payment"):
        tell(client, click, refused(identity, "record payments", settings))
        return
    if resolved_on_card(store.db, click):
        tell(client, click, "This invoice is already marked paid on its card.")
        return
    view = build_payment_modal(
        {**card_meta(click), "u": click.user},
        invoice=click.item,
        balance=owed_on_card(store.db, click),
        today=local_today(now, settings.timezone),
    )
    open_view(client, body["trigger_id"], view, channel=click.channel, user=click.user)


def collection_call(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
) -> None:
    """Log collection call: the call modal on the invoice's client (else project), reason set."""
    click = _invoice_click(ack, body, action, client, store)
    if click is None:
        return
    item = click.item
    if isinstance(item.get("account_id"), int):
        record = f"account:{item['account_id']}"
    elif isinstance(item.get("record_id"), int):
        record = f"project:{item['record_id']}"
    else:
        tell(client, click, "This invoice has no client or project in Coperniq to log a call on.")
        return
    open_call_modal(
        client=client,
        settings=settings,
        coperniq=coperniq,
        trigger_id=body["trigger_id"],
        channel=click.channel,
        user=click.user,
        record=record,
        reason=COLLECTION_REASON,
        card=card_meta(click),
    )


def call_logged(
    db: Database, client: WebClient, card: Any, user: str, now: datetime, settings: Settings
) -> None:
    """After a call modal opened from a card logged its call: say so on the item's cards."""
    click = card_click(db, card, user)
    if isinstance(click, str):
        log.info("A collection call was logged, but its card is gone: %s", click)
        return
    line = card_line(
        CALLED,
        f"Collection call logged by <@{user}> · {stamp(now, settings.timezone)}",
        user,
        now,
    )
    show_act(db, client, click, line, now)
