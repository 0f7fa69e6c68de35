"""Record a payment on an invoice: checked against Coperniq's balance, then written exactly once.

Two submissions of one payment (a double click, Slack resending the submission, two clerks
recording the same check) make one POST: the fingerprint is the invoice, amount, method, day and
reference, whoever sends it. The same details again after REPEAT_AFTER are a new payment, so a
second identical payment is still possible later (a reference tells two apart at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import submissions
from bot.coperniq.errors import CoperniqError
from bot.people import Author, attribution
from jobs.invoices.select import balance_of
from jobs.times import parse_instant

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.coperniq import CoperniqClient

ACTION = "record_payment"
# Long enough to cover a double click, Slack's retries and a second clerk acting on the same
# card; short enough that a genuinely repeated identical payment can be recorded soon after.
REPEAT_AFTER = timedelta(minutes=10)
# After an unknown outcome, an earlier try's payment was created after its claim began; this
# much leeway covers clocks that differ between Coperniq and the bot.
CLOCK_LEEWAY = timedelta(minutes=2)
# A day-only payment is sent at noon in the business zone: the same calendar day wherever
# within twelve hours of it the payment is read.
PAID_AT = time(12)


@dataclass(frozen=True)
class Entry:
    """A payment as the clerk entered it (validated: amount > 0 with at most two decimals)."""

    invoice_id: int
    amount: Decimal
    method: str
    paid_on: date
    reference: str = ""


@dataclass(frozen=True)
class Recorded:
    """How recording ended: the write, and what is owed on the invoice.

    `owed` is the balance after the payment when it was written (or found), Coperniq's balance
    when the payment was refused for being above it (`above_balance`), else None (not known).
    """

    written: submissions.Written
    owed: Decimal | None = None
    above_balance: bool = False


def owed(invoice: dict[str, Any]) -> Decimal:
    """What is still owed on a Coperniq invoice, in dollars and cents."""
    return Decimal(str(balance_of(invoice))).quantize(Decimal("0.01"))


def paid_at(paid_on: date, tz: ZoneInfo, now: datetime) -> datetime:
    """The instant sent as paymentDate: noon of the day in the business zone, never after now."""
    return min(datetime.combine(paid_on, PAID_AT, tzinfo=tz), now)


def _reference_key(text: str | None) -> str:
    return " ".join(str(text or "").split()).casefold()


def fingerprint_details(entry: Entry) -> dict[str, Any]:
    """What makes two submissions the same payment (never who sent it, nor the note)."""
    return {
        "invoice": entry.invoice_id,
        "amount": f"{entry.amount:.2f}",
        "method": entry.method,
        "date": entry.paid_on.isoformat(),
        "reference": _reference_key(entry.reference),
    }


def find_recorded(
    coperniq: CoperniqClient, entry: Entry, tz: ZoneInfo, since: datetime
) -> dict[str, Any] | None:
    """The payment an earlier try whose answer was lost made, if the invoice has it.

    Same amount, method, day (in the business zone) and reference, created since `since`; a
    listing that fails raises, so the outcome stays unknown rather than paying twice.
    """
    cents = f"{entry.amount:.2f}"
    for payment in coperniq.invoices.payments(entry.invoice_id):
        try:
            same = (
                f"{Decimal(str(payment.get('amount'))):.2f}" == cents
                and payment.get("paymentMethod") == entry.method
                and _reference_key(payment.get("paymentReference"))
                == _reference_key(entry.reference)
                and bool(payment.get("paymentDate"))
                and parse_instant(payment["paymentDate"]).astimezone(tz).date() == entry.paid_on
            )
            created = payment.get("createdAt")
            recent = not created or parse_instant(created) >= since - CLOCK_LEEWAY
        except (ArithmeticError, TypeError, ValueError):
            continue
        if same and recent:
            return payment
    return None


def record_payment(
    db: Database,
    coperniq: CoperniqClient,
    *,
    user: str,
    author: Author,
    entry: Entry,
    tz: ZoneInfo,
    now: datetime,
    hold: Callable[[], str | None] | None = None,
    on_claim: Callable[[submissions.Claim], None] | None = None,
) -> Recorded:
    """Record `entry` once, signed by `author`, after checking it fits Coperniq's balance now.

    `hold` is asked right before Coperniq is read for a new write: a sentence (another payment
    on this invoice is being recorded) stops it, so two payments never check the same balance.
    """
    facts: dict[str, Any] = {}

    def create(claim: submissions.Claim) -> dict[str, Any]:
        if hold is not None and (why := hold()):
            raise submissions.NotWritten(why)
        left = owed(coperniq.invoices.get(entry.invoice_id))
        facts["owed"] = left
        if entry.amount > left:
            facts["above"] = True
            raise submissions.NotWritten(f"the invoice has {left:.2f} owed in Coperniq now")
        payment = coperniq.invoices.record_payment(
            entry.invoice_id,
            amount=entry.amount,
            method=entry.method,
            paid_at=paid_at(entry.paid_on, tz, now),
            notes=f"Recorded {attribution(author)}",
            reference=entry.reference or None,
        )
        facts["owed"] = left - entry.amount
        return payment

    def lookup(claim: submissions.Claim) -> dict[str, Any] | None:
        found = find_recorded(coperniq, entry, tz, claim.first_at)
        if found is not None:
            try:
                facts["owed"] = owed(coperniq.invoices.get(entry.invoice_id))
            except CoperniqError:
                facts.pop("owed", None)  # written for sure; the balance is just not known
        return found

    def saved_as(payment: dict[str, Any]) -> submissions.Saved:
        left = facts.get("owed")
        detail = {
            "invoice_id": entry.invoice_id,
            "amount": f"{entry.amount:.2f}",
            "owed": None if left is None else f"{left:.2f}",
        }
        return submissions.Saved(
            "payment",
            payment.get("id"),
            detail=detail,
            audit_type="invoice",
            audit_id=entry.invoice_id,
            audit_detail={
                **detail,
                "payment_id": payment.get("id"),
                "method": entry.method,
                "date": entry.paid_on.isoformat(),
            },
            coperniq_user=author.coperniq_id,
        )

    write = submissions.Write(
        slack_user=user,
        action=ACTION,
        details=fingerprint_details(entry),
        what="Recording a payment",
        lookup=lookup,
        create=create,
        saved_as=saved_as,
        repeat_after=REPEAT_AFTER,
        fingerprint_user="",  # the same payment whoever records it
        coperniq_user=author.coperniq_id,
    )
    written = submissions.write_once(db, write, on_claim=on_claim, now=now)
    left = facts.get("owed")
    if written.outcome is submissions.Outcome.ALREADY and written.record:
        stored = written.record.get("owed")
        left = Decimal(stored) if stored is not None else None
    elif not written.outcome.written and not facts.get("above"):
        left = None
    return Recorded(written, left, bool(facts.get("above")))
