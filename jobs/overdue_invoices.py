"""Overdue invoices digest (job id `overdue-invoices`).

What: a digest of overdue invoices (status SENT, PARTIALLY_PAID or OVERDUE, due date before
today in BOT_TIMEZONE, balance `amount - amountPaid` above zero): total, accounts-receivable aging
buckets (1-30, 31-60, 61-90, 90+ days), the largest balances with "Open in Coperniq" links, the full
list in thread replies when it does not fit in one message.
When: INVOICE_ALERT_CRON (default `0 8 * * 1-5`) in BOT_TIMEZONE.
Where: INVOICE_ALERT_CHANNEL; the job is off when that is unset.
Dedupe key: ("overdue-invoices", "invoice:<id>") in the alerts table, level = aging bucket. An
invoice is listed once per bucket: again when it moves to an older bucket or after
INVOICE_REALERT_DAYS; when it is paid (or no longer overdue, or deleted) the message part that
listed it is re-rendered with it struck through.
Data: a local copy in the `invoices` table: one full sync, then `updated_after` syncs from the
newest
`updatedAt` seen (minus an overlap), and a full resync every FULL_RESYNC to drop deleted invoices.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.coperniq.errors import BudgetExceeded, CoperniqError, NotFound
from bot.store import iso
from jobs import common
from jobs.common import RunResult, money, mrkdwn_escape

if TYPE_CHECKING:
    from bot.deps import Deps
    from jobs.slackpost import SlackPoster

log = logging.getLogger(__name__)

JOB_ID = "overdue-invoices"
OPEN_STATUSES = frozenset({"SENT", "PARTIALLY_PAID", "OVERDUE"})
# (key, label, lowest day, highest day); 90+ means 91 days and more.
BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("1-30", "1–30 days", 1, 30),
    ("31-60", "31–60 days", 31, 60),
    ("61-90", "61–90 days", 61, 90),
    ("90+", "90+ days", 91, None),
)
BUCKET_RANK = {key: i for i, (key, *_rest) in enumerate(BUCKETS)}
BUCKET_LABEL = {key: label for key, label, *_rest in BUCKETS}

# Re-alert interval: INVOICE_REALERT_DAYS (default 7: list a still-overdue invoice weekly).
FULL_RESYNC = timedelta(days=7)  # a full listing now and then catches invoices deleted in Coperniq
SYNC_OVERLAP = timedelta(
    minutes=10
)  # re-read a little before the watermark: clocks and commits race
PAGE_SIZE = 100
MAIN_ITEMS = 15  # largest balances shown in the main message; the rest go to the thread


# --- selection (pure) --------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueInvoice:
    """One overdue invoice, as the digest shows it."""

    id: int
    uid: str
    client: str
    project: str
    record_id: int | None
    account_id: int | None
    balance: float
    due: date
    days: int
    bucket: str

    @property
    def key(self) -> str:
        return f"invoice:{self.id}"


def due_date(value: str | None, tz: ZoneInfo) -> date | None:
    """The calendar day an invoice is due, read in the business time zone."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    # The spec types dueDate as a date-time. A date stored as midnight UTC (or the noon-UTC
    # convention) names that UTC day, though it is the evening before in the Americas. Any other
    # instant is read on the local clock: midnight local, a time of day, or 23:59:59 local (end of
    # the day); exactly 23:00 local is a local midnight off by a DST hour (the sandbox's 05:00Z in
    # winter) and names the next day.
    instant = common.parse_instant(value)
    utc = instant.astimezone(UTC)
    if utc.time() in (time(0), time(12)):
        return utc.date()
    local = instant.astimezone(tz)
    if local.time() == time(23):
        return local.date() + timedelta(days=1)
    return local.date()


def bucket_for(days: int) -> str:
    """The aging bucket key for a number of days overdue (>= 1)."""
    for key, _label, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return key
    raise ValueError(f"not overdue: {days} days")


def balance_of(inv: dict[str, Any]) -> float:
    """What is still owed: amount - amountPaid, rounded to cents."""
    return round(float(inv.get("amount") or 0) - float(inv.get("amountPaid") or 0), 2)


def _overdue(inv: dict[str, Any], today: date, tz: ZoneInfo) -> OverdueInvoice | None:
    if inv.get("status") not in OPEN_STATUSES or inv.get("isArchived"):
        return None
    due = due_date(inv.get("dueDate"), tz)
    if due is None or due >= today:
        return None
    balance = balance_of(inv)
    if balance <= 0:
        return None
    days = (today - due).days
    account = inv.get("account") or {}
    record = inv.get("record") or {}
    project = " ".join(
        p
        for p in (f"#{record['uid']}" if record.get("uid") else "", record.get("title") or "")
        if p
    )
    return OverdueInvoice(
        id=int(inv["id"]),
        uid=str(inv.get("uid") or inv["id"]),
        client=account.get("title") or record.get("title") or "(no client)",
        project=project,
        record_id=record.get("id"),
        account_id=account.get("id"),
        balance=balance,
        due=due,
        days=days,
        bucket=bucket_for(days),
    )


def select(invoices: Iterable[dict[str, Any]], now: datetime, tz: ZoneInfo) -> list[OverdueInvoice]:
    """The overdue invoices at `now`, largest balance first."""
    today = common.local_today(now, tz)
    out: list[OverdueInvoice] = []
    for inv in invoices:
        try:
            hit = _overdue(inv, today, tz)
        except (KeyError, TypeError, ValueError, AttributeError):
            # One malformed invoice must not hide the others.
            log.exception("skipping invoice %r: unexpected shape", inv.get("id"))
            continue
        if hit is not None:
            out.append(hit)
    out.sort(key=lambda i: (-i.balance, -i.days, i.id))
    return out


def aging(overdue: Iterable[OverdueInvoice]) -> list[dict[str, Any]]:
    """Count and sum per aging bucket, every bucket present."""
    sums = {key: [0, 0.0] for key in BUCKET_RANK}
    for inv in overdue:
        sums[inv.bucket][0] += 1
        sums[inv.bucket][1] += inv.balance
    return [
        {"bucket": key, "label": BUCKET_LABEL[key], "count": c, "sum": round(s, 2)}
        for key, (c, s) in sums.items()
    ]


# --- message models and builders (pure) --------------------------------------------------------


def _item(inv: OverdueInvoice, app_url: str) -> dict[str, Any]:
    d = asdict(inv)
    d["due"] = inv.due.isoformat()
    d["key"] = inv.key
    # The web app shows an invoice on its project (else its client); bot.links has no invoice page.
    if inv.record_id:
        d["url"] = common.record_url(app_url, "project", inv.record_id)
    elif inv.account_id:
        d["url"] = common.record_url(app_url, "account", inv.account_id)
    else:
        d["url"] = app_url
    return d


def build_models(
    overdue: list[OverdueInvoice],
    announce: set[str],
    now: datetime,
    tz: ZoneInfo,
    app_url: str,
    notes: list[str] | None = None,
    main_items: int = MAIN_ITEMS,
) -> list[dict[str, Any]]:
    """The digest as message models: the main message, then thread replies for what does not fit."""
    listed = [_item(i, app_url) for i in overdue if i.key in announce]
    main = {
        "as_of": now.astimezone(tz).date().isoformat(),
        "tz": str(tz),
        "count": len(overdue),
        "total": round(sum(i.balance for i in overdue), 2),
        "buckets": aging(overdue),
    }
    return common.split_models(JOB_ID, main, listed, notes, main_items)


def _day(iso_date: str) -> str:
    d = date.fromisoformat(iso_date)
    return f"{d:%a} {d.day} {d:%b %Y}"


def _line(item: dict[str, Any], state: str | None, *, link: bool = True) -> str:
    who = mrkdwn_escape(item["client"])
    head = f"#{item['uid']} · {who}"
    body = (
        f"{money(item['balance'])} · {item['days']} day{'s' if item['days'] != 1 else ''} overdue "
        f"({BUCKET_LABEL[item['bucket']]}) · due {item['due']}"
    )
    url = f" · <{item['url']}|Open in Coperniq>" if link else ""
    if state == "resolved":
        return f"✅ ~{head} · {money(item['balance'])}~ resolved (paid or no longer overdue)"
    if state == "moved":
        return f"↪ ~{head} · {money(item['balance'])}~ listed again in a later digest"
    return f"*{head}* · {body}{url}"


def render(model: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Block Kit blocks and the plain-text fallback for one message model (never over 50 blocks)."""
    blocks: list[dict[str, Any]] = []
    if model["kind"] == "main":
        text = (
            f"Overdue invoices: {money(model['total'])} across {model['count']} invoice(s) "
            f"as of {_day(model['as_of'])}"
        )
        blocks.append(
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": f"Overdue invoices · {_day(model['as_of'])}",
                },
            }
        )
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"*{money(model['total'])}* overdue across *{model['count']}* invoice(s)"
                    ),
                },
            }
        )
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{b['label']}*\n{b['count']} · {money(b['sum'])}"}
                    for b in model["buckets"]
                ],
            }
        )
        blocks.append({"type": "divider"})
        earlier = model["count"] - model["listed"]
        intro = (
            f"Largest balances among {model['listed']} invoice(s) newly overdue, "
            f"moved to an older bucket or due a reminder"
            + (f"; {earlier} other(s) were listed in earlier digests." if earlier > 0 else ".")
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": intro}]})
        blocks.extend(common.listed_blocks(model, _line, "invoices"))
    else:
        text = f"Overdue invoices, full list (part {model['part']} of {model['parts']})"
        blocks.extend(common.thread_blocks(model, text, _line))
    assert len(blocks) <= common.MAX_BLOCKS, len(blocks)
    return text, blocks


def to_text(models: list[dict[str, Any]]) -> str:
    """The whole digest as readable plain text (for --dry-run and the demo)."""
    main = models[0]
    head = [
        f"Overdue invoices · {_day(main['as_of'])} ({main['tz']})",
        f"{money(main['total'])} overdue across {main['count']} invoice(s)",
        "Aging: "
        + "; ".join(f"{b['label']}: {b['count']} · {money(b['sum'])}" for b in main["buckets"]),
        f"Listed now: {main['listed']} (newly overdue, moved to an older bucket or due a reminder)",
    ]

    def item_text(item: dict[str, Any]) -> str:
        return (
            f"  #{item['uid']}  {item['client']}  {money(item['balance'])}  "
            f"{item['days']} d overdue "
            f"({BUCKET_LABEL[item['bucket']]})  {item['url']}"
        )

    return common.digest_text(models, head, item_text)


# --- the local copy ----------------------------------------------------------------------------


def _sync_get(db: Database, name: str) -> str | None:
    row = db.execute("select value from sync_state where name = ?", [name]).fetchone()
    return row[0] if row else None


def _sync_set(db: Database, name: str, value: str, now: datetime) -> None:
    db["sync_state"].upsert({"name": name, "value": value, "updated_at": iso(now)}, pk="name")


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


def local_invoices(db: Database) -> list[dict[str, Any]]:
    """The local copy, as the API shaped each invoice."""
    return [json.loads(r[0]) for r in db.execute("select raw from invoices").fetchall()]


def _save(db: Database, rows: list[dict[str, Any]]) -> None:
    # One transaction per page: a commit per invoice makes a 10,000-invoice sync crawl. IMMEDIATE
    # takes the write lock up front, so a concurrent writer makes us wait, not fail.
    if not rows:
        return
    with db.conn:
        db.execute("begin immediate")
        db["invoices"].upsert_all(rows, pk="id")


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
) -> SyncOutcome:
    """Bring the local copy up to date within the background budget; say what could not be done."""
    # Real time, not the run's `now` (which --now may fix): it bounds the next watermark.
    started = clock()
    # Bookkeeping never runs ahead of real time: a `--now` next month (even a dry run) must not
    # put off the real runs' weekly full resync until then.
    stamp = min(now, started)
    watermark = _sync_get(db, "invoices.watermark")
    last_full = _sync_get(db, "invoices.full_sync_at")
    local_count = db["invoices"].count
    available = budget.available_for_background()
    full_pages = max(1, math.ceil((local_count + 1) / PAGE_SIZE))
    want_full = (
        watermark is None
        or last_full is None
        or (now - common.parse_instant(last_full) >= full_resync)
    )
    if want_full and available >= full_pages:
        mode = "full"
    elif watermark is not None and available >= 1:
        mode = "incremental"
    else:
        since = _sync_get(db, "invoices.last_sync_at")
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
        filters["updated_after"] = common.parse_instant(watermark) - SYNC_OVERLAP  # type: ignore[arg-type]
    seen: set[int] = set()
    newest = common.parse_instant(watermark) if watermark else None
    outcome = SyncOutcome(mode)
    batch: list[dict[str, Any]] = []
    try:
        for inv in background.invoices.list(**filters):
            row = _row(inv, now)
            batch.append(row)
            seen.add(row["id"])
            if inv.get("updatedAt"):
                ts = common.parse_instant(inv["updatedAt"])
                newest = ts if newest is None or ts > newest else newest
            if len(batch) >= PAGE_SIZE:
                _save(db, batch)
                batch = []
                if common.SHUTDOWN.is_set():
                    raise common.RunStopped(f"{JOB_ID}: the process is shutting down")
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
        since = _sync_get(db, "invoices.last_sync_at")
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
            _sync_set(db, "invoices.full_sync_at", iso(stamp), now)
        if newest is not None:
            # An invoice updated during the sync, on a page already read, carries an updatedAt
            # after the sync started but possibly before the newest one seen (a long sync):
            # the next sync starts from the earlier of the two, less SYNC_OVERLAP.
            _sync_set(db, "invoices.watermark", iso(min(newest, started)), now)
        _sync_set(db, "invoices.last_sync_at", iso(stamp), now)
    return outcome


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


# --- the run ---------------------------------------------------------------------------------


def run(
    deps: Deps,
    now: datetime,
    *,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    realert: timedelta | None | str = "settings",
    poster: SlackPoster | None = None,
) -> RunResult:
    """Sync, select, post the digest once, record; update earlier messages whose items resolved."""
    from jobs import runner

    return runner.run_digest_job(
        deps,
        now,
        job=JOB_ID,
        channel=deps.settings.invoice_alert_channel,
        collect=_collect,
        render=render,
        to_text=to_text,
        rank=BUCKET_RANK,
        dry_run=dry_run,
        out=out,
        realert=common.realert_interval(deps.settings.invoice_realert_days, "days")
        if realert == "settings"
        else realert,
        poster=poster,
    )


def _collect(
    deps: Deps, api: Any, now: datetime, result: RunResult, rows: dict[str, common.AlertRow]
) -> Any:
    """Fetch and select; returns what the runner needs to plan and build messages."""
    from jobs.runner import Collected

    settings = deps.settings
    db = deps.store.db
    outcome = sync_invoices(db, api, deps.coperniq.budget, now)
    notes = [outcome.note] if outcome.note else []
    if outcome.error:
        result.failed += 1
    elif not outcome.complete:
        result.left_out += 1
    overdue = select(local_invoices(db), now, settings.timezone)
    by_key = {i.key: i for i in overdue}

    def build(announce: set[str]) -> list[dict[str, Any]]:
        return build_models(
            overdue, announce, now, settings.timezone, settings.coperniq_app_url, notes
        )

    def summary(key: str) -> dict[str, Any]:
        return _item(by_key[key], settings.coperniq_app_url)

    return Collected(
        levels={i.key: i.bucket for i in overdue},
        build=build,
        summary=summary,
        # The local copy is the authority: an invoice no longer selected was paid or deleted.
        can_resolve=lambda row: True,
        notes=notes,
    )
