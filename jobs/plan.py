"""The re-alert rule, in one place: which items a digest announces, leaves or resolves (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobs.state import AlertRow
from jobs.times import parse_instant

# Scheduled runs start a moment after the hour; without slack a daily reminder would slip an hour.
REALERT_SLACK = timedelta(minutes=10)


@dataclass
class Plan:
    """What a run should do with each item: announce, leave, resolve."""

    announce: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    resolve: list[str] = field(default_factory=list)


def escalates(level: str, row: AlertRow, rank: Mapping[str, int]) -> bool:
    """Is `level` above the level the open alert announced (yellow -> red, an older bucket)?"""
    return rank.get(level, 0) > rank.get(row.level, 0)


def reminder_due(row: AlertRow, now: datetime, realert: timedelta | None) -> bool:
    """Has the re-alert interval passed since the item was last announced?"""
    return (
        realert is not None
        and row.last_alerted_at is not None
        and now - parse_instant(row.last_alerted_at) >= realert - REALERT_SLACK
    )


def plan_alerts(
    current: Mapping[str, str],
    rows: Mapping[str, AlertRow],
    now: datetime,
    *,
    realert: timedelta | None,
    rank: Mapping[str, int],
    can_resolve: Callable[[AlertRow], bool] = lambda row: True,
) -> Plan:
    """Decide per item (key -> level now): announce it, leave it, or resolve its open alert."""
    plan = Plan()
    for key, level in current.items():
        row = rows.get(key)
        if row is None or not row.open or row.message_ts is None:
            plan.announce.append(key)
        elif escalates(level, row, rank) or reminder_due(row, now, realert):
            plan.announce.append(key)
        else:
            plan.unchanged.append(key)
    for key, row in rows.items():
        if key not in current and row.open and row.message_ts is not None and can_resolve(row):
            plan.resolve.append(key)
    return plan
