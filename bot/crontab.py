"""Standard five-field crontabs as APScheduler triggers.

APScheduler 3's CronTrigger.from_crontab numbers weekdays from Monday = 0 (its issue 286), so
the default `0 8 * * 1-5` would fire Tuesday to Saturday; standard crontab numbering (Sunday = 0
or 7) is translated to day names here. Settings validates with this too: what passes config runs.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(token[:3])
    n = int(token)
    if not 0 <= n <= 7:
        raise ValueError(f"day of week {token!r} is not 0-7")
    return n


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as APScheduler day names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            low, high = _day_number(a), _day_number(b)
        else:
            low = _day_number(span)
            high = 7 if step else low
        if high < low:
            raise ValueError(f"day-of-week range {span!r} runs backwards")
        days.update(d % 7 for d in range(low, high + 1, int(step) if step else 1))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def crontab_trigger(expr: str, timezone: ZoneInfo) -> CronTrigger:
    """A CronTrigger for a standard five-field crontab, in `timezone`.

    APScheduler 3's CronTrigger.from_crontab numbers weekdays from Monday = 0 (its issue 286), so
    the default `0 8 * * 1-5` would fire Tuesday to Saturday; standard crontab numbering (Sunday = 0
    or 7) is translated to day names here instead.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has 5 fields; got {len(fields)}")
    minute, hour, day, month, dow = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_day_of_week(dow),
        timezone=timezone,
    )
