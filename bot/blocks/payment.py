"""Record-payment modal (opened from an overdue invoice's card): build, parse, validate, and the
states it shows while and after Coperniq records the payment (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.blocks.common import (
    context,
    flatten_state,
    input_block,
    modal,
    option,
    section,
    slack_text,
    static_select,
    text_input,
)
from bot.coperniq.resources.invoices import PAYMENT_METHOD_LABELS, PAYMENT_METHODS
from bot.ids import Action, Block, Callback
from jobs.blocks import money

TITLE = "Record payment"
REFERENCE_MAX = 100
_CENT = Decimal("0.01")
# What a clerk types: 1200, 1200.5, 1,200.00, $1,200.00 (and a minus sign, refused below).
_AMOUNT = re.compile(r"-?(\d{1,3}(,\d{3})+|\d+)?(\.\d*)?")


def parse_amount(text: str | None) -> Decimal | str:
    """Typed dollars as a Decimal, or a sentence saying what is wrong with them.

    "abc", "0", "-5" and "12.345" are refused; commas between thousands and a leading $ are
    fine. Whether the amount fits the balance is validate_payment's question.
    """
    raw = (text or "").strip().replace(" ", "")
    negative = raw.startswith("-")
    raw = raw.removeprefix("-").removeprefix("$")
    if negative:
        raw = "-" + raw
    if not raw or not _AMOUNT.fullmatch(raw) or not any(c.isdigit() for c in raw):
        return "Enter the amount in dollars, for example 1200.00."
    try:
        amount = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return "Enter the amount in dollars, for example 1200.00."
    if amount <= 0:
        return "The amount must be more than $0.00."
    if amount != amount.quantize(_CENT):
        return "Use at most two decimal places (dollars and cents)."
    return amount.quantize(_CENT)


def build_payment_modal(
    meta: Mapping[str, Any],
    *,
    invoice: Mapping[str, Any],
    balance: Decimal,
    today: date,
    values: Mapping[str, Any] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The form: amount (the balance as the card knows it), method, date (today), reference.

    `invoice` is the card's item view (uid, client, project, days); `values` (a parse_payment
    result) keeps what was typed when the form is shown again.
    """
    v = dict(values or {})
    days = int(invoice.get("days") or 0)
    project = f" · {slack_text(invoice['project'])}" if invoice.get("project") else ""
    head = (
        f"*Invoice #{slack_text(invoice.get('uid') or '', 40)}* · "
        f"{slack_text(invoice.get('client') or '')}{project}\n"
        f"{money(balance)} owed · {days} day{'s' if days != 1 else ''} overdue"
    )
    amount = v["amount"] if "amount" in v else f"{balance:.2f}"
    date_el: dict[str, Any] = {
        "type": "datepicker",
        "action_id": Action.INPUT,
        "initial_date": v.get("date") or today.isoformat(),
    }
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append(section(notice))
    blocks += [
        section(head),
        input_block(
            Block.PAYMENT_AMOUNT,
            "Amount ($)",
            text_input(amount, max_length=20),
            hint=f"Dollars and cents, at most the {money(balance)} owed.",
        ),
        input_block(
            Block.PAYMENT_METHOD,
            "Method",
            static_select(
                [option(PAYMENT_METHOD_LABELS.get(m, m), m) for m in PAYMENT_METHODS],
                initial=v.get("method"),
                placeholder="How was it paid?",
            ),
        ),
        input_block(Block.PAYMENT_DATE, "Paid on", date_el),
        input_block(
            Block.PAYMENT_REFERENCE,
            "Reference",
            text_input(
                v.get("reference"),
                placeholder="Check number, transaction id…",
                max_length=REFERENCE_MAX,
            ),
            optional=True,
        ),
        context("Coperniq keeps the payment with a note that you recorded it from Slack."),
    ]
    return modal(Callback.PAYMENT_MODAL, TITLE, blocks, submit="Record", metadata=meta)


def parse_payment(view: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values as typed: amount (text), method, date (YYYY-MM-DD), reference."""
    s = flatten_state(view)
    return {
        "amount": str(s.get(Block.PAYMENT_AMOUNT) or "").strip(),
        "method": s.get(Block.PAYMENT_METHOD) or None,
        "date": s.get(Block.PAYMENT_DATE) or None,
        "reference": " ".join(str(s.get(Block.PAYMENT_REFERENCE) or "").split()),
    }


def validate_payment(data: Mapping[str, Any], *, balance: Decimal, today: date) -> dict[str, str]:
    """Every problem with the form at once, keyed by input block id.

    `balance` is what the card says is owed: the amount may not be above it. `today` is the
    business day: a payment can't be dated after it.
    """
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"))
    if isinstance(amount, str):
        errors[Block.PAYMENT_AMOUNT] = amount
    elif amount > balance:
        errors[Block.PAYMENT_AMOUNT] = (
            f"That is more than the {money(balance)} owed on this invoice."
        )
    if data.get("method") not in PAYMENT_METHODS:
        errors[Block.PAYMENT_METHOD] = "Choose how it was paid."
    try:
        paid_on = date.fromisoformat(str(data.get("date") or ""))
    except ValueError:
        errors[Block.PAYMENT_DATE] = "Choose the day it was paid."
    else:
        if paid_on > today:
            errors[Block.PAYMENT_DATE] = "The payment date can't be in the future."
    if len(data.get("reference") or "") > REFERENCE_MAX:
        errors[Block.PAYMENT_REFERENCE] = f"Keep the reference to {REFERENCE_MAX} characters."
    return errors


def payment_saving_modal(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What the modal shows while Coperniq records the payment."""
    return modal(
        Callback.PAYMENT_MODAL,
        TITLE,
        [
            section(":hourglass_flowing_sand: Recording the payment in Coperniq…"),
            context("You can close this window; the invoice's card shows the payment when done."),
        ],
        metadata=meta,
        close="Close",
    )


def payment_done_modal(text: str) -> dict[str, Any]:
    """The modal's last state: one line saying what happened."""
    return modal(Callback.PAYMENT_MODAL, TITLE, [section(text)], close="Close")
