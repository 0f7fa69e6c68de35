"""What the jobs remember, and all its SQL: alert rows, message models, leases, sync state, runs.

Alert rows are keyed by (job, channel, item key): each channel's digest has its own state. A
message model is what one posted message showed (kept per (channel, ts)) so the message can be
re-rendered when an item in it resolves or is listed again later. A lease lets one process at a
time run a job. Sync state holds a job's bookkeeping between runs (watermarks, listing sizes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.store import iso

LEASE_TTL = timedelta(minutes=15)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the lease: one process runs a job at a time -----------------------------------------------


def acquire_lease(
    db: Database,
    job: str,
    *,
    holder: str | None = None,
    ttl: timedelta = LEASE_TTL,
    clock: Callable[[], datetime] = _utcnow,
) -> str | None:
    """Take the job's lease if free or expired: the holder id, or None when another holds it."""
    holder = holder or f"{uuid.uuid4().hex[:12]}"
    now = clock()
    # One statement so two processes cannot both see the lease free: SQLite serialises writers.
    db.execute(
        "insert into job_leases (job, holder, expires_at) values (?, ?, ?) "
        "on conflict(job) do update set holder = excluded.holder, expires_at = excluded.expires_at "
        "where job_leases.expires_at <= ?",
        [job, holder, iso(now + ttl), iso(now)],
    )
    row = db.execute("select holder from job_leases where job = ?", [job]).fetchone()
    return holder if row and row[0] == holder else None


def renew_lease(
    db: Database,
    job: str,
    holder: str,
    *,
    ttl: timedelta = LEASE_TTL,
    clock: Callable[[], datetime] = _utcnow,
) -> bool:
    """Extend our lease by `ttl` from now; False when it expired and another process took it."""
    # Never re-insert: if the row is gone or names another holder, someone else may be running.
    cur = db.execute(
        "update job_leases set expires_at = ? where job = ? and holder = ?",
        [iso(clock() + ttl), job, holder],
    )
    return cur.rowcount == 1


def release_lease(db: Database, job: str, holder: str) -> None:
    """Give the lease back (only if still ours)."""
    db.execute("delete from job_leases where job = ? and holder = ?", [job, holder])


def lease_expiry(db: Database, job: str) -> datetime | None:
    """When the job's current lease runs out, if one is held (or was left by a killed process)."""
    row = db.execute("select expires_at from job_leases where job = ?", [job]).fetchone()
    return datetime.fromisoformat(row[0]) if row else None


# --- alert rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    """What is remembered of one item of one channel's digest."""

    job: str
    item_key: str
    level: str
    channel: str | None
    message_ts: str | None
    first_alerted_at: str | None
    last_alerted_at: str | None
    resolved_at: str | None
    summary: dict[str, Any]

    @property
    def open(self) -> bool:
        return self.resolved_at is None


def load_alerts(db: Database, job: str, channel: str | None) -> dict[str, AlertRow]:
    """The job's alert rows in one channel, by item key (channel None: the job's in any channel)."""
    out: dict[str, AlertRow] = {}
    for r in db.execute(
        "select job, item_key, level, channel, message_ts, first_alerted_at, last_alerted_at, "
        "resolved_at, summary from alert_items where job = ? and channel = coalesce(?, channel)",
        [job, channel],
    ).fetchall():
        out[r[1]] = AlertRow(*r[:8], summary=json.loads(r[8] or "{}"))
    return out


def open_alerts(db: Database, job: str) -> list[AlertRow]:
    """The job's open alert rows in every channel."""
    return [
        AlertRow(*r[:8], summary=json.loads(r[8] or "{}"))
        for r in db.execute(
            "select job, item_key, level, channel, message_ts, first_alerted_at, "
            "last_alerted_at, resolved_at, summary from alert_items "
            "where job = ? and resolved_at is null",
            [job],
        ).fetchall()
    ]


def record_announced(
    db: Database,
    job: str,
    *,
    key: str,
    level: str,
    channel: str,
    message_ts: str,
    now: datetime,
    summary: dict[str, Any],
    previous: AlertRow | None,
) -> None:
    """Store that `key` was announced at `level` in the message `message_ts` of `channel`."""
    reopened = previous is None or not previous.open
    # Plain SQL (no sqlite-utils helper): it must not commit the caller's per-message transaction.
    db.execute(
        "insert into alert_items (job, channel, item_key, level, message_ts, first_alerted_at, "
        "last_alerted_at, resolved_at, summary) values (?, ?, ?, ?, ?, ?, ?, null, ?) "
        "on conflict(job, channel, item_key) do update set level = excluded.level, "
        "message_ts = excluded.message_ts, first_alerted_at = excluded.first_alerted_at, "
        "last_alerted_at = excluded.last_alerted_at, resolved_at = null, "
        "summary = excluded.summary",
        [
            job,
            channel,
            key,
            level,
            message_ts,
            iso(now) if reopened else previous.first_alerted_at,  # type: ignore[union-attr]
            iso(now),
            json.dumps(summary, sort_keys=True, default=str),
        ],
    )


def record_resolved(db: Database, job: str, channel: str, key: str, now: datetime) -> None:
    """Mark one item's alert in one channel resolved."""
    db.execute(
        "update alert_items set resolved_at = ? where job = ? and channel = ? and item_key = ?",
        [iso(now), job, channel, key],
    )


# --- message models ----------------------------------------------------------------------------


def save_model(
    db: Database, job: str, channel: str, ts: str, model: dict[str, Any], now: datetime
) -> None:
    """Remember what the message `ts` in `channel` shows."""
    db.execute(
        "insert into alert_messages (channel, ts, job, model, updated_at, version) "
        "values (?, ?, ?, ?, ?, 0) on conflict(channel, ts) do update set job = excluded.job, "
        "model = excluded.model, updated_at = excluded.updated_at, version = version + 1",
        [channel, ts, job, json.dumps(model, sort_keys=True, default=str), iso(now)],
    )


def load_model(db: Database, channel: str, ts: str) -> dict[str, Any] | None:
    """What the message `ts` in `channel` shows, if still remembered."""
    row = db.execute(
        "select model from alert_messages where channel = ? and ts = ?", [channel, ts]
    ).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def prune_models(db: Database, older_than: datetime) -> None:
    """Forget old message models, except those of messages still showing an open alert."""
    # With re-alerts off (0) an item stays open in its first message for months; its model must
    # survive so the message can still be updated when the item resolves.
    db.execute(
        "delete from alert_messages where updated_at < ? and not exists (select 1 from "
        "alert_items a where a.channel = alert_messages.channel "
        "and a.message_ts = alert_messages.ts and a.resolved_at is null)",
        [iso(older_than)],
    )


# --- sync state and runs -----------------------------------------------------------------------


def sync_get(db: Database, name: str) -> str | None:
    """A job's bookkeeping value between runs (a watermark, a listing size), if set."""
    row = db.execute("select value from sync_state where name = ?", [name]).fetchone()
    return row[0] if row else None


def sync_set(db: Database, name: str, value: str, now: datetime) -> None:
    db.execute(
        "insert into sync_state (name, value, updated_at) values (?, ?, ?) "
        "on conflict(name) do update set value = excluded.value, updated_at = excluded.updated_at",
        [name, value, iso(now)],
    )


def last_run(db: Database, job: str) -> datetime | None:
    """When a scheduled run of the job last started and ran to its end (any process)."""
    row = db.execute("select last_run_at from job_runs where job = ?", [job]).fetchone()
    return datetime.fromisoformat(row[0]) if row else None


def record_last_run(db: Database, job: str, started: datetime, summary: str | None = None) -> None:
    """Remember that a scheduled run that started at `started` ran to its end, and what it did."""
    db.execute(
        "insert into job_runs (job, last_run_at, summary) values (?, ?, ?) "
        "on conflict(job) do update set last_run_at = excluded.last_run_at, "
        "summary = coalesce(excluded.summary, job_runs.summary)",
        [job, iso(started), summary],
    )


def last_run_summary(db: Database, job: str) -> tuple[datetime, str | None] | None:
    """When the job last ran to its end and what it did (its RunResult summary), if ever."""
    row = db.execute("select last_run_at, summary from job_runs where job = ?", [job]).fetchone()
    return (datetime.fromisoformat(row[0]), row[1]) if row else None


# --- card versions: a message model changed by runs and by clicks ------------------------------


def change_model(
    db: Database,
    channel: str,
    ts: str,
    change: Callable[[dict[str, Any]], None],
    now: datetime,
) -> tuple[dict[str, Any], int] | None:
    """Apply `change` to the stored model of message `ts` and bump its version, atomically.

    Two clicks on one message (or a click during a run) each change the model they read under
    one write lock, so neither change is lost. Returns the model as changed and its version, or
    None when the message is no longer remembered.
    """
    db.execute("begin immediate")
    try:
        row = db.execute(
            "select model, version from alert_messages where channel = ? and ts = ?", [channel, ts]
        ).fetchone()
        if row is None or not row[0]:
            db.execute("commit")
            return None
        model = json.loads(row[0])
        change(model)
        version = int(row[1] or 0) + 1
        db.execute(
            "update alert_messages set model = ?, version = ?, updated_at = ? "
            "where channel = ? and ts = ?",
            [json.dumps(model, sort_keys=True, default=str), version, iso(now), channel, ts],
        )
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise
    return model, version


def model_version(db: Database, channel: str, ts: str) -> tuple[dict[str, Any], int] | None:
    """The stored model of message `ts` and its version."""
    row = db.execute(
        "select model, version from alert_messages where channel = ? and ts = ?", [channel, ts]
    ).fetchone()
    return (json.loads(row[0]), int(row[1] or 0)) if row and row[0] else None


def model_job(db: Database, channel: str, ts: str) -> str | None:
    row = db.execute(
        "select job from alert_messages where channel = ? and ts = ?", [channel, ts]
    ).fetchone()
    return row[0] if row else None


# --- acts: what people did to an item from its card (exactly once) -----------------------------

PENDING_ACT, DONE_ACT = "pending", "done"
# A claim still pending after this belongs to a click whose process died mid-write.
STALE_ACT = timedelta(minutes=2)


@dataclass(frozen=True)
class Act:
    """One person's claim on doing `act` to an item: who, when, and how far it got."""

    job: str
    item_key: str
    act: str
    slack_user: str
    coperniq_user: int | None
    state: str
    at: str
    detail: dict[str, Any]

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.at)


def _act(row: tuple[Any, ...]) -> Act:
    return Act(*row[:7], detail=json.loads(row[7] or "{}"))


_ACT_COLUMNS = "job, item_key, act, slack_user, coperniq_user, state, at, detail"


def get_act(db: Database, job: str, key: str, act: str) -> Act | None:
    row = db.execute(
        f"select {_ACT_COLUMNS} from alert_acts where job = ? and item_key = ? and act = ?",  # noqa: S608
        [job, key, act],
    ).fetchone()
    return _act(row) if row else None


def claim_act(
    db: Database,
    job: str,
    key: str,
    act: str,
    *,
    slack_user: str,
    coperniq_user: int | None,
    now: datetime,
    replaces: Callable[[Act], bool] = lambda act: False,
) -> Act | None:
    """Claim doing `act` to an item: None when the claim is ours, else the act in the way.

    One claim per (job, item, act) at a time: of two clicks at once exactly one gets it (the
    check and the write happen under one write lock). A done act stays in the way until
    `replaces(act)` says it no longer counts (a take whose form was reassigned since, a nudge
    older than its cool-down); a pending one until it is stale.
    """
    db.execute("begin immediate")
    try:
        row = db.execute(
            f"select {_ACT_COLUMNS} from alert_acts where job = ? and item_key = ? and act = ?",  # noqa: S608
            [job, key, act],
        ).fetchone()
        current = _act(row) if row else None
        if current is not None:
            stale = current.state == PENDING_ACT and now - current.when >= STALE_ACT
            if not stale and not (current.state == DONE_ACT and replaces(current)):
                db.execute("commit")
                return current
        db.execute(
            "insert into alert_acts (job, item_key, act, slack_user, coperniq_user, state, at, "
            "detail) values (?, ?, ?, ?, ?, ?, ?, '{}') on conflict(job, item_key, act) do update "
            "set slack_user = excluded.slack_user, coperniq_user = excluded.coperniq_user, "
            "state = excluded.state, at = excluded.at, detail = excluded.detail",
            [job, key, act, slack_user, coperniq_user, PENDING_ACT, iso(now)],
        )
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise
    return None


def finish_act(
    db: Database, job: str, key: str, act: str, now: datetime, detail: dict[str, Any]
) -> None:
    """The claimed act was done."""
    db.execute(
        "update alert_acts set state = ?, at = ?, detail = ? "
        "where job = ? and item_key = ? and act = ?",
        [DONE_ACT, iso(now), json.dumps(detail, sort_keys=True, default=str), job, key, act],
    )


def release_act(db: Database, job: str, key: str, act: str, slack_user: str) -> None:
    """The claimed act failed (nothing was written): let anyone try again."""
    db.execute(
        "delete from alert_acts where job = ? and item_key = ? and act = ? and slack_user = ? "
        "and state = ?",
        [job, key, act, slack_user, PENDING_ACT],
    )


# --- snoozes: an item left out of digests until a time or until its phase changes --------------


@dataclass(frozen=True)
class Snooze:
    job: str
    item_key: str
    until: str | None  # UTC ISO instant, or None: until the phase changes
    phase: str | None  # the phase it was snoozed in (forms)
    slack_user: str
    at: str

    def active(self, now: datetime, phase: str | None) -> bool:
        """Does the snooze still hide the item (listed now in `phase`)?"""
        if self.until is not None:
            return now < datetime.fromisoformat(self.until)
        return self.phase is not None and phase == self.phase


def snooze(
    db: Database,
    job: str,
    key: str,
    *,
    until: datetime | None,
    phase: str | None,
    slack_user: str,
    now: datetime,
) -> None:
    """Hide an item from the job's digests (every channel) until `until` or its phase changes."""
    db.execute(
        "insert into alert_snoozes (job, item_key, until, phase, slack_user, at) "
        "values (?, ?, ?, ?, ?, ?) on conflict(job, item_key) do update set "
        "until = excluded.until, phase = excluded.phase, slack_user = excluded.slack_user, "
        "at = excluded.at",
        [job, key, iso(until) if until else None, phase, slack_user, iso(now)],
    )


def load_snoozes(db: Database, job: str) -> dict[str, Snooze]:
    return {
        r[1]: Snooze(*r)
        for r in db.execute(
            "select job, item_key, until, phase, slack_user, at from alert_snoozes where job = ?",
            [job],
        ).fetchall()
    }


def carried_acts(
    db: Database, job: str, views: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The card lines of done acts on these items (oldest first), for the items' new cards.

    An act's card may say what must still hold for it to count (`while`: a take holds while the
    form's assignee is the taker); an act the item's current view contradicts (someone
    reassigned the form in Coperniq) is dropped, so its button comes back.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for key, act, detail in db.execute(
        "select item_key, act, detail from alert_acts where job = ? and state = ? order by at",
        [job, DONE_ACT],
    ).fetchall():
        view = views.get(key)
        card = (json.loads(detail or "{}") or {}).get("card")
        if view is None or not isinstance(card, dict) or not card.get("text"):
            continue
        holds = card.get("while") or {}
        if any(view.get(field) != value for field, value in holds.items()):
            db.execute(
                "delete from alert_acts where job = ? and item_key = ? and act = ?",
                [job, key, act],
            )
            continue
        out.setdefault(key, []).append(card)
    return out


def forget_items(db: Database, job: str, keys: list[str]) -> None:
    """An item resolved: its snooze and its acts end with it (a new episode starts afresh)."""
    for key in keys:
        db.execute("delete from alert_snoozes where job = ? and item_key = ?", [job, key])
        db.execute("delete from alert_acts where job = ? and item_key = ?", [job, key])


def end_snoozes(db: Database, job: str, keys: list[str]) -> None:
    for key in keys:
        db.execute("delete from alert_snoozes where job = ? and item_key = ?", [job, key])
