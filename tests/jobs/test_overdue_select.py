"""Which invoices are overdue, at fixed instants on both sides of each boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobs.invoices import select as oi

CHICAGO = ZoneInfo("America/Chicago")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHICAGO)


def z(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def inv(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "uid": 1001,
        "status": "SENT",
        "dueDate": z(local(2026, 11, 20)),
        "amount": 1000.0,
        "amountPaid": 0.0,
        "account": {"id": 7, "title": "Acme Solar"},
        "record": {"id": 70, "uid": 1234, "title": "Smith Residence - Solar"},
    }
    base.update(kw)
    return base


def test_due_at_local_midnight_is_not_overdue_until_the_next_day_starts() -> None:
    invoices = [inv()]
    assert oi.select(invoices, local(2026, 11, 20, 23, 59), CHICAGO) == []
    [hit] = oi.select(invoices, local(2026, 11, 21, 0, 0), CHICAGO)
    assert (hit.days, hit.bucket, hit.due) == (1, "1-30", date(2026, 11, 20))


def test_a_due_date_of_midnight_utc_means_that_calendar_day() -> None:
    # 2026-11-20T00:00Z is 18:00 on the 19th in Chicago: still due on the 20th.
    invoices = [inv(dueDate="2026-11-20T00:00:00.000Z")]
    assert oi.select(invoices, local(2026, 11, 20, 23, 59), CHICAGO) == []
    assert oi.select(invoices, local(2026, 11, 21, 0, 0), CHICAGO)[0].days == 1


def test_a_sandbox_due_date_at_five_utc_in_winter_keeps_its_day() -> None:
    # 05:00Z is 23:00 the day before in Chicago standard time.
    invoices = [inv(dueDate="2026-12-10T05:00:00.000Z")]
    assert oi.select(invoices, local(2026, 12, 10, 23, 59), CHICAGO) == []
    assert oi.select(invoices, local(2026, 12, 11, 0, 0), CHICAGO)[0].days == 1


def test_a_date_only_due_date_is_taken_as_it_is() -> None:
    invoices = [inv(dueDate="2026-11-20")]
    assert oi.select(invoices, local(2026, 11, 20, 12), CHICAGO) == []
    assert oi.select(invoices, local(2026, 11, 21, 0, 0), CHICAGO)[0].days == 1


def test_the_day_boundary_follows_the_dst_change() -> None:
    # DST ends in Chicago at 02:00 on 2026-11-01; local midnight of Nov 2 is 06:00Z, not 05:00Z.
    invoices = [inv(dueDate=z(local(2026, 11, 1)))]
    just_before = datetime(2026, 11, 2, 5, 59, tzinfo=UTC)  # 23:59 CST on Nov 1
    assert oi.select(invoices, just_before, CHICAGO) == []
    assert oi.select(invoices, datetime(2026, 11, 2, 6, 0, tzinfo=UTC), CHICAGO)[0].days == 1


def test_days_overdue_count_calendar_days_across_a_dst_change() -> None:
    invoices = [inv(dueDate=z(local(2026, 3, 7)))]
    # 2026-03-08 is 23 hours long in Chicago; still one calendar day.
    assert oi.select(invoices, local(2026, 3, 9, 0, 30), CHICAGO)[0].days == 2


def test_the_same_instant_is_a_different_day_in_another_time_zone() -> None:
    invoices = [inv(dueDate="2026-11-20")]
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # 21:00 on the 20th in Chicago
    assert oi.select(invoices, now, CHICAGO) == []
    assert oi.select(invoices, now, ZoneInfo("UTC"))[0].days == 1


@pytest.mark.parametrize("status", ["DRAFT", "DECLINED", "PAID"])
def test_closed_and_draft_statuses_are_never_overdue(status: str) -> None:
    assert oi.select([inv(status=status)], local(2027, 1, 1), CHICAGO) == []


@pytest.mark.parametrize("status", ["SENT", "PARTIALLY_PAID", "OVERDUE"])
def test_open_statuses_past_due_are_overdue(status: str) -> None:
    assert len(oi.select([inv(status=status)], local(2027, 1, 1), CHICAGO)) == 1


def test_zero_balance_is_not_overdue_and_a_cent_is() -> None:
    now = local(2026, 12, 1)
    assert oi.select([inv(amount=500.0, amountPaid=500.0)], now, CHICAGO) == []
    assert oi.select([inv(amount=500.0, amountPaid=600.0)], now, CHICAGO) == []
    [hit] = oi.select([inv(amount=500.0, amountPaid=499.99)], now, CHICAGO)
    assert hit.balance == 0.01


def test_partially_paid_balance_is_amount_minus_paid() -> None:
    [hit] = oi.select(
        [inv(status="PARTIALLY_PAID", amount=1234.5, amountPaid=234.25)],
        local(2026, 12, 1),
        CHICAGO,
    )
    assert hit.balance == 1000.25


def test_missing_due_date_and_archived_invoices_are_skipped() -> None:
    now = local(2026, 12, 1)
    assert oi.select([inv(dueDate=None)], now, CHICAGO) == []
    assert oi.select([inv(isArchived=True)], now, CHICAGO) == []


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_aging_bucket_edges(days: int, bucket: str) -> None:
    due = date(2026, 11, 20)
    now = local(2026, 11, 20) + timedelta(days=days)
    [hit] = oi.select([inv(dueDate=due.isoformat())], now, CHICAGO)
    assert (hit.days, hit.bucket) == (days, bucket)


def test_largest_balance_first_and_aging_sums() -> None:
    invoices = [
        inv(id=1, amount=100.0, dueDate="2026-11-01"),
        inv(id=2, amount=5000.0, dueDate="2026-09-15"),
        inv(id=3, amount=250.5, dueDate="2026-11-25"),
        inv(id=4, amount=999.0, dueDate="2026-12-20"),  # not yet due
    ]
    overdue = oi.select(invoices, local(2026, 12, 1, 9), CHICAGO)
    assert [i.id for i in overdue] == [2, 3, 1]
    buckets = {b["bucket"]: (b["count"], b["sum"]) for b in oi.aging(overdue)}
    assert buckets == {"1-30": (2, 350.5), "31-60": (0, 0.0), "61-90": (1, 5000.0), "90+": (0, 0.0)}


def test_a_malformed_invoice_is_skipped_and_the_others_still_count() -> None:
    broken = inv(id=None, amount="lots")
    assert [i.id for i in oi.select([broken, inv(id=2)], local(2026, 12, 1), CHICAGO)] == [2]


def test_a_due_date_with_an_afternoon_time_keeps_its_local_day() -> None:
    # 20:00Z is 14:00 on the 20th in Chicago: due on the 20th, overdue from the 21st.
    invoices = [inv(dueDate="2026-11-20T20:00:00.000Z")]
    assert oi.select(invoices, local(2026, 11, 20, 23, 59), CHICAGO) == []
    assert oi.select(invoices, local(2026, 11, 21, 0, 0), CHICAGO)[0].days == 1


def test_a_due_date_at_the_end_of_the_local_day_is_that_day() -> None:
    invoices = [inv(dueDate=z(local(2026, 11, 20, 23, 59) + timedelta(seconds=59)))]
    assert oi.select(invoices, local(2026, 11, 21, 0, 0), CHICAGO)[0].due == date(2026, 11, 20)


def test_a_noon_utc_due_date_names_that_day_east_of_utc() -> None:
    sydney = ZoneInfo("Australia/Sydney")  # noon UTC is 23:00 there in summer
    invoices = [inv(dueDate="2026-11-20T12:00:00Z")]
    now = datetime(2026, 11, 21, 0, 30, tzinfo=sydney)
    assert oi.select(invoices, now, sydney)[0].due == date(2026, 11, 20)
