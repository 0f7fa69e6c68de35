"""Coperniq deliveries as stored: parsed from a body, kept in `webhook_events`, claimed, finished.

A delivery is one row keyed by its `event.eventId` (Coperniq retries and sometimes sends twice:
the second finds the row). Its status moves received -> processing -> done | failed; deliveries
that need no processing are stored straight as `ignored` (`kept` is no longer given: work
orders are processed since issue 12). A row left `received`, or `processing` for longer
than STALE_PROCESSING (its process died), is processed again by the next worker that looks
(bot.webhooks.worker).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.store import iso
from jobs.times import parse_instant

if TYPE_CHECKING:
    from sqlite_utils import Database

log = logging.getLogger(__name__)

RECEIVED, PROCESSING, DONE, KEPT, IGNORED, FAILED = (
    "received",
    "processing",
    "done",
    "kept",
    "ignored",
    "failed",
)
# Longer than any event's processing (one project read, one forms list, a few Slack posts), so a
# live worker's row is never taken from it; short enough that a crash is mended within minutes.
STALE_PROCESSING = timedelta(minutes=5)


class BadDelivery(ValueError):
    """A body that is not a Coperniq delivery (answered 400); the message is safe to log."""


@dataclass(frozen=True)
class Delivery:
    """One delivery as the receiver parsed it."""

    event_id: str
    trigger_key: str
    record_id: int | None
    work_order_id: int | None
    fired_at: str | None  # UTC ISO text, or None when absent or unreadable
    body: dict[str, Any]

    @property
    def event(self) -> dict[str, Any]:
        return dict(self.body.get("event") or {})


def _int(value: Any) -> int | None:
    """An id as an int; Coperniq sends numbers, a digit string is read too; anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _instant(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return iso(parse_instant(value.strip()))
    except ValueError:
        return None


def parse(raw: bytes) -> Delivery:
    """A delivery from a request body; BadDelivery (with a loggable reason) when it is not one."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadDelivery("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadDelivery("body is not a JSON object")
    event = body.get("event")
    if not isinstance(event, dict):
        raise BadDelivery("body has no `event` object")
    event_id = event.get("eventId")
    if isinstance(event_id, bool) or not isinstance(event_id, int | str) or not str(event_id):
        raise BadDelivery("event has no eventId")
    if len(str(event_id)) > 100:
        raise BadDelivery("eventId is too long")
    trigger = event.get("triggerKey")
    work_order = body.get("workOrder") if isinstance(body.get("workOrder"), dict) else {}
    return Delivery(
        event_id=str(event_id).strip(),
        trigger_key=trigger.strip()[:100] if isinstance(trigger, str) else "",
        record_id=_int(event.get("recordId")),
        work_order_id=_int(event.get("workOrderId")) or _int(work_order.get("id")),
        fired_at=_instant(event.get("firedAt")),
        body=body,
    )


def store(
    db: Database, delivery: Delivery, status: str, now: datetime, outcome: str | None = None
) -> bool:
    """Store a delivery (first delivery wins); False when its eventId was stored before."""
    cur = db.execute(
        "insert or ignore into webhook_events (event_id, trigger_key, record_id, work_order_id, "
        "fired_at, received_at, body, status, attempts, processed_at, outcome) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [
            delivery.event_id,
            delivery.trigger_key,
            delivery.record_id,
            delivery.work_order_id,
            delivery.fired_at,
            iso(now),
            json.dumps(delivery.body, sort_keys=True),
            status,
            None if status == RECEIVED else iso(now),
            outcome,
        ],
    )
    return bool(cur.rowcount)


@dataclass(frozen=True)
class StoredEvent:
    """A claimed row: what processing needs."""

    event_id: str
    trigger_key: str
    record_id: int | None
    work_order_id: int | None
    fired_at: str | None
    received_at: str
    body: dict[str, Any]
    attempts: int

    @property
    def event(self) -> Mapping[str, Any]:
        event = self.body.get("event")
        return event if isinstance(event, dict) else {}


def claim(
    db: Database, event_id: str, now: datetime, stale_after: timedelta = STALE_PROCESSING
) -> StoredEvent | None:
    """Take a row to process (received, or processing left by a dead process); None otherwise.

    One statement decides, so two workers (two `serve` processes on one file) never both get it.
    """
    cur = db.execute(
        "update webhook_events set status = ?, attempts = attempts + 1, processed_at = ? "
        "where event_id = ? and (status = ? or (status = ? and processed_at < ?))",
        [PROCESSING, iso(now), event_id, RECEIVED, PROCESSING, iso(now - stale_after)],
    )
    if not cur.rowcount:
        return None
    row = db.execute(
        "select event_id, trigger_key, record_id, work_order_id, fired_at, received_at, body, "
        "attempts from webhook_events where event_id = ?",
        [event_id],
    ).fetchone()
    try:
        body = json.loads(row[6] or "{}")
    except ValueError:
        body = {}
    return StoredEvent(*row[:6], body=body if isinstance(body, dict) else {}, attempts=row[7])


def finish(db: Database, event_id: str, status: str, outcome: str, now: datetime) -> None:
    """Record what processing did (done, failed)."""
    db.execute(
        "update webhook_events set status = ?, outcome = ?, processed_at = ? where event_id = ?",
        [status, outcome[:500], iso(now), event_id],
    )


def release(db: Database, event_id: str, outcome: str) -> None:
    """Put a claimed row back to `received` (to be tried again), saying why it waits."""
    db.execute(
        "update webhook_events set status = ?, outcome = ? where event_id = ? and status = ?",
        [RECEIVED, outcome[:500], event_id, PROCESSING],
    )


def unfinished(
    db: Database, now: datetime, stale_after: timedelta = STALE_PROCESSING
) -> list[tuple[str, int]]:
    """Rows a worker should (re)process, oldest first: (event id, attempts so far)."""
    return [
        (str(r[0]), int(r[1] or 0))
        for r in db.execute(
            "select event_id, attempts from webhook_events where status = ? "
            "or (status = ? and processed_at < ?) order by received_at",
            [RECEIVED, PROCESSING, iso(now - stale_after)],
        ).fetchall()
    ]
