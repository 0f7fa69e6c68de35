"""Quiet hours: when a DM created at `now` may go out (pure: now, zone and hours in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def is_quiet(now: datetime, tz: ZoneInfo, hours: tuple[int, int]) -> bool:
    """Is `now` within the local quiet hours (start, end)? start == end: never quiet."""
    start, end = hours
    hour = now.astimezone(tz).hour
    if start == end:
        return False
    if start < end:  # (1, 5): 01:00 to 05:00 the same night
        return start <= hour < end
    return hour >= start or hour < end  # (19, 7): wraps past midnight


def quiet_until(now: datetime, tz: ZoneInfo, hours: tuple[int, int]) -> datetime | None:
    """The end of the quiet hours `now` is in (UTC), or None when it is not quiet now."""
    if not is_quiet(now, tz, hours):
        return None
    local = now.astimezone(tz)
    day = local.date()
    if local.hour >= hours[1]:
        day += timedelta(days=1)  # evening part of a wrapping range: it ends tomorrow morning
    # Built from the local calendar day and hour, not now + n hours, so the end stays at the
    # configured local hour on the days the clocks change. An hour the spring change skips
    # (02:00 in America/Chicago) comes out as the same instant an hour later on the wall clock.
    end = datetime(day.year, day.month, day.day, hours[1], tzinfo=tz)
    return end.astimezone(UTC)


def deliver_at(now: datetime, tz: ZoneInfo, hours: tuple[int, int]) -> datetime:
    """When a DM created at `now` may be sent: now, or the end of the quiet hours."""
    return quiet_until(now, tz, hours) or now.astimezone(UTC)
