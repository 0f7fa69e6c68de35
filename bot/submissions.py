"""Idempotent writes from Slack: each submission's fingerprint and outcome, kept in `submissions`.

States: pending (a write is in flight), done (the record exists), unknown (the write may have
happened: timeout or dropped connection), failed (definitely not written; may be tried again).
A write made of steps (upload, then attach) keeps each step's result in `progress`, which outlives
failed and unknown tries, so a retry goes on from the step that has not been done.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.coperniq.errors import CoperniqError
from bot.store import iso, utcnow

log = logging.getLogger(__name__)

PENDING, DONE, UNKNOWN, FAILED = "pending", "done", "unknown", "failed"

# A pending row older than this belongs to a process that died mid-write: treat it as unknown.
STALE_PENDING = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    """The answer to `begin`: what the caller must do now."""

    key: str
    # new: write; retry_unknown: look the record up, then write if absent; pending: another is in
    # flight; done: answer the existing record.
    verdict: str
    first_at: datetime
    record_type: str | None = None
    record_id: str | None = None
    record_number: str | None = None
    detail: dict[str, Any] | None = None
    # Steps an earlier try of this submission recorded with note_progress().
    progress: dict[str, Any] | None = None


def fingerprint(slack_user: str, action: str, details: dict[str, Any]) -> str:
    """A stable hash of who, what, and the normalised details."""
    raw = json.dumps(
        [slack_user, action, details], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def _row(db: Database, key: str) -> dict[str, Any] | None:
    rows = list(db.query("select * from submissions where key = ?", [key]))
    return rows[0] if rows else None


def _claim(row: dict[str, Any], verdict: str) -> Claim:
    detail = json.loads(row["detail"]) if row.get("detail") else None
    progress = json.loads(row["progress"]) if row.get("progress") else None
    return Claim(
        key=row["key"],
        verdict=verdict,
        first_at=datetime.fromisoformat(row["created_at"]),
        record_type=row.get("record_type"),
        record_id=row.get("record_id"),
        record_number=row.get("record_number"),
        detail=detail,
        progress=progress,
    )


def begin(
    db: Database,
    key: str,
    *,
    slack_user: str,
    action: str,
    now: datetime | None = None,
    repeat_after: timedelta | None = None,
) -> Claim:
    """Claim the right to write for `key`, atomically (two listener threads may race here).

    `repeat_after`: a done submission older than this is a new one (the same details again).
    """
    now = now or utcnow()
    cur = db.execute(
        "insert or ignore into submissions "
        "(key, slack_user, action, state, created_at, updated_at) values (?, ?, ?, ?, ?, ?)",
        [key, slack_user, action, PENDING, iso(now), iso(now)],
    )
    row = _row(db, key)
    assert row is not None
    if cur.rowcount:
        return _claim(row, "new")
    state = row["state"]
    if state == DONE:
        done_at = datetime.fromisoformat(row["updated_at"])
        if repeat_after is None or done_at > now - repeat_after:
            return _claim(row, "done")
    if state == PENDING and datetime.fromisoformat(row["updated_at"]) > now - STALE_PENDING:
        return _claim(row, "pending")
    # failed, unknown, a stale pending or an old done: take it over only if nobody else just did.
    cur = db.execute(
        "update submissions set state = ?, updated_at = ? "
        "where key = ? and state = ? and updated_at = ?",
        [PENDING, iso(now), key, state, row["updated_at"]],
    )
    if not cur.rowcount:
        return _claim(_row(db, key) or row, "pending")
    if state == DONE:
        # The same details again after the repeat window: a new submission, with no steps made.
        db.execute(
            "update submissions set created_at = ?, progress = null where key = ?", [iso(now), key]
        )
        return _claim(_row(db, key) or row, "new")
    if state == FAILED:
        # A fresh start: this attempt's own time, so an unknown outcome is looked up from now.
        # Steps the failed try made (an upload) are kept: they exist in Coperniq.
        db.execute("update submissions set created_at = ? where key = ?", [iso(now), key])
        return _claim(_row(db, key) or row, "new")
    return _claim(row, "retry_unknown")


def finish(
    db: Database,
    key: str,
    *,
    record_type: str | None,
    record_id: str | int | None,
    record_number: str | int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """The write succeeded (or the record was found): remember which record it made."""
    db.execute(
        "update submissions set state = ?, record_type = ?, record_id = ?, record_number = ?, "
        "detail = ?, updated_at = ? where key = ?",
        [
            DONE,
            record_type,
            None if record_id is None else str(record_id),
            None if record_number is None else str(record_number),
            json.dumps(detail or {}, sort_keys=True, default=str),
            iso(now or utcnow()),
            key,
        ],
    )


def mark(
    db: Database,
    key: str,
    state: str,
    *,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Record a failed (definite) or unknown (maybe written) outcome."""
    if state not in (FAILED, UNKNOWN):
        raise ValueError(f"mark() takes failed or unknown, not {state}")
    db.execute(
        "update submissions set state = ?, detail = ?, updated_at = ? where key = ?",
        [state, json.dumps(detail or {}, sort_keys=True, default=str), iso(now or utcnow()), key],
    )


def note_progress(db: Database, key: str, **steps: Any) -> dict[str, Any]:
    """Merge steps into the submission's progress (a None value forgets that step); the result.

    Called by the try that holds the claim, so nothing else writes the row meanwhile.
    """
    row = _row(db, key)
    if row is None:
        raise KeyError("note_progress() on a submission that was never begun")
    progress = json.loads(row["progress"]) if row.get("progress") else {}
    for name, value in steps.items():
        if value is None:
            progress.pop(name, None)
        else:
            progress[name] = value
    db.execute(
        "update submissions set progress = ? where key = ?",
        [json.dumps(progress, sort_keys=True, default=str) if progress else None, key],
    )
    return progress


def state_of(db: Database, key: str) -> str | None:
    """The stored state of a fingerprint, or None."""
    row = _row(db, key)
    return row["state"] if row else None


def write_once(
    db: Database,
    key: str,
    claim: Claim,
    *,
    lookup: Callable[[], dict[str, Any] | None],
    create: Callable[[], dict[str, Any]],
    on_failure: Callable[[CoperniqError | None], None],
    what: str,
    require_id: bool = True,
) -> tuple[dict[str, Any], str] | None:
    """Create once: after an unknown outcome look the record up first; mark the row on failure.

    Returns (record, outcome) or None after `on_failure` was told (None: not a Coperniq error).
    The caller finishes the submission and audits on success.
    """
    outcome = "created"
    try:
        record = None
        if claim.verdict == "retry_unknown":
            record = lookup()
            outcome = "found_after_unknown_outcome" if record else "created_after_lookup"
        if record is None:
            record = create()
        # `is None`: 0 is an id (a record numbered 0 was taken for a failure and re-created).
        if not isinstance(record, dict) or (require_id and record.get("id") is None):
            raise ValueError(f"Coperniq's answer to {what} is not a record with an id")
    except CoperniqError as exc:
        mark(db, key, UNKNOWN if exc.outcome_unknown else FAILED, detail={"error": repr(exc)})
        log.warning("%s failed: %r", what, exc)
        on_failure(exc)
        return None
    except Exception:
        # An answer we cannot read, or a bug: it may have been written. Keep what was typed.
        log.exception("%s failed unexpectedly", what)
        mark(db, key, UNKNOWN)
        on_failure(None)
        return None
    return record, outcome
