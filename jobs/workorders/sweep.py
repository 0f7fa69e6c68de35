"""The one shared work-order sweep: `GET /work-orders?updated_after=<watermark - overlap>`.

A first run (no watermark) lists every work order once; later runs list only what changed since
the newest `updatedAt` seen, less SYNC_OVERLAP (clocks and commits race). Pages of 100. Every call
goes through the background client, within the background share of the daily budget: when it is
out the sweep stops, keeps what it read and says so; the watermark moves only after a complete
listing. Rows are written from the API's WorkOrder (`row_of`), also by the webhook and the status
buttons, so every path stores the same shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.blocks.workorder_card import status_id
from bot.coperniq.errors import BudgetExceeded, CoperniqError
from bot.store import iso
from jobs import state
from jobs.times import parse_instant

log = logging.getLogger(__name__)

SYNC_OVERLAP = timedelta(minutes=10)
PAGE_SIZE = 100
WATERMARK, LAST_SWEEP_AT = "work_orders.watermark", "work_orders.last_sweep_at"


@dataclass
class SweepOutcome:
    mode: str  # full | changes | none
    changed: list[int] = field(default_factory=list)  # ids whose row changed
    fetched: int = 0
    complete: bool = True
    note: str | None = None


def row_of(wo: Mapping[str, Any], now: datetime, parent: tuple[str, int] | None = None) -> dict:
    """A `work_orders` row from the API's WorkOrder (or a webhook's fuller payload)."""
    project = wo.get("project") if isinstance(wo.get("project"), Mapping) else None
    assignee = wo.get("assignee") if isinstance(wo.get("assignee"), Mapping) else None
    status = wo.get("status")
    project_id = project.get("id") if project else None
    if parent is None and isinstance(project_id, int):
        parent = ("project", project_id)
    return {
        "id": int(wo["id"]),
        "parent_type": parent[0] if parent else None,
        "parent_id": parent[1] if parent else None,
        "project_id": project_id if isinstance(project_id, int) else None,
        "title": wo.get("title"),
        "status": status_id(status),
        "status_label": status.get("label") if isinstance(status, Mapping) else None,
        "assignee_id": assignee.get("id") if assignee else wo.get("assigneeId"),
        "start_date": wo.get("startDate"),
        "end_date": wo.get("endDate"),
        "is_completed": 1 if wo.get("isCompleted") else 0,
        "updated_at": wo.get("updatedAt"),
        "seen_at": iso(now),
        "raw": json.dumps(wo, sort_keys=True, default=str),
    }


def save(db: Database, rows: Iterable[dict[str, Any]]) -> list[int]:
    """Upsert rows, keeping a known parent; the ids whose shown content changed."""
    changed = []
    rows = list(rows)
    if not rows:
        return changed
    with db.conn:
        db.execute("begin immediate")
        for row in rows:
            old = db.execute(
                "select parent_type, parent_id, status, title, start_date, end_date, assignee_id, "
                "updated_at from work_orders where id = ?",
                [row["id"]],
            ).fetchone()
            if old is not None and row["parent_type"] is None:
                row = {**row, "parent_type": old[0], "parent_id": old[1]}
            if old is not None and old[7] and row.get("updated_at"):
                if parse_instant(old[7]) > parse_instant(row["updated_at"]):
                    continue  # an older reading (a late page, a late webhook) never wins
            if old is None or tuple(old[2:7]) != (
                row["status"],
                row["title"],
                row["start_date"],
                row["end_date"],
                row["assignee_id"],
            ):
                changed.append(row["id"])
            db["work_orders"].upsert(row, pk="id")
    return changed


def sweep(
    db: Database,
    background: Any,
    budget: Any,
    now: datetime,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SweepOutcome:
    """Bring `work_orders` up to date with one listing; what changed."""
    started = clock()
    watermark = state.sync_get(db, WATERMARK)
    mode = "full" if watermark is None else "changes"
    if budget.available_for_background() < 1:
        return SweepOutcome(
            "none",
            complete=False,
            note="Work orders were not refreshed: the background Coperniq budget is spent.",
        )
    params: dict[str, Any] = {"page_size": PAGE_SIZE}
    if watermark is not None:
        params["updated_after"] = parse_instant(watermark) - SYNC_OVERLAP
    outcome = SweepOutcome(mode)
    newest = parse_instant(watermark) if watermark else None
    batch: list[dict[str, Any]] = []
    try:
        for wo in background.work_orders.list(**params):
            batch.append(row_of(wo, now))
            outcome.fetched += 1
            if wo.get("updatedAt"):
                ts = parse_instant(wo["updatedAt"])
                newest = ts if newest is None or ts > newest else newest
            if len(batch) >= PAGE_SIZE:
                outcome.changed += save(db, batch)
                batch = []
    except BudgetExceeded:
        outcome.complete = False
        outcome.note = "The work-order sweep stopped: the background Coperniq budget ran out."
    except CoperniqError as exc:
        log.warning("work-order %s sweep failed after %d: %s", mode, outcome.fetched, exc)
        outcome.complete = False
        outcome.note = "Work orders could not be refreshed from Coperniq; tried again later."
    outcome.changed += save(db, batch)
    if outcome.complete:
        if newest is not None:
            state.sync_set(db, WATERMARK, iso(min(newest, started)), now)
        state.sync_set(db, LAST_SWEEP_AT, iso(min(now, started)), now)
    return outcome
