"""What the scheduled jobs share: run results, money, alert state, message models, lease, links."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.store import iso, kv_get, kv_set

log = logging.getLogger(__name__)

# Slack's limits for one message (SLACK_NOTES.md): 50 blocks; a section's text at most 3,000 chars.
MAX_BLOCKS = 50
SECTION_CHARS = 2900
# Keep one thread reply readable and well under Slack's ~40k character message cap.
LINES_PER_REPLY = 100


@dataclass
class RunResult:
    """What one run of a job did; returned by every job's run()."""

    job: str
    dry_run: bool = False
    ran: bool = True  # False when another process held the lease
    posted: int = 0  # items announced in messages that reached Slack
    messages: int = 0  # Slack messages posted (main + thread replies)
    updated: int = 0  # chat.update calls that succeeded (resolutions shown in place)
    resolved: int = 0  # items recorded as resolved
    skipped: int = 0  # items still alerting, already announced, not due again
    failed: int = 0  # items or messages that failed (logged; retried next run)
    left_out: int = 0  # items or projects left unchecked for lack of budget
    coperniq_calls: int = 0
    notes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # readable text of each message (posted or not)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if not self.ran:
            why = "; ".join(self.notes) or "another process holds the lease"
            return f"{self.job}: did not run ({why})"
        if self.dry_run:
            return (
                f"{self.job} (dry run): would post {self.posted} item(s), would mark "
                f"{self.resolved} resolved; {self.skipped} already announced, "
                f"{self.left_out} left out; Coperniq calls {self.coperniq_calls}"
            )
        return (
            f"{self.job}: posted {self.posted} item(s) in {self.messages} message(s), "
            f"updated {self.updated}, resolved {self.resolved}, unchanged {self.skipped}, "
            f"left out {self.left_out}, failed {self.failed}, Coperniq calls {self.coperniq_calls}"
        )


def money(amount: float) -> str:
    """Format dollars as `$12,345.67` (negative as `-$12.00`)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def parse_instant(value: str) -> datetime:
    """Parse an API timestamp; a naive one is taken as UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `now` in the business time zone."""
    return now.astimezone(tz).date()


def record_url(app_url: str, record_type: str, record_id: int | str) -> str:
    """An "Open in Coperniq" link to a project, opportunity or account (scheme: bot.links)."""
    from bot.links import record_url as shared

    return shared(app_url, record_type, record_id)


# --- the lease: one process runs a job at a time -----------------------------------------------

LEASE_TTL = timedelta(minutes=15)


def acquire_lease(
    db: Database,
    job: str,
    *,
    holder: str | None = None,
    ttl: timedelta = LEASE_TTL,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> bool:
    """Extend our lease by `ttl` from now; False when it expired and another process took it."""
    # Never re-insert: if the row is gone or names another holder, someone else may be running.
    cur = db.execute(
        "update job_leases set expires_at = ? where job = ? and holder = ?",
        [iso(clock() + ttl), job, holder],
    )
    return cur.rowcount == 1


class LeaseLost(RuntimeError):
    """Our lease expired during a run and another process took the job over."""


class RunStopped(RuntimeError):
    """The process is shutting down (SIGTERM): the run stops at its next safe point."""


# Set while the scheduler shuts down: a run stops before its next Slack write instead of holding
# the process past the platform's grace period (a kill mid-post would duplicate a message).
SHUTDOWN = threading.Event()


def release_lease(db: Database, job: str, holder: str) -> None:
    """Give the lease back (only if still ours)."""
    db.execute("delete from job_leases where job = ? and holder = ?", [job, holder])


# --- alert state -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    """One row of the alerts table."""

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


def load_alerts(db: Database, job: str) -> dict[str, AlertRow]:
    """Every alert row of one job, by item key."""
    out: dict[str, AlertRow] = {}
    for r in db.execute(
        "select job, item_key, level, channel, message_ts, first_alerted_at, last_alerted_at, "
        "resolved_at, summary from alerts where job = ?",
        [job],
    ).fetchall():
        out[r[1]] = AlertRow(*r[:8], summary=json.loads(r[8] or "{}"))
    return out


@dataclass
class Plan:
    """What a run should do with each item: announce, leave, resolve."""

    announce: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    resolve: list[str] = field(default_factory=list)


# Scheduled runs start a moment after the hour; without slack a daily reminder would slip an hour.
REALERT_SLACK = timedelta(minutes=10)


def realert_interval(amount: int, unit: str) -> timedelta | None:
    """The configured re-alert interval (INVOICE_REALERT_DAYS, SLA_REALERT_HOURS); 0: never."""
    return timedelta(**{unit: amount}) if amount > 0 else None


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
        elif rank.get(level, 0) > rank.get(row.level, 0):
            plan.announce.append(key)  # escalation: yellow -> red, or an older aging bucket
        elif (
            realert is not None
            and row.last_alerted_at is not None
            and now - parse_instant(row.last_alerted_at) >= realert - REALERT_SLACK
        ):
            plan.announce.append(key)
        else:
            plan.unchanged.append(key)
    for key, row in rows.items():
        if key not in current and row.open and row.message_ts is not None and can_resolve(row):
            plan.resolve.append(key)
    return plan


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
    """Store that `key` was announced at `level` in the message `message_ts`."""
    reopened = previous is None or not previous.open
    # Plain SQL (no sqlite-utils helper): it must not commit the caller's per-message transaction.
    db.execute(
        "insert into alerts (job, item_key, level, channel, message_ts, first_alerted_at, "
        "last_alerted_at, resolved_at, summary) values (?, ?, ?, ?, ?, ?, ?, null, ?) "
        "on conflict(job, item_key) do update set level = excluded.level, "
        "channel = excluded.channel, message_ts = excluded.message_ts, "
        "first_alerted_at = excluded.first_alerted_at, last_alerted_at = excluded.last_alerted_at, "
        "resolved_at = null, summary = excluded.summary",
        [
            job,
            key,
            level,
            channel,
            message_ts,
            iso(now) if reopened else previous.first_alerted_at,  # type: ignore[union-attr]
            iso(now),
            json.dumps(summary, sort_keys=True, default=str),
        ],
    )


def record_resolved(db: Database, job: str, key: str, now: datetime) -> None:
    db.execute(
        "update alerts set resolved_at = ? where job = ? and item_key = ?", [iso(now), job, key]
    )


# --- message models: what each posted message showed, so it can be re-rendered on resolution --


def _model_key(channel: str, ts: str) -> str:
    return f"alertmsg:{channel}:{ts}"


def save_model(db: Database, channel: str, ts: str, model: dict[str, Any], now: datetime) -> None:
    kv_set(db, _model_key(channel, ts), json.dumps(model, sort_keys=True, default=str), now)


def load_model(db: Database, channel: str, ts: str) -> dict[str, Any] | None:
    raw = kv_get(db, _model_key(channel, ts))
    return json.loads(raw) if raw else None


def prune_models(db: Database, older_than: datetime) -> None:
    """Forget old message models, except those of messages still showing an open alert."""
    # With re-alerts off (0) an item stays open in its first message for months; its model must
    # survive so the message can still be updated when the item resolves.
    db.execute(
        "delete from kv where key like 'alertmsg:%' and updated_at < ? and key not in "
        "(select 'alertmsg:' || channel || ':' || message_ts from alerts "
        "where resolved_at is null and message_ts is not null)",
        [iso(older_than)],
    )


def item_state(model: Mapping[str, Any], key: str) -> str | None:
    """How a posted message shows an item now: 'resolved', 'moved' (listed again later) or None."""
    if key in model.get("resolved", ()):
        return "resolved"
    if key in model.get("moved", ()):
        return "moved"
    return None


# --- Block Kit helpers -------------------------------------------------------------------------


def mrkdwn_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pack_sections(lines: Iterable[str], limit: int = SECTION_CHARS) -> list[dict[str, Any]]:
    """Pack lines into as few mrkdwn sections as fit Slack's per-section text limit."""
    blocks: list[dict[str, Any]] = []
    buf: list[str] = []
    size = 0
    for line in lines:
        line = line[:limit]
        if buf and size + len(line) + 1 > limit:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(buf)}})
            buf, size = [], 0
        buf.append(line)
        size += len(line) + 1
    if buf:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(buf)}})
    return blocks


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def listed_blocks(
    model: Mapping[str, Any], line: Callable[..., str], noun: str
) -> list[dict[str, Any]]:
    """A main message's listed items (with Open-in-Coperniq buttons while current) and footer."""
    from bot.ids import Action

    blocks: list[dict[str, Any]] = []
    for item in model["items"]:
        state = item_state(model, item["key"])
        block: dict[str, Any] = {
            "type": "section",
            "text": {"type": "mrkdwn", "text": line(item, state, link=False)[:SECTION_CHARS]},
        }
        if state is None:
            block["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in Coperniq"},
                "url": item["url"],
                "action_id": Action.OPEN_IN_COPERNIQ.value,
            }
        blocks.append(block)
    footer = []
    if model["more"]:
        footer.append(f"…and {model['more']} more in the thread.")
    resolved = model.get("resolved", [])
    if resolved:
        footer.append(
            f"✅ Since this was posted, {len(set(resolved))} of the {noun} listed here "
            "were resolved."
        )
    footer.extend(f"⚠️ {note}"[:SECTION_CHARS] for note in model["notes"][:3])
    blocks.extend(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]} for text in footer
    )
    return blocks


def thread_blocks(model: Mapping[str, Any], title: str, line: Callable[..., str]) -> list[Any]:
    """A thread reply: its title, then every item line packed into sections."""
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": title}]},
        *pack_sections(line(i, item_state(model, i["key"])) for i in model["items"]),
    ]


def split_models(
    job: str,
    main: dict[str, Any],
    listed: list[dict[str, Any]],
    notes: list[str] | None,
    main_items: int,
) -> list[dict[str, Any]]:
    """Complete a main message model with its first items; the rest become thread replies."""
    main.update(
        {
            "job": job,
            "kind": "main",
            "listed": len(listed),
            "items": listed[:main_items],
            "more": max(0, len(listed) - main_items),
            "notes": list(notes or []),
            "resolved": [],
        }
    )
    rest = chunks(listed[main_items:], LINES_PER_REPLY)
    replies = [
        {
            "job": job,
            "kind": "thread",
            "part": n + 1,
            "parts": len(rest),
            "items": items,
            "resolved": [],
        }
        for n, items in enumerate(rest)
    ]
    return [main, *replies]


def digest_text(
    models: list[dict[str, Any]], head: list[str], item_text: Callable[[dict[str, Any]], str]
) -> str:
    """A digest as plain text: its head lines, its notes, then every item, thread ones marked."""
    main, replies = models[0], models[1:]
    lines = [*head, *(f"! {note}" for note in main["notes"])]
    items = main["items"] + [i for r in replies for i in r["items"]]
    for n, item in enumerate(items, 1):
        if n == len(main["items"]) + 1:
            lines.append("  -- thread reply --")
        lines.append(item_text(item))
    return "\n".join(lines)
