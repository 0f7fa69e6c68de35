"""The invoices a digest is built from: a local copy of Coperniq's, kept up to date cheaply.

One full sync, then `updated_after` syncs from the newest `updatedAt` seen (minus an overlap),
and a full resync every FULL_RESYNC to drop invoices deleted in Coperniq; all within the
background share of the daily request budget. When Coperniq fails or the budget is out, the
digest is built from the local copy and says so.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.coperniq.errors import BudgetExceeded, CoperniqError, NotFound
from bot.store import iso
from jobs import state
from jobs.digest import Run
from jobs.invoices.select import OverdueInvoice, select
from jobs.times import parse_instant

log = logging.getLogger(__name__)

FULL_RESYNC = timedelta(days=7)  # a full listing now and then catches invoices deleted in Coperniq
# Re-read a little before the watermark: clocks and commits race.
SYNC_OVERLAP = timedelta(minutes=10)
PAGE_SIZE = 100
WATERMARK, FULL_SYNC_AT, LAST_SYNC_AT = (
    "invoices.watermark",
    "invoices.full_sync_at",
    "invoices.last_sync_at",
)


def collect(run: Run) -> tuple[list[OverdueInvoice], list[str]]:
    """Sync the local copy, then select: the overdue invoices and notes for the digest."""
    db = run.db
    outcome = sync_invoices(db, run.api, run.deps.coperniq.budget, run.now, stop=run.check_stop)
    notes = [outcome.note] if outcome.note else []
    if outcome.error:
        run.result.failed += 1
    elif not outcome.complete:
        run.result.left_out += 1
    return select(local_invoices(db), run.now, run.settings.timezone), notes


def local_invoices(db: Database) -> list[dict[str, Any]]:
    """The local copy, as the API shaped each invoice."""
    return [json.loads(r[0]) for r in db.execute("select raw from invoices").fetchall()]


@dataclass
class SyncOutcome:
    mode: str  # full | incremental | none
    fetched: int = 0
    complete: bool = True
    note: str | None = None
    error: bool = False  # Coperniq failed (not the budget): the run reports a failure


def sync_invoices(
    db: Database,
    background: Any,
    budget: Any,
    now: datetime,
    *,
    full_resync: timedelta = FULL_RESYNC,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    stop: Callable[[], None] = lambda: None,
) -> SyncOutcome:
    """Bring the local copy up to date within the background budget; say what could not be done.

    `stop` is called after each saved page and raises to end the sync (SIGTERM).
    """
    # Real time, not the run's `now` (which --now may fix): it bounds the next watermark.
    started = clock()
    # Bookkeeping never runs ahead of real time: a `--now` next month (even a dry run) must not
    # put off the real runs' weekly full resync until then.
    stamp = min(now, started)
    watermark = state.sync_get(db, WATERMARK)
    last_full = state.sync_get(db, FULL_SYNC_AT)
    local_count = db["invoices"].count
    available = budget.available_for_background()
    full_pages = max(1, math.ceil((local_count + 1) / PAGE_SIZE))
    want_full = (
        watermark is None or last_full is None or (now - parse_instant(last_full) >= full_resync)
    )
    if want_full and available >= full_pages:
        mode = "full"
    elif watermark is not None and available >= 1:
        mode = "incremental"
    else:
        since = state.sync_get(db, LAST_SYNC_AT)
        return SyncOutcome(
            "none",
            complete=False,
            note=(
                f"Invoices were not refreshed from Coperniq: the background share of the daily "
                f"request budget has {available} request(s) left"
                + (f"; figures are as of {since}." if since else " and there is no local copy yet.")
            ),
        )
    filters: dict[str, Any] = {"page_size": PAGE_SIZE}
    if mode == "incremental":
        filters["updated_after"] = parse_instant(watermark) - SYNC_OVERLAP  # type: ignore[arg-type]
    seen: set[int] = set()
    newest = parse_instant(watermark) if watermark else None
    outcome = SyncOutcome(mode)
    batch: list[dict[str, Any]] = []
    try:
        for inv in background.invoices.list(**filters):
            row = _row(inv, now)
            batch.append(row)
            seen.add(row["id"])
            if inv.get("updatedAt"):
                ts = parse_instant(inv["updatedAt"])
                newest = ts if newest is None or ts > newest else newest
            if len(batch) >= PAGE_SIZE:
                _save(db, batch)
                batch = []
                stop()
    except BudgetExceeded:
        outcome.complete = False
        outcome.note = (
            f"The invoice {mode} sync stopped after {len(seen)} invoice(s): the background "
            f"share of the daily Coperniq request budget ran out; the rest is read next run."
        )
    except CoperniqError as exc:
        # Coperniq down or refusing: the digest still goes out from the local copy, saying so,
        # rather than the billing clerk getting nothing until tomorrow's run.
        log.warning("invoice %s sync failed after %d invoice(s): %s", mode, len(seen), exc)
        since = state.sync_get(db, LAST_SYNC_AT)
        outcome.complete, outcome.error = False, True
        why = f"it answered HTTP {exc.status}" if exc.status else "it did not answer"
        outcome.note = f"Invoices could not be refreshed from Coperniq ({why}); " + (
            f"figures are as of {since}; tried again next run."
            if since
            else "there is no local copy yet."
        )
    _save(db, batch)  # what was read is kept, even from a sync cut short
    outcome.fetched = len(seen)
    if outcome.complete:
        if mode == "full":
            _drop_deleted(db, background, seen, now)
            state.sync_set(db, FULL_SYNC_AT, iso(stamp), now)
        if newest is not None:
            # An invoice updated during the sync, on a page already read, carries an updatedAt
            # after the sync started but possibly before the newest one seen (a long sync):
            # the next sync starts from the earlier of the two, less SYNC_OVERLAP.
            state.sync_set(db, WATERMARK, iso(min(newest, started)), now)
        state.sync_set(db, LAST_SYNC_AT, iso(stamp), now)
    return outcome


def _row(inv: dict[str, Any], now: datetime) -> dict[str, Any]:
    account = inv.get("account") or {}
    record = inv.get("record") or {}
    return {
        "id": int(inv["id"]),
        "uid": str(inv.get("uid")),
        "status": inv.get("status"),
        "due_date": inv.get("dueDate"),
        "amount": inv.get("amount"),
        "amount_paid": inv.get("amountPaid"),
        "account_id": account.get("id"),
        "account_title": account.get("title"),
        "record_id": record.get("id"),
        "record_uid": None if record.get("uid") is None else str(record.get("uid")),
        "record_title": record.get("title"),
        "updated_at": inv.get("updatedAt"),
        "synced_at": iso(now),
        "raw": json.dumps(inv, sort_keys=True, default=str),
    }


def _save(db: Database, rows: list[dict[str, Any]]) -> None:
    # One transaction per page: a commit per invoice makes a 10,000-invoice sync crawl. IMMEDIATE
    # takes the write lock up front, so a concurrent writer makes us wait, not fail.
    if not rows:
        return
    with db.conn:
        db.execute("begin immediate")
        db["invoices"].upsert_all(rows, pk="id")


def _drop_deleted(db: Database, background: Any, seen: set[int], now: datetime) -> None:
    """Delete the local invoices a complete full listing did not show, once Coperniq says 404."""
    # Offset pages shift when an invoice is deleted or reordered during the listing, so one not
    # listed may still exist: deleting it would mark a still-overdue invoice paid in Slack. Each
    # is asked for by id (deletions are rare, so this costs a few calls); unconfirmed ones stay
    # until the next full resync.
    missing = [
        int(r[0])
        for r in db.execute(
            "select id from invoices where id not in (select value from json_each(?)) order by id",
            [json.dumps(sorted(seen))],
        ).fetchall()
    ]
    gone: list[int] = []
    for n, inv_id in enumerate(missing):
        try:
            inv = background.invoices.get(inv_id)
        except NotFound:
            gone.append(inv_id)
            continue
        except BudgetExceeded:
            log.warning("invoice sync: %d unlisted invoice(s) unchecked (budget)", len(missing) - n)
            break
        except CoperniqError:
            log.warning("invoice sync: could not check unlisted invoice %s", inv_id, exc_info=True)
            continue
        if isinstance(inv, dict) and inv.get("id") is not None:
            _save(db, [_row(inv, now)])
    if gone:
        db.execute(
            "delete from invoices where id in (select value from json_each(?))", [json.dumps(gone)]
        )
