"""The run loop both digest jobs share: lease, collect, plan, post once, record, update."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from jobs import common
from jobs.common import RunResult
from jobs.slackpost import slack_failure

if TYPE_CHECKING:
    from bot.deps import Deps
    from jobs.slackpost import SlackPoster

log = logging.getLogger(__name__)

MODEL_KEEP = timedelta(days=45)  # how long a posted message stays updatable on resolution
# chat.update answers that no retry can fix.
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found", "is_archived"})


@dataclass
class Collected:
    """What a job's collect step hands the runner."""

    levels: dict[str, str]  # item key -> level now, for every item currently alerting
    build: Callable[
        [set[str]], list[dict[str, Any]]
    ]  # announced keys -> message models (main first)
    summary: Callable[[str], dict[str, Any]]  # item key -> what the alert row remembers of it
    can_resolve: Callable[
        [common.AlertRow], bool
    ]  # is our data about this row's item authoritative?
    notes: list[str] = field(default_factory=list)


def run_digest_job(
    deps: Deps,
    now: datetime,
    *,
    job: str,
    channel: str | None,
    collect: Callable[[Deps, Any, datetime, RunResult, dict[str, common.AlertRow]], Collected],
    render: Callable[[dict[str, Any]], tuple[str, list[dict[str, Any]]]],
    to_text: Callable[[list[dict[str, Any]]], str],
    rank: dict[str, int],
    dry_run: bool,
    out: Callable[[str], None],
    realert: timedelta | None,
    poster: SlackPoster | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunResult:
    """Run one digest job once; a per-item or Slack failure is logged and retried next run."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    result = RunResult(job=job, dry_run=dry_run)
    db = deps.store.db
    if not dry_run and (not channel or deps.slack is None):
        why = "its channel is not set" if not channel else "SLACK_BOT_TOKEN is not set"
        log.warning("%s is off: %s", job, why)
        result.ran = False
        result.notes.append(f"off: {why}")
        return result
    holder = None
    if not dry_run:
        holder = common.acquire_lease(db, job, clock=clock)
        if holder is None:
            log.info("%s: another process holds the lease; skipping this run", job)
            result.ran = False
            return result
    # A view of its own, so this run's count is not mixed with the other job's or a person's.
    api = deps.coperniq.background.metered()

    def keep() -> None:
        # Called before every Slack write: a run slower than the lease (a first sync of 10,000
        # invoices, a long thread at one message a second, Retry-After waits) keeps it, and a run
        # whose lease lapsed and was taken by another process stops instead of posting twice.
        if common.SHUTDOWN.is_set():
            raise common.RunStopped(f"{job}: the process is shutting down")
        if holder is not None and not common.renew_lease(db, job, holder, clock=clock):
            raise common.LeaseLost(f"{job}: the lease expired and another process took the job")

    try:
        _run_locked(
            deps,
            api,
            now,
            job,
            channel,
            collect,
            render,
            to_text,
            rank,
            dry_run,
            out,
            realert,
            poster,
            result,
            keep,
            clock,
        )
    except common.LeaseLost as exc:
        log.warning("%s; this run stops without posting more", exc)
        result.notes.append("stopped: the lease expired and another process took the job over")
        holder = None  # not ours any more: nothing to release
    except common.RunStopped as exc:
        # Every message posted so far is recorded; the rest is announced by the next run.
        log.warning("%s; the rest is left for the next run", exc)
        result.notes.append("stopped: the process is shutting down; the rest is posted next run")
    finally:
        result.coperniq_calls = api.calls_made
        if holder is not None:
            common.release_lease(db, job, holder)
    log.info(result.summary())
    return result


def _run_locked(
    deps: Deps,
    api: Any,
    now: datetime,
    job: str,
    channel: str | None,
    collect: Callable[..., Collected],
    render: Callable[..., Any],
    to_text: Callable[..., str],
    rank: dict[str, int],
    dry_run: bool,
    out: Callable[[str], None],
    realert: timedelta | None,
    poster: SlackPoster | None,
    result: RunResult,
    keep: Callable[[], None] = lambda: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    db = deps.store.db
    rows = common.load_alerts(db, job)
    got = collect(deps, api, now, result, rows)
    result.notes.extend(got.notes)
    plan = common.plan_alerts(
        got.levels, rows, now, realert=realert, rank=rank, can_resolve=got.can_resolve
    )
    result.skipped = len(plan.unchanged)
    models = got.build(set(plan.announce)) if plan.announce else []

    if dry_run:
        if models:
            text = to_text(models)
            result.texts.append(text)
            out(text)
        else:
            out(f"{job}: nothing new to post ({len(plan.unchanged)} item(s) already announced).")
        if plan.resolve:
            out(f"{job}: would mark {len(plan.resolve)} earlier item(s) resolved.")
        result.posted = len(plan.announce)
        result.resolved = len(plan.resolve)
        return

    from jobs.slackpost import SlackPoster

    assert channel is not None and deps.slack is not None
    poster = poster or SlackPoster(deps.slack)
    if models:
        _post(deps, now, job, channel, models, render, to_text, rows, got, poster, result, keep)
    if plan.resolve:
        _resolve(deps, now, job, plan.resolve, rows, render, poster, result, keep)
    # Real time when --now runs ahead: a test run "in two months" must not forget every message.
    common.prune_models(db, min(now, clock()) - MODEL_KEEP)


def _post(
    deps: Deps,
    now: datetime,
    job: str,
    channel: str,
    models: list[dict[str, Any]],
    render: Callable[..., Any],
    to_text: Callable[..., str],
    rows: dict[str, common.AlertRow],
    got: Collected,
    poster: SlackPoster,
    result: RunResult,
    keep: Callable[[], None],
) -> None:
    db = deps.store.db
    result.texts.append(to_text(models))
    main_ts: str | None = None
    # Earlier messages that listed an item announced again now (escalation, reminder).
    superseded: dict[tuple[str, str], list[str]] = defaultdict(list)
    for model in models:
        keys = [item["key"] for item in model["items"]]
        text, blocks = render(model)
        keep()
        try:
            ts = poster.post(channel, text, blocks, thread_ts=main_ts)
        except Exception as exc:
            # Nothing is recorded for these items, so the next run announces them again.
            if isinstance(exc, SlackApiError):  # Slack said no: one line, not a traceback
                log.warning(
                    "%s: Slack refused a %s message: %s", job, model["kind"], slack_failure(exc)
                )
            else:
                log.exception("%s: posting a %s message failed", job, model["kind"])
            result.failed += (
                len(keys) if model["kind"] == "thread" else sum(len(m["items"]) for m in models)
            )
            if main_ts is None:
                return  # without the main message the replies have nowhere to go
            continue
        if main_ts is None:
            main_ts = ts
        result.messages += 1
        common.save_model(db, channel, ts, model, now)
        with db.conn:  # one commit per message, not per item
            db.execute("begin immediate")
            _record_part(db, job, channel, ts, keys, now, rows, got, result, superseded)
    _mark_moved(deps, now, job, superseded, render, poster, result, keep)


def _record_part(
    db: Any,
    job: str,
    channel: str,
    ts: str,
    keys: list[str],
    now: datetime,
    rows: dict[str, common.AlertRow],
    got: Collected,
    result: RunResult,
    superseded: dict[tuple[str, str], list[str]],
) -> None:
    """Record the items one posted message announced."""
    for key in keys:
        try:
            common.record_announced(
                db,
                job,
                key=key,
                level=got.levels[key],
                channel=channel,
                message_ts=ts,
                now=now,
                summary=got.summary(key),
                previous=rows.get(key),
            )
            result.posted += 1
        except Exception:
            log.exception("%s: recording %s failed", job, key)
            result.failed += 1
            continue
        old = rows.get(key)
        if old is not None and old.open and old.message_ts and old.message_ts != ts:
            superseded[(old.channel or channel, old.message_ts)].append(key)


def _mark_moved(
    deps: Deps,
    now: datetime,
    job: str,
    superseded: dict[tuple[str, str], list[str]],
    render: Callable[..., Any],
    poster: SlackPoster,
    result: RunResult,
    keep: Callable[[], None],
) -> None:
    """Show, in each earlier message, that its item was listed again in a newer one."""
    db = deps.store.db
    for (channel, ts), keys in superseded.items():
        keep()
        try:
            model = common.load_model(db, channel, ts)
            if model is None:
                continue
            model["moved"] = sorted(set(model.get("moved", [])) | set(keys))
            text, blocks = render(model)
            poster.update(channel, ts, text, blocks)
            common.save_model(db, channel, ts, model, now)
            result.updated += 1
        except Exception:
            # Cosmetic: the item's state is already recorded against the new message.
            log.exception("%s: marking %d item(s) as listed again in %s failed", job, len(keys), ts)


def _resolve(
    deps: Deps,
    now: datetime,
    job: str,
    keys: list[str],
    rows: dict[str, common.AlertRow],
    render: Callable[..., Any],
    poster: SlackPoster,
    result: RunResult,
    keep: Callable[[], None],
) -> None:
    db = deps.store.db
    by_message: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in keys:
        row = rows[key]
        by_message[(row.channel or "", row.message_ts or "")].append(key)
    for (channel, ts), group in by_message.items():
        keep()
        try:
            model = common.load_model(db, channel, ts)
            if model is not None:
                model["resolved"] = sorted(set(model.get("resolved", [])) | set(group))
                text, blocks = render(model)
                try:
                    poster.update(channel, ts, text, blocks)
                    result.updated += 1
                except SlackApiError as exc:
                    if exc.response.get("error") not in GONE:
                        raise
                    # Someone deleted the message: nothing left to update, and retrying forever
                    # would fail every run.
                    log.warning("%s: message %s is gone (%s)", job, ts, exc.response.get("error"))
                common.save_model(db, channel, ts, model, now)
            with db.conn:
                db.execute("begin immediate")
                for key in group:
                    common.record_resolved(db, job, key, now)
            result.resolved += len(group)
        except Exception as exc:
            # The alerts stay open, so the next run tries the update again.
            if isinstance(exc, SlackApiError):
                log.warning(
                    "%s: Slack refused showing %d resolved item(s) in message %s: %s",
                    job,
                    len(group),
                    ts,
                    slack_failure(exc),
                )
            else:
                log.exception(
                    "%s: showing %d resolved item(s) in message %s failed", job, len(group), ts
                )
            result.failed += len(group)
