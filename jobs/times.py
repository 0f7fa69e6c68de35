"""Time helpers the jobs share: reading Coperniq's instants and the business day of `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def parse_instant(value: str) -> datetime:
    """Parse an API (or store) timestamp; a naive one is taken as UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `now` in the business time zone."""
    return now.astimezone(tz).date()
