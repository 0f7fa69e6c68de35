"""Timestamps the way the API writes them: UTC ISO-8601 with milliseconds and a `Z`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def iso(dt: datetime) -> str:
    """UTC ISO text with milliseconds, e.g. 2026-01-15T14:05:00.000Z (sorts as text)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC datetime on a given day."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (date or date-time, `Z` allowed); naive values are taken as UTC."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    if len(t) == 10:
        return datetime.combine(date.fromisoformat(t), time(0), tzinfo=UTC)
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
