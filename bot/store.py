"""The bot's SQLite store: migrations and small db-first functions.

One file, WAL journal, one connection per thread (Bolt's listener pool and APScheduler's
workers each get their own), every timestamp produced in Python as UTC ISO-8601 text.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("coperniq-bot")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """UTC ISO-8601 text, the one timestamp format in the store."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


# --- migrations: append new ones; never edit one that has shipped ---------------------------


@migrations()
def m001_api_calls(db: Database) -> None:
    db["api_calls"].create(
        {
            "id": int,
            "at": str,
            "method": str,
            "path": str,
            "status": int,
            "purpose": str,
            "rate_remaining": int,
        },
        pk="id",
    )
    db["api_calls"].create_index(["at"])
    db["kv"].create({"key": str, "value": str, "updated_at": str}, pk="key")


@migrations()
def m002_slack_events(db: Database) -> None:
    db["slack_events"].create({"event_id": str, "received_at": str, "status": str}, pk="event_id")


@migrations()
def m003_audit_log(db: Database) -> None:
    db["audit_log"].create(
        {
            "id": int,
            "at": str,
            "slack_user": str,
            "action": str,
            "record_type": str,
            "record_id": str,
            "outcome": str,
            "detail": str,
        },
        pk="id",
    )
    db["audit_log"].create_index(["at"])


@migrations()
def m004_submissions(db: Database) -> None:
    # One row per modal submission fingerprint, so a retried submit never writes twice.
    db["submissions"].create(
        {
            "key": str,
            "slack_user": str,
            "action": str,
            "state": str,  # pending | done | failed | unknown
            "record_type": str,
            "record_id": str,
            "record_number": str,
            "created_at": str,
            "updated_at": str,
            "detail": str,
        },
        pk="key",
    )


@migrations()
def m005_alerts(db: Database) -> None:
    db["alerts"].create(
        {
            "job": str,
            "item_key": str,
            "level": str,
            "channel": str,
            "message_ts": str,
            "first_alerted_at": str,
            "last_alerted_at": str,
            "resolved_at": str,
            "summary": str,
        },
        pk=("job", "item_key"),
    )
    db["job_leases"].create({"job": str, "holder": str, "expires_at": str}, pk="job")


@migrations()
def m006_synced_records(db: Database) -> None:
    db["invoices"].create(
        {
            "id": int,
            "uid": str,
            "status": str,
            "due_date": str,
            "amount": float,
            "amount_paid": float,
            "account_id": int,
            "account_title": str,
            "record_id": int,
            "record_uid": str,
            "record_title": str,
            "updated_at": str,
            "synced_at": str,
            "raw": str,
        },
        pk="id",
    )
    db["sync_state"].create({"name": str, "value": str, "updated_at": str}, pk="name")
    db["form_cache"].create(
        {"project_id": int, "phase_key": str, "fetched_at": str, "forms": str}, pk="project_id"
    )


@migrations()
def m007_submission_progress(db: Database) -> None:
    # Steps a multi-step write already made (a photo's upload to the project before its attach),
    # kept across failed and unknown tries so that a retry does not repeat a step that worked.
    db["submissions"].add_column("progress", str)


@migrations()
def m008_alert_state_tables(db: Database) -> None:
    # Alert state keyed by (job, channel, item), so one job's snapshot can feed several channels
    # each with its own state; the models of posted messages, the jobs' last runs and the
    # project-listing size move out of `kv` into tables of their own. Existing rows are carried
    # over, so an upgraded install neither re-posts nor loses a message it may still update.
    db["alert_items"].create(
        {
            "job": str,
            "channel": str,
            "item_key": str,
            "level": str,
            "message_ts": str,
            "first_alerted_at": str,
            "last_alerted_at": str,
            "resolved_at": str,
            "summary": str,
        },
        pk=("job", "channel", "item_key"),
    )
    db["alert_items"].create_index(["channel", "message_ts"])
    db.execute(
        "insert into alert_items (job, channel, item_key, level, message_ts, first_alerted_at, "
        "last_alerted_at, resolved_at, summary) select job, coalesce(channel, ''), item_key, "
        "level, message_ts, first_alerted_at, last_alerted_at, resolved_at, summary from alerts"
    )
    db["alerts"].drop()
    db["alert_messages"].create(
        {"channel": str, "ts": str, "job": str, "model": str, "updated_at": str},
        pk=("channel", "ts"),
    )
    for key, value, updated_at in db.execute(
        "select key, value, updated_at from kv where key like 'alertmsg:%'"
    ).fetchall():
        channel, _, ts = key[len("alertmsg:") :].partition(":")
        job = (json.loads(value or "{}") or {}).get("job") or ""
        db.execute(
            "insert or replace into alert_messages (channel, ts, job, model, updated_at) "
            "values (?, ?, ?, ?, ?)",
            [channel, ts, job, value, updated_at],
        )
    db["job_runs"].create({"job": str, "last_run_at": str}, pk="job")
    db.execute(
        "insert into job_runs (job, last_run_at) select substr(key, length('job-last-run:') + 1), "
        "value from kv where key like 'job-last-run:%'"
    )
    db.execute(
        "insert or replace into sync_state (name, value, updated_at) select key, value, "
        "updated_at from kv where key = 'form-sla.projects_listed'"
    )
    db.execute(
        "delete from kv where key like 'alertmsg:%' or key like 'job-last-run:%' "
        "or key = 'form-sla.projects_listed'"
    )


@migrations()
def m009_people(db: Database) -> None:
    # The Coperniq user directory (GET /users), cached and refreshed at most daily, and the
    # links a Slack workspace admin set by hand. A link row with a null coperniq_user_id is an
    # explicit "no link": it keeps the email match from coming back after an unlink.
    db["coperniq_users"].create(
        {
            "id": int,
            "email_key": str,
            "email": str,
            "first_name": str,
            "last_name": str,
            "role_name": str,
            "fetched_at": str,
        },
        pk="id",
    )
    db["coperniq_users"].create_index(["email_key"])
    db["slack_links"].create(
        {
            "slack_user": str,
            "coperniq_user_id": int,
            "email": str,
            "linked_by": str,
            "linked_at": str,
        },
        pk="slack_user",
    )


@migrations()
def m010_audit_people(db: Database) -> None:
    # Every write goes to Coperniq with one API key: the audit log keeps, beside the Slack user,
    # the Coperniq user they were linked to at the time (null: not linked).
    db["audit_log"].add_column("coperniq_user_id", int)


@migrations()
def m011_alert_actions(db: Database) -> None:
    # What people do to alert items from their cards: a claim per (job, item, act) so that two
    # clicks at once make one Coperniq write, and snoozes that keep an item out of digests for a
    # while. A message model's version lets two updates of one card settle on the latest.
    db["alert_acts"].create(
        {
            "job": str,
            "item_key": str,
            "act": str,
            "slack_user": str,
            "coperniq_user": int,
            "state": str,
            "at": str,
            "detail": str,
        },
        pk=("job", "item_key", "act"),
    )
    db["alert_snoozes"].create(
        {
            "job": str,
            "item_key": str,
            "until": str,
            "phase": str,
            "slack_user": str,
            "at": str,
        },
        pk=("job", "item_key"),
    )
    db["alert_messages"].add_column("version", int, not_null_default=0)


@migrations()
def m012_routing(db: Database) -> None:
    # Channel subscriptions with filters (one row per channel and job; the environment's channels
    # are unfiltered subscriptions and are not stored); what Coperniq lists as valid filter values
    # (workflows with their phases, trades), cached; the projects the SLA listing saw, kept so that
    # the App Home and the personal summaries need no Coperniq call; personal notification
    # settings, what each person was told about, and the DMs waiting (quiet hours) or sent.
    db["subscriptions"].create(
        {
            "channel": str,
            "job": str,
            "filters": str,  # JSON {key: [values]}; {} for every item
            "channel_name": str,
            "created_by": str,
            "created_at": str,
        },
        pk=("channel", "job"),
    )
    db["coperniq_catalog"].create({"kind": str, "data": str, "fetched_at": str}, pk="kind")
    db["projects"].create(
        {
            "id": int,
            "number": str,
            "title": str,
            "status": str,
            "workflow": str,
            "trades": str,  # JSON list
            "phase": str,
            "phase_key": str,
            "days": int,
            "yellow_sla": int,
            "red_sla": int,
            "level": str,  # red | yellow | null
            "account_id": int,
            "seen_at": str,
        },
        pk="id",
    )
    db["notify_prefs"].create(
        {
            "slack_user": str,
            "coperniq_user_id": int,  # the linked Coperniq user when the settings were saved
            "forms": int,  # DM when a form assigned to me passes yellow or red
            "morning": int,  # the morning summary
            "invoices": int,  # billing roles: my clients' overdue invoices in the summary
            "clients": str,  # JSON list of client (account) titles; [] for every client
            "updated_at": str,
        },
        pk="slack_user",
        defaults={"forms": 0, "morning": 0, "invoices": 0, "clients": "[]"},
    )
    db["notify_sent"].create(
        {"slack_user": str, "item_key": str, "level": str, "at": str},
        pk=("slack_user", "item_key"),
    )
    db["dm_outbox"].create(
        {
            "id": int,
            "slack_user": str,
            "kind": str,  # form | morning
            "dedupe": str,  # unique: one DM per (person, item, level) or (person, morning day)
            "item_key": str,
            "text": str,
            "blocks": str,  # JSON Block Kit
            "due_at": str,  # not before (the end of quiet hours)
            "created_at": str,
            "sent_at": str,
            "error": str,
        },
        pk="id",
    )
    db["dm_outbox"].create_index(["dedupe"], unique=True)
    db["dm_outbox"].create_index(["sent_at", "due_at"])
    db["job_runs"].add_column("summary", str)  # what the last run did, for the App Home


@migrations()
def m013_home(db: Database) -> None:
    # Who opened the App Home, as whom, and a hash of the view last published to them: a run
    # republishes only the Homes it changed, of people who opened theirs lately.
    db["home_views"].create(
        {
            "slack_user": str,
            "coperniq_user_id": int,  # the linked Coperniq user when last opened (null: none)
            "linked": str,  # how: "email" or "override"; unlinked: why (bot.people reasons)
            "slack_email": str,  # what Slack gave, for the "why unlinked" sentence
            "is_admin": int,  # a Slack workspace admin when last opened
            "opened_at": str,
            "published_at": str,
            "hash": str,
        },
        pk="slack_user",
    )


@migrations()
def m014_webhooks(db: Database) -> None:
    # Coperniq Automation deliveries, stored before they are answered and processed after: one
    # row per event id (a redelivery finds its row), with what processing did. A row left
    # `received` by a process that died is processed at the next start.
    db["webhook_events"].create(
        {
            "event_id": str,
            "trigger_key": str,
            "record_id": int,
            "work_order_id": int,
            "fired_at": str,
            "received_at": str,
            "body": str,  # the delivery's JSON, as received
            "status": str,  # received | processing | done | kept | ignored | failed
            "attempts": int,
            "processed_at": str,
            "outcome": str,  # one line: what it did, or why not
        },
        pk="event_id",
        defaults={"attempts": 0},
    )
    db["webhook_events"].create_index(["status", "received_at"])
    db["webhook_events"].create_index(["work_order_id"])


@migrations()
def m015_project_sync(db: Database) -> None:
    # The projects table becomes a local copy kept by `updated_after` listings: when each
    # project's current phase started (computed from timeInStageDays when read, or from a phase
    # webhook), so that time in phase can be computed at any later time without a read, and the
    # record's own updatedAt.
    db["projects"].add_column("phase_started_at", str)
    db["projects"].add_column("updated_at", str)
    db["projects"].add_column("raw", str)  # the project as last listed (JSON)


@migrations()
def m016_field_work(db: Database) -> None:
    # Issue 12, the field. `work_orders`: a local copy of Coperniq's work orders, kept by one
    # shared `GET /work-orders?updated_after=` sweep that feeds every technician's morning card.
    db["work_orders"].create(
        {
            "id": int,
            "parent_type": str,  # project | opportunity | account (from the record it hangs on)
            "parent_id": int,
            "project_id": int,
            "title": str,
            "status": str,  # the status id (e.g. WORKING)
            "status_label": str,
            "assignee_id": int,  # the Coperniq user
            "start_date": str,  # as Coperniq gives it (ISO 8601)
            "end_date": str,
            "is_completed": int,
            "updated_at": str,  # Coperniq's updatedAt
            "seen_at": str,
            "raw": str,  # the work order as last read (JSON)
        },
        pk="id",
    )
    db["work_orders"].create_index(["assignee_id", "start_date"])
    db["work_orders"].create_index(["project_id"])
    # A technician's morning card (one Slack message per work order), updated in place when the
    # work order's status changes, from Slack or from a TASK_* webhook.
    db["wo_cards"].create(
        {
            "work_order_id": int,
            "channel": str,  # the DM channel
            "ts": str,
            "slack_user": str,
            "day": str,  # the local date of the morning card
            "posted_at": str,
            "updated_at": str,
        },
        pk=("work_order_id", "channel"),
    )
    db["wo_cards"].create_index(["slack_user", "day"])
    # Link unfurls: one Coperniq read per record per few minutes at most.
    db["unfurl_cache"].create(
        {
            "key": str,  # "<kind>:<id>", e.g. project:123
            "fetched_at": str,
            "body": str,  # what the unfurl needs (JSON); "null" for a record that is not there
        },
        pk="key",
    )


# --- connection handling -------------------------------------------------------------------


class Store:
    """Hands each thread its own connection to one SQLite file, migrated once at open."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Two processes (serve and clock) may open a new file at once: migrate under a file lock.
        with open(f"{self.path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                migrations.apply(self.db)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @property
    def db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 30000")
            db = Database(conn)
            with self._lock:
                db.enable_wal()
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def open_store(path: str | Path) -> Store:
    return Store(path)


# --- small functions, db first ---------------------------------------------------------------


def kv_get(db: Database, key: str) -> str | None:
    row = db.execute("select value from kv where key = ?", [key]).fetchone()
    return row[0] if row else None


def kv_set(db: Database, key: str, value: str, now: datetime | None = None) -> None:
    db["kv"].upsert({"key": key, "value": value, "updated_at": iso(now or utcnow())}, pk="key")


def record_api_call(
    db: Database,
    *,
    at: datetime,
    method: str,
    path: str,
    status: int | None,
    purpose: str,
    rate_remaining: int | None = None,
) -> None:
    db["api_calls"].insert(
        {
            "at": iso(at),
            "method": method,
            "path": path,
            "status": status,
            "purpose": purpose,
            "rate_remaining": rate_remaining,
        }
    )


def api_calls_since(db: Database, since: datetime, purpose: str | None = None) -> int:
    sql = "select count(*) from api_calls where at >= ?"
    args: list[Any] = [iso(since)]
    if purpose is not None:
        sql += " and purpose = ?"
        args.append(purpose)
    return int(db.execute(sql, args).fetchone()[0])


def audit(
    db: Database,
    *,
    slack_user: str,
    action: str,
    record_type: str | None,
    record_id: str | int | None,
    outcome: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
    coperniq_user: int | None = None,
) -> None:
    """Append one line to the audit log of writes made from Slack (and whose Coperniq user)."""
    db["audit_log"].insert(
        {
            "at": iso(now or utcnow()),
            "slack_user": slack_user,
            "coperniq_user_id": coperniq_user,
            "action": action,
            "record_type": record_type,
            "record_id": None if record_id is None else str(record_id),
            "outcome": outcome,
            "detail": json.dumps(detail or {}, sort_keys=True, default=str),
        }
    )


def claim_event(
    db: Database,
    event_id: str,
    now: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=4),
) -> bool:
    """Claim a Slack event id to process; False when it is done or being processed right now.

    A delivery whose first run failed, or whose claim was left `processing` by a process that died
    (older than `stale_after`, which is shorter than Slack's last retry about 5 minutes after the
    first), is claimed again, so Slack's retry is never dropped.
    """
    now = now or utcnow()
    cur = db.execute(
        "insert or ignore into slack_events (event_id, received_at, status) values (?, ?, ?)",
        [event_id, iso(now), "processing"],
    )
    if cur.rowcount:
        return True
    cur = db.execute(
        "update slack_events set status = 'processing', received_at = ? where event_id = ? "
        "and (status = 'failed' or (status = 'processing' and received_at < ?))",
        [iso(now), event_id, iso(now - stale_after)],
    )
    return bool(cur.rowcount)


def finish_event(db: Database, event_id: str, ok: bool) -> None:
    db.execute(
        "update slack_events set status = ? where event_id = ?",
        ["done" if ok else "failed", event_id],
    )
