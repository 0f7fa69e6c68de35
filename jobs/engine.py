"""The one engine every digest job runs through: claim, collect, plan, post, record, resolve.

`run(job, deps, now, ...)` is a whole run, top to bottom: take the job's lease, let the job
collect one snapshot, then for each of the job's channels plan that channel's digest against its
own alert state, post it (main message, then thread replies, or for a long list one CSV file of
it in the main message's thread), record each message's items as it is accepted (a CSV's against
the main message), mark earlier messages whose items were listed again, and show resolved items
in the messages that announced them. `resolve_items` does the last step for items an outside event
(a webhook) reports resolved between runs, and `run(..., snapshot=...)` a whole run on what an
outside event already says (one project's forms) instead of the job's own collect.

Nothing is recorded before Slack accepts a message, so a failed post is retried by the next run,
and one run lists an item in one message only. Before every Slack write the run checks the stop
event (SIGTERM) and renews its lease; a run whose lease was taken over stops without posting.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError, SlackClientError

from jobs import state
from jobs.cards import change_card
from jobs.digest import (
    Channel,
    DigestJob,
    Item,
    LeaseLost,
    Model,
    Run,
    RunResult,
    RunStopped,
    Snapshot,
)
from jobs.plan import Plan, plan_alerts
from jobs.slackpost import SlackPoster, slack_error, slack_failure

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

MODEL_KEEP = timedelta(days=45)  # how long a posted message stays updatable on resolution
# chat.update answers that no retry can fix.
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found", "is_archived"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _upload_failure(exc: Exception) -> str:
    """One line on why a file upload failed, with what to do when it is a setup problem."""
    if not isinstance(exc, SlackApiError):
        # The upload itself (files_upload_v2's step 2) or the network: no Slack error code.
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    why = slack_failure(exc)
    error = slack_error(exc)
    if error == "missing_scope":
        why += "; the app needs the files:write scope: reinstall it from `coperniq-bot manifest`"
    elif error == "not_in_channel":
        why += "; invite the bot to the channel"
    return why


def run(
    job: DigestJob,
    deps: Deps,
    now: datetime,
    *,
    dry_run: bool = False,
    stop: threading.Event | None = None,
    poster: SlackPoster | None = None,
    out: Callable[[str], None] = print,
    clock: Callable[[], datetime] = _utcnow,
    snapshot: Snapshot | Callable[[Run], Snapshot] | None = None,
) -> RunResult:
    """Run one digest job once; a per-item or Slack failure is logged and retried next run.

    `snapshot` replaces `job.collect`: a Snapshot, or a function of the Run called once the lease
    is held (so an event that finds the job busy has cost no Coperniq call). It must cover only
    what it read (its `covers`), since every channel resolves what it covers and no longer lists.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    result = RunResult(job=job.id, dry_run=dry_run)
    channels = job.config.channels(deps.settings, deps.store.db)
    if dry_run and not channels:
        channels = [Channel(None)]  # a preview against the job's state in any channel
    if not dry_run:
        why = job.config.off_reason(deps.settings, deps.store.db)
        if why is None and deps.slack is None:
            why = "SLACK_BOT_TOKEN is not set"
        if why is not None:
            log.warning("%s is off: %s", job.id, why)
            result.ran = False
            result.notes.append(f"off: {why}")
            return result
    db = deps.store.db
    holder = None
    if not dry_run:
        holder = state.acquire_lease(db, job.id, clock=clock)
        if holder is None:
            log.info("%s: another process holds the lease; skipping this run", job.id)
            result.ran = False
            return result
    # A view of its own, so this run's count is not mixed with the other job's or a person's.
    api = deps.coperniq.background.metered()
    ctx = Run(deps, api, now, result, stop or threading.Event(), clock)
    try:
        if snapshot is None:
            seen = job.collect(ctx)
        elif isinstance(snapshot, Snapshot):
            seen = snapshot
        else:
            seen = snapshot(ctx)
        result.notes.extend(seen.notes)
        snoozed = _Snoozed.of(job, db, seen, now)
        slack = None if dry_run else _Slack(job, ctx, holder, poster or SlackPoster(deps.slack))
        for channel in channels:
            _digest(job, ctx, seen, channel, slack, out, snoozed)
        if slack is not None:
            _after_run(job, ctx, seen, snoozed.hidden)
        if slack is not None and result.failed == 0:
            # Their items were listed again; a failed post keeps them, to be woken next run.
            state.end_snoozes(db, job.id, sorted(snoozed.woken))
        if slack is not None:
            # Real time when --now runs ahead: a test run "in two months" must not forget every
            # message.
            state.prune_models(db, min(now, clock()) - MODEL_KEEP)
    except LeaseLost as exc:
        log.warning("%s; this run stops without posting more", exc)
        result.notes.append("stopped: the lease expired and another process took the job over")
        holder = None  # not ours any more: nothing to release
    except RunStopped as exc:
        # Every message posted so far is recorded; the rest is announced by the next run.
        log.warning("%s; the rest is left for the next run", exc)
        result.notes.append("stopped: the process is shutting down; the rest is posted next run")
    finally:
        result.coperniq_calls = api.calls_made
        if holder is not None:
            state.release_lease(db, job.id, holder)
    log.info(result.summary())
    return result


def _after_run(job: DigestJob, ctx: Run, snapshot: Snapshot, snoozed: set[str]) -> None:
    """What else a run's snapshot feeds, at no Coperniq cost: personal notifications (DMs held
    through quiet hours) and the App Homes that show it. A failure there is logged and never
    undoes what the channels got."""
    from bot import home
    from jobs import personal

    for module in (personal, home):
        try:
            ctx.check_stop()
            module.after_run(job, ctx, snapshot, snoozed)
        except RunStopped:
            raise
        except Exception:
            log.exception("%s: %s after the run failed", job.id, module.__name__)


class _Snoozed:
    """Which of a snapshot's items a snooze hides now, and whose snooze has just ended."""

    def __init__(self, hidden: set[str], woken: set[str]) -> None:
        self.hidden = hidden  # still alerting, snoozed: neither announced nor resolved
        self.woken = woken  # still alerting, snooze over: announced again now

    @classmethod
    def of(cls, job: DigestJob, db: Any, snapshot: Snapshot, now: datetime) -> _Snoozed:
        snoozes = state.load_snoozes(db, job.id)
        hidden: set[str] = set()
        woken: set[str] = set()
        for item in snapshot.items:
            snooze = snoozes.get(item.key)
            if snooze is None or item.held:
                continue
            if snooze.active(now, item.view.get("phase")):
                hidden.add(item.key)
            else:
                woken.add(item.key)
        return cls(hidden, woken)


def _digest(
    job: DigestJob,
    ctx: Run,
    snapshot: Snapshot,
    channel: Channel,
    slack: _Slack | None,
    out: Callable[[str], None],
    snoozed: _Snoozed | None = None,
) -> None:
    """Plan, then post (or, in a dry run, print) one channel's digest of the snapshot."""
    snoozed = snoozed or _Snoozed(set(), set())
    digest = snapshot.narrowed(channel.accepts)
    rows = state.load_alerts(ctx.db, job.id, channel.id)
    levels = {k: v for k, v in digest.levels().items() if k not in snoozed.hidden}
    # Still alerting, but no longer what this channel's filters want (a payment took a balance
    # under `min:`, the filters changed): not resolved - its card would say so wrongly - only
    # let go in this channel, so that it is announced afresh if it matches again.
    outside = {i.key for i in snapshot.items if not i.held} - {i.key for i in digest.items}
    plan = plan_alerts(
        levels,
        rows,
        ctx.now,
        realert=job.config.realert(ctx.settings),
        rank=job.rank,
        can_resolve=lambda row: (
            row.item_key not in snoozed.hidden
            and row.item_key not in outside
            and digest.covers(row)
        ),
    )
    let_go = [k for k in outside if k in rows and rows[k].open and k not in snoozed.hidden]
    if let_go and slack is not None and channel.id is not None:
        with ctx.db.conn:
            ctx.db.execute("begin immediate")
            for key in let_go:
                state.record_resolved(ctx.db, job.id, channel.id, key, ctx.now)
    # A snooze that ended lists its item again now, whatever the re-alert interval says.
    for key in [k for k in plan.unchanged if k in snoozed.woken]:
        plan.unchanged.remove(key)
        plan.announce.append(key)
    ctx.result.skipped += len(plan.unchanged) + sum(1 for k in snoozed.hidden if k in rows)
    models = job.build(digest, set(plan.announce), ctx.now, ctx.settings) if plan.announce else []
    if slack is None:
        _preview(job, plan, models, ctx.result, out)
        return
    assert channel.id is not None
    if models:
        slack.post(channel.id, models, rows, digest)
    if plan.resolve:
        slack.resolve(channel.id, plan.resolve, rows)


def _preview(
    job: DigestJob, plan: Plan, models: list[Model], result: RunResult, out: Callable[[str], None]
) -> None:
    """What a dry run prints instead of posting."""
    if models:
        text = job.to_text(models)
        result.texts.append(text)
        out(text)
    else:
        out(f"{job.id}: nothing new to post ({len(plan.unchanged)} item(s) already announced).")
    if plan.resolve:
        out(f"{job.id}: would mark {len(plan.resolve)} earlier item(s) resolved.")
    result.posted += len(plan.announce)
    result.resolved += len(plan.resolve)


def resolve_items(
    job: DigestJob,
    deps: Deps,
    keys: Iterable[str],
    now: datetime,
    *,
    stop: threading.Event | None = None,
    poster: SlackPoster | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> RunResult:
    """Resolve items an outside event reports done, in every channel, updating their messages.

    Takes the job's lease like a run (a run in progress is never raced); when another process
    holds it the result says it did not run and the caller may try again.
    """
    result = RunResult(job=job.id)
    wanted = set(keys)
    db = deps.store.db
    if deps.slack is None or not wanted:
        result.ran = bool(wanted) and deps.slack is not None
        return result
    holder = state.acquire_lease(db, job.id, clock=clock)
    if holder is None:
        result.ran = False
        return result
    ctx = Run(deps, None, now, result, stop or threading.Event(), clock)
    slack = _Slack(job, ctx, holder, poster or SlackPoster(deps.slack))
    try:
        for channel in job.config.channels(deps.settings, db):
            assert channel.id is not None
            rows = state.load_alerts(db, job.id, channel.id)
            due = [
                key
                for key in sorted(wanted)
                if key in rows and rows[key].open and rows[key].message_ts is not None
            ]
            if due:
                slack.resolve(channel.id, due, rows)
    except (LeaseLost, RunStopped) as exc:
        log.warning("%s; the rest is resolved by the next run", exc)
        result.notes.append(str(exc))
    finally:
        state.release_lease(db, job.id, holder)
    return result


class _Slack:
    """One run's Slack writes and what is recorded of them, with the lease kept between writes."""

    def __init__(self, job: DigestJob, ctx: Run, holder: str | None, poster: SlackPoster) -> None:
        self.job, self.ctx, self.holder, self.poster = job, ctx, holder, poster
        self.db = ctx.db
        self.result = ctx.result

    def keep(self) -> None:
        """Called before every Slack write: stop on SIGTERM, keep the lease or stop if lost."""
        # A run slower than the lease (a first sync of 10,000 invoices, a long thread at one
        # message a second, Retry-After waits) keeps it, and a run whose lease lapsed and was
        # taken by another process stops instead of posting twice.
        self.ctx.check_stop()
        if self.holder is not None and not state.renew_lease(
            self.db, self.job.id, self.holder, clock=self.ctx.clock
        ):
            raise LeaseLost(f"{self.job.id}: the lease expired and another process took the job")

    def post(
        self,
        channel: str,
        models: list[Model],
        rows: dict[str, state.AlertRow],
        digest: Snapshot,
    ) -> None:
        """Post a digest's messages (main first), recording each message's items once accepted.

        A long digest's "csv" model is no message: its items go into a CSV file in the main
        message's thread, and are recorded against the main message once Slack accepts the file.
        """
        job, result = self.job, self.result
        items = {i.key: i for i in digest.items}
        result.texts.append(job.to_text(models))
        main: Model | None = None
        main_ts: str | None = None
        # Earlier messages that listed an item announced again now (escalation, reminder).
        superseded: dict[tuple[str, str], list[str]] = defaultdict(list)
        carried = state.carried_acts(self.db, job.id, {i.key: i.view for i in digest.items})
        for model in models:
            keys = [item["key"] for item in model["items"]]
            if model["kind"] == "csv":
                assert main is not None and main_ts is not None  # main is first, or we returned
                if self._attach(channel, main, main_ts, model):
                    self._record_message(channel, main_ts, keys, rows, items, superseded)
                continue
            # What people already did to an item (taken, nudged) stays on its new card.
            acts = {key: carried[key] for key in keys if key in carried}
            if acts:
                model["acts"] = acts
            text, blocks = job.render(model)
            self.keep()
            try:
                ts = self.poster.post(channel, text, blocks, thread_ts=main_ts)
            except Exception as exc:
                # Nothing is recorded for these items, so the next run announces them again.
                if isinstance(exc, SlackApiError):  # Slack said no: one line, not a traceback
                    log.warning(
                        "%s: Slack refused a %s message: %s",
                        job.id,
                        model["kind"],
                        slack_failure(exc),
                    )
                else:
                    log.exception("%s: posting a %s message failed", job.id, model["kind"])
                result.failed += (
                    len(keys) if model["kind"] == "thread" else sum(len(m["items"]) for m in models)
                )
                if main_ts is None:
                    return  # without the main message the replies have nowhere to go
                continue
            if main_ts is None:
                main, main_ts = model, ts
            result.messages += 1
            state.save_model(self.db, job.id, channel, ts, model, self.ctx.now)
            self._record_message(channel, ts, keys, rows, items, superseded)
        self._mark_moved(superseded)

    def _record_message(
        self,
        channel: str,
        ts: str,
        keys: list[str],
        rows: dict[str, state.AlertRow],
        items: dict[str, Item],
        superseded: dict[tuple[str, str], list[str]],
    ) -> None:
        """Record the items Slack accepted in message `ts`, noting earlier messages they were in."""
        with self.db.conn:  # one commit per message, not per item
            self.db.execute("begin immediate")
            for key in keys:
                old = rows.get(key)
                if not self._record(channel, ts, key, items[key].level, items[key].view, old):
                    continue
                if old is not None and old.open and old.message_ts and old.message_ts != ts:
                    superseded[(old.channel or channel, old.message_ts)].append(key)

    def _attach(self, channel: str, main: Model, main_ts: str, model: Model) -> bool:
        """Upload a long digest's full list as a CSV in its main message's thread; accepted?"""
        job, result = self.job, self.result
        rest = len(model["items"])
        try:
            self.keep()
        except (LeaseLost, RunStopped):
            # The run stops here; one quick update keeps the main message from promising a CSV.
            self._show_not_attached(channel, main_ts, keep=False)
            raise
        try:
            content = job.to_csv(main["items"] + model["items"])
            self.poster.upload(
                channel,
                main_ts,
                filename=model["filename"],
                content=content,
                title=model["title"],
                comment=model["comment"],
            )
        except Exception as exc:
            # The main message's items are recorded; the rest are announced by the next run.
            if isinstance(exc, (SlackClientError, OSError)):
                log.warning(
                    "%s: attaching the full list (%d rows) to message %s failed: %s; the next "
                    "run announces the %d item(s) not in the main message",
                    job.id,
                    model["rows"],
                    main_ts,
                    _upload_failure(exc),
                    rest,
                )
            else:
                log.exception("%s: attaching the full list to message %s failed", job.id, main_ts)
            result.failed += rest
            self._show_not_attached(channel, main_ts)
            return False
        result.messages += 1
        return True

    def _show_not_attached(self, channel: str, ts: str, *, keep: bool = True) -> None:
        """Say in the main message that its CSV is missing and its rest comes next run."""

        def not_attached(model: dict[str, Any]) -> None:
            model["attachment"] = {**model.get("attachment", {}), "failed": True}

        if keep:
            self.keep()
        try:
            if change_card(
                self.db, self.job, channel, ts, not_attached, self.ctx.now, self.poster.update
            ):
                self.result.updated += 1
        except Exception:
            # Cosmetic: what was announced is recorded either way.
            log.exception("%s: marking message %s's CSV as missing failed", self.job.id, ts)

    def _record(
        self,
        channel: str,
        ts: str,
        key: str,
        level: str,
        view: Model,
        previous: state.AlertRow | None,
    ) -> bool:
        """Record one item the message `ts` announced; False (logged) when that failed."""
        try:
            state.record_announced(
                self.db,
                self.job.id,
                key=key,
                level=level,
                channel=channel,
                message_ts=ts,
                now=self.ctx.now,
                summary=view,
                previous=previous,
            )
        except Exception:
            log.exception("%s: recording %s failed", self.job.id, key)
            self.result.failed += 1
            return False
        self.result.posted += 1
        return True

    def _mark_moved(self, superseded: dict[tuple[str, str], list[str]]) -> None:
        """Show, in each earlier message, that its item was listed again in a newer one."""
        for (channel, ts), listed in superseded.items():
            # Only what the message shows: items listed only in its CSV change nothing on it,
            # and 30,000 of them would bloat the model re-rendered on every click.
            earlier = state.load_model(self.db, channel, ts)
            shown = {item["key"] for item in earlier["items"]} if earlier else set()
            keys = [key for key in listed if key in shown]
            if not keys:
                continue
            self.keep()

            def moved(model: dict[str, Any], keys: list[str] = keys) -> None:
                model["moved"] = sorted(set(model.get("moved", [])) | set(keys))

            try:
                if change_card(
                    self.db, self.job, channel, ts, moved, self.ctx.now, self.poster.update
                ):
                    self.result.updated += 1
            except Exception:
                # Cosmetic: the item's state is already recorded against the new message.
                log.exception(
                    "%s: marking %d item(s) as listed again in %s failed",
                    self.job.id,
                    len(keys),
                    ts,
                )

    def resolve(self, channel: str, keys: list[str], rows: dict[str, state.AlertRow]) -> None:
        """Show resolved items in the messages that announced them, then record them resolved."""
        job, result = self.job, self.result
        by_message: dict[tuple[str, str], list[str]] = defaultdict(list)
        for key in keys:
            row = rows[key]
            by_message[(row.channel or channel, row.message_ts or "")].append(key)
        for (where, ts), group in by_message.items():
            self.keep()
            try:
                self._show_resolved(where, ts, group)
                with self.db.conn:
                    self.db.execute("begin immediate")
                    for key in group:
                        state.record_resolved(self.db, job.id, channel, key, self.ctx.now)
                    state.forget_items(self.db, job.id, group)
                result.resolved += len(group)
            except Exception as exc:
                # The alerts stay open, so the next run tries the update again.
                if isinstance(exc, SlackApiError):
                    log.warning(
                        "%s: Slack refused showing %d resolved item(s) in message %s: %s",
                        job.id,
                        len(group),
                        ts,
                        slack_failure(exc),
                    )
                else:
                    log.exception(
                        "%s: showing %d resolved item(s) in message %s failed",
                        job.id,
                        len(group),
                        ts,
                    )
                result.failed += len(group)

    def _show_resolved(self, channel: str, ts: str, keys: list[str]) -> None:
        """Re-render one message with `keys` marked resolved (a deleted message is let go)."""

        def resolved(model: dict[str, Any]) -> None:
            model["resolved"] = sorted(set(model.get("resolved", [])) | set(keys))

        try:
            if change_card(
                self.db, self.job, channel, ts, resolved, self.ctx.now, self.poster.update
            ):
                self.result.updated += 1
        except SlackApiError as exc:
            if exc.response.get("error") not in GONE:
                raise
            # Someone deleted the message: nothing left to update, and retrying forever would
            # fail every run.
            log.warning("%s: message %s is gone (%s)", self.job.id, ts, exc.response.get("error"))
