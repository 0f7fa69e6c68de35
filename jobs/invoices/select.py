"""Which invoices are overdue, by how much and for how long (pure: invoices and `now` in)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jobs.times import local_today, parse_instant

log = logging.getLogger(__name__)

OPEN_STATUSES = frozenset({"SENT", "PARTIALLY_PAID", "OVERDUE"})
# (key, label, lowest day, highest day); 90+ means 91 days and more.
BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("1-30", "1–30 days", 1, 30),
    ("31-60", "31–60 days", 31, 60),
    ("61-90", "61–90 days", 61, 90),
    ("90+", "90+ days", 91, None),
)
BUCKET_RANK = {key: i for i, (key, *_rest) in enumerate(BUCKETS)}
BUCKET_LABEL = {key: label for key, label, *_rest in BUCKETS}


@dataclass(frozen=True)
class OverdueInvoice:
    """One overdue invoice, as the digest shows it."""

    id: int
    uid: str
    client: str
    project: str
    record_id: int | None
    account_id: int | None
    balance: float
    due: date
    days: int
    bucket: str

    @property
    def key(self) -> str:
        return f"invoice:{self.id}"


def due_date(value: str | None, tz: ZoneInfo) -> date | None:
    """The calendar day an invoice is due, read in the business time zone."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    # The spec types dueDate as a date-time. A date stored as midnight UTC (or the noon-UTC
    # convention) names that UTC day, though it is the evening before in the Americas. Any other
    # instant is read on the local clock: midnight local, a time of day, or 23:59:59 local (end of
    # the day); exactly 23:00 local is a local midnight off by a DST hour (the sandbox's 05:00Z in
    # winter) and names the next day.
    instant = parse_instant(value)
    utc = instant.astimezone(UTC)
    if utc.time() in (time(0), time(12)):
        return utc.date()
    local = instant.astimezone(tz)
    if local.time() == time(23):
        return local.date() + timedelta(days=1)
    return local.date()


def bucket_for(days: int) -> str:
    """The aging bucket key for a number of days overdue (>= 1)."""
    for key, _label, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return key
    raise ValueError(f"not overdue: {days} days")


def balance_of(inv: dict[str, Any]) -> float:
    """What is still owed: amount - amountPaid, rounded to cents."""
    return round(float(inv.get("amount") or 0) - float(inv.get("amountPaid") or 0), 2)


def _overdue(inv: dict[str, Any], today: date, tz: ZoneInfo) -> OverdueInvoice | None:
    if inv.get("status") not in OPEN_STATUSES or inv.get("isArchived"):
        return None
    due = due_date(inv.get("dueDate"), tz)
    if due is None or due >= today:
        return None
    balance = balance_of(inv)
    if balance <= 0:
        return None
    days = (today - due).days
    account = inv.get("account") or {}
    record = inv.get("record") or {}
    project = " ".join(
        p
        for p in (f"#{record['uid']}" if record.get("uid") else "", record.get("title") or "")
        if p
    )
    return OverdueInvoice(
        id=int(inv["id"]),
        uid=str(inv.get("uid") or inv["id"]),
        client=account.get("title") or record.get("title") or "(no client)",
        project=project,
        record_id=record.get("id"),
        account_id=account.get("id"),
        balance=balance,
        due=due,
        days=days,
        bucket=bucket_for(days),
    )


def select(invoices: Iterable[dict[str, Any]], now: datetime, tz: ZoneInfo) -> list[OverdueInvoice]:
    """The overdue invoices at `now`, largest balance first."""
    today = local_today(now, tz)
    out: list[OverdueInvoice] = []
    for inv in invoices:
        try:
            hit = _overdue(inv, today, tz)
        except (KeyError, TypeError, ValueError, AttributeError):
            # One malformed invoice must not hide the others.
            log.exception("skipping invoice %r: unexpected shape", inv.get("id"))
            continue
        if hit is not None:
            out.append(hit)
    out.sort(key=lambda i: (-i.balance, -i.days, i.id))
    return out


def aging(overdue: Iterable[OverdueInvoice]) -> list[dict[str, Any]]:
    """Count and sum per aging bucket, every bucket present."""
    sums = {key: [0, 0.0] for key in BUCKET_RANK}
    for inv in overdue:
        sums[inv.bucket][0] += 1
        sums[inv.bucket][1] += inv.balance
    return [
        {"bucket": key, "label": BUCKET_LABEL[key], "count": c, "sum": round(s, 2)}
        for key, (c, s) in sums.items()
    ]
