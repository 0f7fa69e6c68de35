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
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from bot.coperniq.errors import CoperniqError
from bot.store import audit, iso, utcnow

log = logging.getLogger(__name__)

PENDING, DONE, UNKNOWN, FAILED = "pending", "done", "unknown", "failed"


class Verdict(StrEnum):
    """What `begin` tells the caller to do."""

    NEW = "new"  # write
    RETRY_UNKNOWN = "retry_unknown"  # an earlier try's outcome is unknown: look it up, then write
    PENDING = "pending"  # another try is writing it now
    DONE = "done"  # already written: answer with the stored record


# A pending row older than this belongs to a process that died mid-write: treat it as unknown.
STALE_PENDING = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    """The answer to `begin`: what the caller must do now."""

    key: str
    verdict: Verdict
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


def _claim(row: dict[str, Any], verdict: Verdict) -> Claim:
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
        return _claim(row, Verdict.NEW)
    state = row["state"]
    if state == DONE:
        done_at = datetime.fromisoformat(row["updated_at"])
        if repeat_after is None or done_at > now - repeat_after:
            return _claim(row, Verdict.DONE)
    if state == PENDING and datetime.fromisoformat(row["updated_at"]) > now - STALE_PENDING:
        return _claim(row, Verdict.PENDING)
    # failed, unknown, a stale pending or an old done: take it over only if nobody else just did.
    cur = db.execute(
        "update submissions set state = ?, updated_at = ? "
        "where key = ? and state = ? and updated_at = ?",
        [PENDING, iso(now), key, state, row["updated_at"]],
    )
    if not cur.rowcount:
        return _claim(_row(db, key) or row, Verdict.PENDING)
    if state == DONE:
        # The same details again after the repeat window: a new submission, with no steps made.
        db.execute(
            "update submissions set created_at = ?, progress = null where key = ?", [iso(now), key]
        )
        return _claim(_row(db, key) or row, Verdict.NEW)
    if state == FAILED:
        # A fresh start: this attempt's own time, so an unknown outcome is looked up from now.
        # Steps the failed try made (an upload) are kept: they exist in Coperniq.
        db.execute("update submissions set created_at = ? where key = ?", [iso(now), key])
        return _claim(_row(db, key) or row, Verdict.NEW)
    return _claim(row, Verdict.RETRY_UNKNOWN)


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


class Outcome(StrEnum):
    """How one write_once ended (the audit log keeps the successful ones)."""

    ALREADY = "already"  # an earlier submission made it: answered from the stored row
    IN_FLIGHT = "in_flight"  # another try (a double click) is writing it now
    CREATED = "created"
    FOUND = "found_after_unknown_outcome"  # an earlier try whose answer was lost had made it
    CREATED_AFTER_LOOKUP = "created_after_lookup"  # ... and had not: made now
    FAILED = "failed"  # definitely not written: may be tried again
    UNKNOWN = "unknown"  # may or may not have been written: the next try looks first

    @property
    def written(self) -> bool:
        """The record exists now (made by this try or found)."""
        return self in (Outcome.CREATED, Outcome.FOUND, Outcome.CREATED_AFTER_LOOKUP)


class NotWritten(Exception):
    """The bot refused before writing (e.g. Slack would not give it the photo): `.why` says why."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class Saved:
    """What a written record is remembered as: in `submissions` and in the audit log."""

    record_type: str
    record_id: str | int | None
    record_number: str | int | None = None
    detail: dict[str, Any] | None = None
    # The audit row's record, when it is not the one written (a call is audited on its project).
    audit_type: str | None = None
    audit_id: str | int | None = None
    audit_detail: dict[str, Any] | None = None
    # The Coperniq user who made it, when only known once the write is under way (a flow looks
    # its author up after the listener's ack); None: Write.coperniq_user.
    coperniq_user: int | None = None


@dataclass(frozen=True)
class Write:
    """One idempotent write: who and what (the fingerprint), how to find an earlier copy, how to
    make it, and how to remember it."""

    slack_user: str
    action: str
    details: dict[str, Any]  # the normalised details that make two submissions the same
    what: str  # for logs: "Creating a request"
    lookup: Callable[[Claim], dict[str, Any] | None]  # after an unknown outcome; raises if unsure
    create: Callable[[Claim], dict[str, Any]]
    saved_as: Callable[[dict[str, Any]], Saved]
    require_id: bool = True
    repeat_after: timedelta | None = None
    # Whose submissions count as the same: by default the person's; "" for anyone's (a photo
    # attached to a field once is attached, whoever sends it again).
    fingerprint_user: str | None = None
    # The Slack user's linked Coperniq user, for the audit log (None: not linked, or not known).
    coperniq_user: int | None = None

    @property
    def key(self) -> str:
        user = self.slack_user if self.fingerprint_user is None else self.fingerprint_user
        return fingerprint(user, self.action, self.details)


@dataclass(frozen=True)
class Written:
    """The result of write_once: the outcome, the record (written, found or stored), and why not."""

    outcome: Outcome
    claim: Claim
    record: dict[str, Any] | None = None
    error: CoperniqError | None = None  # the Coperniq failure, when there was one
    why: str | None = None  # a sentence for the person when it was not written


def write_once(
    db: Database,
    write: Write,
    *,
    on_claim: Callable[[Claim], None] | None = None,
    now: datetime | None = None,
) -> Written:
    """Claim, look up after an unknown outcome, create, then finish and audit, or mark the row.

    `on_claim` sees the claim before any Coperniq call (a listener acks there: "saving…", or the
    record already made). Nothing raises: every ending is an Outcome, and the row says which.
    """
    key = write.key
    claim = begin(
        db,
        key,
        slack_user=write.slack_user,
        action=write.action,
        now=now,
        repeat_after=write.repeat_after,
    )
    if on_claim is not None:
        on_claim(claim)
    if claim.verdict is Verdict.DONE:
        stored = {"id": claim.record_id, "number": claim.record_number, **(claim.detail or {})}
        return Written(Outcome.ALREADY, claim, stored)
    if claim.verdict is Verdict.PENDING:
        return Written(Outcome.IN_FLIGHT, claim)
    # Until a look-up says the earlier try wrote nothing, a failure leaves its outcome unknown.
    unsure = claim.verdict is Verdict.RETRY_UNKNOWN
    outcome = Outcome.CREATED
    try:
        record = None
        if unsure:
            record = write.lookup(claim)
            outcome = Outcome.FOUND if record is not None else Outcome.CREATED_AFTER_LOOKUP
            unsure = False
        if record is None:
            record = write.create(claim)
        # `is None`: 0 is an id (a record numbered 0 was taken for a failure and re-created).
        if not isinstance(record, dict) or (write.require_id and record.get("id") is None):
            raise ValueError(f"Coperniq's answer to {write.what} is not a record with an id")
    except NotWritten as exc:
        mark(db, key, UNKNOWN if unsure else FAILED, detail={"error": exc.why})
        log.warning("%s: not written: %s", write.what, exc.why)
        return Written(Outcome.UNKNOWN if unsure else Outcome.FAILED, claim, why=exc.why)
    except CoperniqError as exc:
        maybe = unsure or exc.outcome_unknown
        mark(db, key, UNKNOWN if maybe else FAILED, detail={"error": repr(exc)})
        log.warning("%s failed: %r", write.what, exc)
        verdict = Outcome.UNKNOWN if maybe else Outcome.FAILED
        return Written(verdict, claim, error=exc, why=exc.user_message)
    except Exception:
        # An answer we cannot read, or a bug: it may have been written. Keep what was typed.
        log.exception("%s failed unexpectedly", write.what)
        mark(db, key, UNKNOWN)
        return Written(Outcome.UNKNOWN, claim)
    saved = write.saved_as(record)
    finish(
        db,
        key,
        record_type=saved.record_type,
        record_id=saved.record_id,
        record_number=saved.record_number,
        detail=saved.detail,
        now=now,
    )
    audit(
        db,
        slack_user=write.slack_user,
        action=write.action,
        record_type=saved.audit_type or saved.record_type,
        record_id=saved.audit_id if saved.audit_id is not None else saved.record_id,
        outcome=outcome.value,
        detail=saved.audit_detail if saved.audit_detail is not None else saved.detail,
        coperniq_user=write.coperniq_user if saved.coperniq_user is None else saved.coperniq_user,
    )
    return Written(outcome, claim, record)
