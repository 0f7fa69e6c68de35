"""The record-payment modal's submission: validate, record once, show it on the invoice's cards.

The ack validates against the balance the card knows (no Coperniq call fits Slack's 3 s: the
interactive policy may wait 10 s and retry), then says "recording…"; after it, the clicker's
payment role is checked again, and bot.flows.payment reads the invoice fresh and refuses an
amount above what Coperniq says is owed now before it writes. What the bot could not accept after
the ack comes back in the form, with what was typed and the error under its input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.blocks.common import decode_metadata, errors_for_view, escape, with_inline_errors
from bot.blocks.payment import (
    build_payment_modal,
    parse_amount,
    parse_payment,
    payment_done_modal,
    payment_saving_modal,
    validate_payment,
)
from bot.coperniq.resources.invoices import PAYMENT_METHOD_LABELS
from bot.flows.payment import Entry, Recorded
from bot.flows.payment import record_payment as record_once
from bot.ids import Block
from bot.people import Author, identify, may
from bot.store import audit
from bot.submissions import Outcome
from handlers.actions.cards import Click, card_line, refused, show_act, stamp, tell
from handlers.actions.invoices import PAID, PAYING, card_click, owed_on_card, resolved_on_card
from handlers.views.common import field_errors, update_view, why_unsure
from handlers.views.common import tell as tell_person
from jobs import state
from jobs.blocks import money
from jobs.times import local_today

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.people import Person
    from bot.store import Store

log = logging.getLogger(__name__)

# The API's 400 `field` -> the input block that shows it.
FIELD_BLOCKS = {
    "amount": Block.PAYMENT_AMOUNT,
    "paymentMethod": Block.PAYMENT_METHOD,
    "paymentDate": Block.PAYMENT_DATE,
    "paymentReference": Block.PAYMENT_REFERENCE,
}


def submit(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Validate (inline errors), then record the payment exactly once and update the card."""
    view = body["view"]
    user = body["user"]["id"]
    meta = decode_metadata(view)
    now = clock()
    db = store.db
    click = card_click(db, meta, user)
    if isinstance(click, str):
        ack(response_action="errors", errors=errors_for_view(view, {Block.PAYMENT_AMOUNT: click}))
        return
    if resolved_on_card(db, click):
        paid = "This invoice is already marked paid on its card; nothing was recorded."
        ack(response_action="update", view=payment_done_modal(f":white_check_mark: {paid}"))
        return
    data = parse_payment(view)
    today = local_today(now, settings.timezone)
    balance = owed_on_card(db, click)
    errors = validate_payment(data, balance=balance, today=today)
    if errors:
        ack(response_action="errors", errors=errors_for_view(view, errors))
        return
    ack(response_action="update", view=payment_saving_modal(meta))

    form = _Form(client, view, meta, data, click, balance, today)
    # Asked again now: a role can change while the modal is open.
    identity = identify(
        db, coperniq.interactive, client, user, now, payment_roles=settings.payment_roles
    )
    person = identity.person
    if person is None or not may(person, "record_payment"):
        form.finish(":no_entry: " + refused(identity, "record payments", settings))
        return
    amount = parse_amount(data["amount"])
    assert isinstance(amount, Decimal)  # validated
    entry = Entry(
        invoice_id=click.item_id,
        amount=amount,
        method=data["method"],
        paid_on=date.fromisoformat(data["date"]),
        reference=data["reference"],
    )
    held: list[bool] = []

    def hold() -> str | None:
        act = state.claim_act(
            db, click.job.id, click.key, PAYING, slack_user=user,
            coperniq_user=person.coperniq_id, now=now,
        )  # fmt: skip
        if act is None:
            held.append(True)
            return None
        who = "You are" if act.slack_user == user else f"<@{act.slack_user}> is"
        return f"{who} recording another payment on this invoice right now."

    try:
        recorded = record_once(
            db,
            coperniq.interactive,
            user=user,
            author=Author(user, person.name, person.coperniq_id),
            entry=entry,
            tz=settings.timezone,
            now=now,
            hold=hold,
        )
    finally:
        if held:
            state.release_act(db, click.job.id, click.key, PAYING, user)
    outcome = recorded.written.outcome
    if outcome.written:
        _recorded(db, client, settings, click, entry, recorded, person, now, form)
    elif outcome is Outcome.ALREADY:
        form.finish(
            f":white_check_mark: This payment ({money(entry.amount)}, "
            f"{_method(entry.method)}, {entry.paid_on:%b %-d}) is already recorded in Coperniq. "
            "If it is a second, separate payment, record it again with a reference (such as the "
            "check number) to tell the two apart."
        )
    elif outcome is Outcome.IN_FLIGHT:
        form.finish(
            ":hourglass_flowing_sand: This payment is being recorded right now; its card shows "
            "it when done."
        )
    else:
        _failed(db, click, entry, recorded, person, now, form)


def _method(method: str) -> str:
    return PAYMENT_METHOD_LABELS.get(method, method)


def _recorded(
    db: Any,
    client: WebClient,
    settings: Settings,
    click: Click,
    entry: Entry,
    recorded: Recorded,
    person: Person,
    now: datetime,
    form: _Form,
) -> None:
    """The payment is in Coperniq: the card line, and the item resolved when nothing is owed."""
    left = recorded.owed
    paid_off = left is not None and left <= 0
    text = f"{money(entry.amount)} recorded by <@{click.user}> · {stamp(now, settings.timezone)}"
    if left is None:
        text += " · check Coperniq for what is still owed"
    elif not paid_off:
        text += f" · {money(left)} still owed"
    line = card_line(PAID, text, click.user, now)
    if paid_off:
        for row in state.open_alerts(db, click.job.id):
            if row.item_key == click.key and row.channel:
                state.record_resolved(db, click.job.id, row.channel, click.key, now)
        # Resolved here, its acts and snooze end with it, as when a digest resolves an item.
        state.forget_items(db, click.job.id, [click.key])
    else:
        # Carried onto the invoice's later cards while the balance they show is this one.
        carried = {**line, "while": {"balance": float(left)}} if left is not None else line
        if state.claim_act(
            db, click.job.id, click.key, PAID, slack_user=click.user,
            coperniq_user=person.coperniq_id, now=now, replaces=lambda act: True,
        ) is None:  # fmt: skip
            state.finish_act(
                db, click.job.id, click.key, PAID, now,
                {"card": carried, "owed": None if left is None else f"{left:.2f}",
                 "payment_id": (recorded.written.record or {}).get("id")},
            )  # fmt: skip
    shown = show_act(db, client, click, line, now, resolved=paid_off)
    invoice = f"invoice #{escape(click.item.get('uid') or click.item_id)}"
    done = f":white_check_mark: Recorded {money(entry.amount)} on {invoice}."
    if paid_off:
        done += " It is paid in full."
    elif left is not None:
        done += f" {money(left)} is still owed."
    form.finish(done)
    if not shown:
        tell(client, click, done)


def _failed(
    db: Any,
    click: Click,
    entry: Entry,
    recorded: Recorded,
    person: Person,
    now: datetime,
    form: _Form,
) -> None:
    """Not recorded (or not known to be): the form again with what was typed and why."""
    written = recorded.written
    errors: dict[str, str] = {}
    banner: str
    if recorded.above_balance and recorded.owed is not None and recorded.owed <= 0:
        banner = "Coperniq shows this invoice paid in full already, so nothing was recorded."
    elif recorded.above_balance and recorded.owed is not None:
        errors[Block.PAYMENT_AMOUNT] = (
            f"Coperniq shows {money(recorded.owed)} owed now (a payment was recorded since the "
            "card was posted): enter at most that."
        )
        banner = "The payment was not recorded."
    elif written.outcome is Outcome.UNKNOWN:
        banner = (
            f"{why_unsure(written.error)}, so the payment may or may not be recorded. Press "
            "Record again: I will check Coperniq's payments first and not record it twice."
        )
    else:
        errors = field_errors(written.error, FIELD_BLOCKS)
        banner = "The payment was not recorded. " + (written.why or "")
    audit(
        db,
        slack_user=click.user,
        action="record_payment",
        record_type="invoice",
        record_id=click.item_id,
        outcome=written.outcome.value,
        detail={
            "item": click.key,
            "amount": f"{entry.amount:.2f}",
            "error": type(written.error).__name__ if written.error else written.why,
        },
        now=now,
        coperniq_user=person.coperniq_id,
    )
    form.again(errors, banner, owed=recorded.owed if recorded.above_balance else None)


class _Form:
    """The open modal after the ack: shown again with errors, or closed with a last word."""

    def __init__(
        self,
        client: WebClient,
        view: dict[str, Any],
        meta: dict[str, Any],
        data: dict[str, Any],
        click: Click,
        balance: Decimal,
        today: date,
    ) -> None:
        self.client, self.view, self.meta, self.data = client, view, meta, data
        self.click, self.balance, self.today = click, balance, today

    def finish(self, text: str) -> None:
        if update_view(self.client, self.view["id"], payment_done_modal(text)) is None:
            tell_person(self.client, self.click.channel, self.click.user, text)

    def again(self, errors: dict[str, str], banner: str, *, owed: Decimal | None = None) -> None:
        form = build_payment_modal(
            self.meta,
            invoice=self.click.item,
            balance=self.balance if owed is None else max(owed, Decimal(0)),
            today=self.today,
            values=self.data,
        )
        form["blocks"] = with_inline_errors(form["blocks"], errors, banner=banner)
        if update_view(self.client, self.view["id"], form) is None:
            tell_person(
                self.client,
                self.click.channel,
                self.click.user,
                f":warning: {banner} You entered {escape(self.data['amount'])}.",
            )
