"""What each Coperniq trigger does: the status a delivery is stored with, and its processing.

PROJECT_PHASE_SLA_VIOLATION              -> jobs.sla.event.on_violation (alerts now)
PROJECT_PHASE_STARTED / _COMPLETED       -> jobs.sla.event.on_phase_change (resolves)
TASK_STATUS_MOVEMENT / TASK_COMPLETED    -> jobs.workorders.live.on_task (the stored work order
                                            and its technicians' cards, updated in place)
the other triggers Coperniq documents    -> stored `ignored`
anything else                            -> stored `ignored`, logged
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.coperniq.errors import (
    BudgetExceeded,
    ConnectionFailed,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
)
from bot.webhooks.events import DONE, FAILED, IGNORED, KEPT, RECEIVED, Delivery, StoredEvent

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

SLA_VIOLATION = "PROJECT_PHASE_SLA_VIOLATION"
PHASE_STARTED = "PROJECT_PHASE_STARTED"
PHASE_COMPLETED = "PROJECT_PHASE_COMPLETED"
TASK_TRIGGERS = frozenset({"TASK_STATUS_MOVEMENT", "TASK_COMPLETED"})
PROCESSED = frozenset({SLA_VIOLATION, PHASE_STARTED, PHASE_COMPLETED})
KEPT_TRIGGERS: frozenset[str] = frozenset()  # none since the work-order cards (issue 12)
# Every triggerKey ../shared/COPERNIQ_NOTES.md lists ("Webhooks").
KNOWN_TRIGGERS = (
    PROCESSED
    | TASK_TRIGGERS
    | KEPT_TRIGGERS
    | frozenset(
        {
            "TASK_CREATED",
            "PROJECT_CREATED",
            "REQUEST_CREATED",
            "PROJECT_STATUS_MOVEMENT",
            "DEAL_STATUS_MOVEMENT",
            "PROJECT_PROPERTY_UPDATED",
            "DEAL_PROPERTY_UPDATED",
            "CALL_UPSERTED",
            "REQUEST_PHASE_STARTED",
            "REQUEST_PHASE_COMPLETED",
            "DEAL_PHASE_SLA_VIOLATION",
            "APPOINTMENT_CREATED",
            "APPOINTMENT_RESCHEDULED",
        }
    )
)
# Coperniq busy or unreachable after the client's own retries: the event is tried again later,
# this many times in all, then left `failed` (the polled runs still see what it was about).
TRANSIENT = (ServerError, Timeout, ConnectionFailed, RateLimited)
MAX_TRANSIENT_ATTEMPTS = 5


def initial_status(delivery: Delivery) -> tuple[str, str | None]:
    """The status a delivery is stored with and, when it needs no processing, why."""
    trigger = delivery.trigger_key
    if trigger in TASK_TRIGGERS:
        if delivery.work_order_id is None:
            return IGNORED, f"{trigger} without a workOrderId"
        return RECEIVED, None
    if trigger in PROCESSED:
        if delivery.record_id is None:
            return IGNORED, f"{trigger} without a recordId"
        return RECEIVED, None
    if trigger in KEPT_TRIGGERS:
        return KEPT, "kept for the work-order cards"
    if trigger in KNOWN_TRIGGERS:
        return IGNORED, f"the bot does not act on {trigger}"
    return IGNORED, "unknown triggerKey"


class Retry(Exception):
    """Leave the event `received` and try it again later; `forever`: never give up on it."""

    def __init__(self, reason: str, *, forever: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.forever = forever


@dataclass(frozen=True)
class Processed:
    status: str  # done | failed
    outcome: str


def process(
    deps: Deps, event: StoredEvent, now: datetime, *, stop: threading.Event | None = None
) -> Processed:
    """Process one claimed event; Retry when it must wait (job busy elsewhere, Coperniq down)."""
    from jobs.sla import event as sla_event

    trigger, pid = event.trigger_key, event.record_id
    if trigger in TASK_TRIGGERS and event.work_order_id is not None:
        return _task(deps, event, now)
    if trigger not in PROCESSED or pid is None:
        return Processed(DONE, "nothing to do")
    try:
        if trigger == SLA_VIOLATION:
            did = sla_event.on_violation(deps, pid, event.event, now, stop=stop)
        else:
            record = event.body.get("record")
            did = sla_event.on_phase_change(
                deps,
                pid,
                event.event,
                record if isinstance(record, dict) else {},
                now,
                started=trigger == PHASE_STARTED,
                stop=stop,
            )
    except BudgetExceeded:
        # The background share of the day is spent: the polled runs report it and catch up.
        return Processed(DONE, f"project {pid}: no Coperniq budget left for background work")
    except NotFound:
        return Processed(FAILED, f"project {pid}: not found in Coperniq")
    except TRANSIENT as exc:
        why = f"Coperniq answered HTTP {exc.status}" if exc.status else "Coperniq did not answer"
        raise Retry(f"project {pid}: {why}") from None
    if did.busy:
        raise Retry(did.text, forever=True)
    return Processed(DONE, did.text)


def _task(deps: Deps, event: StoredEvent, now: datetime) -> Processed:
    """A work order's status moved in Coperniq: its row and every card of it, updated."""
    from jobs.workorders import live

    wo_id = event.work_order_id
    assert wo_id is not None  # noqa: S101 - checked by the caller
    try:
        done = live.on_task(deps, wo_id, event.body, now)
    except BudgetExceeded:
        return Processed(DONE, f"work order {wo_id}: no Coperniq budget left; the sweep catches up")
    except NotFound:
        return Processed(FAILED, f"work order {wo_id}: not found in Coperniq")
    except TRANSIENT as exc:
        why = f"Coperniq answered HTTP {exc.status}" if exc.status else "Coperniq did not answer"
        raise Retry(f"work order {wo_id}: {why}") from None
    return Processed(DONE, done.text)
