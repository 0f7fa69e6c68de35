"""TASK_STATUS_MOVEMENT / TASK_COMPLETED: update the stored work order, then its cards.

The delivery's `workOrder` (id, title, status word, assigneeId, start/end dates, updatedAt) is
merged into the stored row, which already holds what the payload lacks (the project and its
address): no Coperniq call. Only a work order the store has never seen, or a delivery without a
`workOrder`, costs one `GET /work-orders/{id}` (background budget). A reading older than the
stored one (a late retry) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.workorder_card import status_id
from jobs.slackpost import SlackPoster
from jobs.workorders import cards
from jobs.workorders.sweep import row_of, save

if TYPE_CHECKING:
    from bot.deps import Deps


@dataclass(frozen=True)
class Outcome:
    text: str
    calls: int  # Coperniq calls made


def _merged(raw: dict[str, Any], wo: Mapping[str, Any], event: Mapping[str, Any]) -> dict:
    out = dict(raw)
    for key in ("title", "startDate", "endDate", "updatedAt", "priority", "uid"):
        if wo.get(key) is not None:
            out[key] = wo[key]
    sid = status_id(wo.get("status")) or status_id(event.get("currentStatus"))
    if sid:
        old = out.get("status") if isinstance(out.get("status"), Mapping) else {}
        label = old.get("label") if status_id(old) == sid else None
        out["status"] = {"id": sid, "label": label}
    if "completionDate" in wo:
        out["completedAt"] = wo.get("completionDate")
        out["isCompleted"] = sid == "COMPLETED"
    if isinstance(wo.get("assigneeId"), int):
        assignee = out.get("assignee") if isinstance(out.get("assignee"), Mapping) else {}
        if assignee.get("id") != wo["assigneeId"]:
            out["assignee"] = {"id": wo["assigneeId"]}
    return out


def on_task(deps: Deps, work_order_id: int, body: Mapping[str, Any], now: datetime) -> Outcome:
    """Store what the delivery says and update every card of the work order."""
    db = deps.store.db
    event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
    wo = body.get("workOrder") if isinstance(body.get("workOrder"), Mapping) else None
    row = db.execute(
        "select raw, parent_type, parent_id from work_orders where id = ?", [work_order_id]
    ).fetchone()
    calls = 0
    if row is not None and wo is not None:
        merged = _merged(json.loads(row[0] or "{}"), wo, event)
        merged["id"] = work_order_id
        parent = (row[1], row[2]) if row[1] and row[2] is not None else None
        changed = save(db, [row_of(merged, now, parent)])
    else:
        fresh = deps.coperniq.background.work_orders.get(work_order_id)
        calls = 1
        changed = save(db, [row_of(fresh, now)])
    updated = 0
    if changed and deps.slack is not None:
        poster = SlackPoster(deps.slack, min_interval=0)
        updated = cards.refresh(db, deps.settings, poster, work_order_id, now)
    what = "changed" if changed else "unchanged (an older or equal reading)"
    return Outcome(
        f"work order {work_order_id}: {what}, {updated} card(s) updated, {calls} Coperniq call(s)",
        calls,
    )
