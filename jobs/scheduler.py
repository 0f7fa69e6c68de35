"""APScheduler wiring: each job of the registry on its crontab, a catch-up after a restart.

What runs is the engine (jobs.engine.run); this module only decides when. A run missed by a
restart (or a busy process) still happens if the process is back within MISFIRE_GRACE_MINUTES.
APScheduler's misfire grace covers a running scheduler only (its in-memory job store forgets
everything on exit), so a restart's catch-up is done here from each job's last recorded run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from bot.crontab import crontab_day_of_week, crontab_trigger  # noqa: F401 - re-exported
from jobs import engine, personal, state
from jobs.digest import DigestJob
from jobs.registry import JOBS
from jobs.workorders import job as workorders_job

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.deps import Deps

log = logging.getLogger(__name__)

MISFIRE_GRACE_MINUTES = 30


@dataclass(frozen=True)
class JobInfo:
    """What `jobs list` shows for one job."""

    id: str
    title: str
    cron: str
    channel: str | None
    next_run: datetime | None  # in the business time zone; None when off
    error: str | None = None  # why the crontab cannot be scheduled
    off_reason: str | None = None  # why the job is off otherwise (JobSettings.off_reason)

    @property
    def on(self) -> bool:
        return self.off_reason is None and self.error is None


def trigger_for(settings: Settings, job: DigestJob) -> CronTrigger:
    """The job's crontab as a trigger in BOT_TIMEZONE."""
    return crontab_trigger(job.config.cron(settings), settings.timezone)


def job_infos(
    settings: Settings, now: datetime | None = None, db: Database | None = None
) -> list[JobInfo]:
    """Every job's id, schedule, channel and next run, without touching Coperniq or Slack."""
    now = (now or datetime.now(UTC)).astimezone(settings.timezone)
    out = []
    for job in JOBS.values():
        error = None
        try:
            nxt = trigger_for(settings, job).get_next_fire_time(None, now)
        except ValueError as exc:
            nxt, error = None, str(exc)
        out.append(
            JobInfo(
                id=job.id,
                title=job.title,
                cron=job.config.cron(settings),
                channel=", ".join(c.id or "-" for c in job.config.channels(settings, db)) or None,
                next_run=nxt.astimezone(settings.timezone) if nxt else None,
                error=error,
                off_reason=job.config.off_reason(settings, db),
            )
        )
    return out


def missed_fire_time(
    trigger: CronTrigger,
    last: datetime | None,
    now: datetime,
    grace: timedelta = timedelta(minutes=MISFIRE_GRACE_MINUTES),
) -> datetime | None:
    """The latest fire time within `grace` before `now` that no run has covered, if any.

    A job with no recorded run has missed nothing: a brand-new install (or a job just switched on)
    starts with the schedule, not with a catch-up of a tick from before it existed.
    """
    if last is None:
        return None
    latest = None
    fire = trigger.get_next_fire_time(None, now - grace)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    if latest is None or last >= latest:
        return None
    return latest


def _after_lease(deps: Deps, job: DigestJob, now: datetime) -> datetime:
    """Now, or just after a lease still held (a process killed mid-run leaves one until expiry)."""
    expires = state.lease_expiry(deps.store.db, job.id)
    return now if expires is None else max(now, expires + timedelta(seconds=30))


def _scheduled(deps: Deps, job: DigestJob, stop: threading.Event) -> None:
    # What APScheduler calls: a failing run is logged and the next tick tries again; the other job
    # runs in its own thread and is untouched.
    started = datetime.now(UTC)
    try:
        result = engine.run(job, deps, started, stop=stop, out=log.info)
    except Exception:
        log.exception("scheduled job %s failed", job.id)
        return
    if result.ran:
        # Written once the run is over: a process killed mid-run catches the run up on restart.
        state.record_last_run(deps.store.db, job.id, started, result.summary())


def _scheduled_morning(deps: Deps) -> None:
    # The morning summary reads only the store, so it needs no lease: a second process queues
    # nothing new (one DM per person and day) and the outbox sends each DM once.
    started = datetime.now(UTC)
    try:
        summary = personal.morning_summary(deps, started)
    except Exception:
        log.exception("scheduled job %s failed", personal.MORNING_JOB)
        return
    state.record_last_run(deps.store.db, personal.MORNING_JOB, started, summary)
    try:
        workorders_job.morning(deps, started)  # the technicians' cards, right after
    except Exception:
        log.exception("scheduled job %s failed", workorders_job.JOB_ID)


def _scheduled_workorders(deps: Deps) -> None:
    try:
        workorders_job.tick(deps, datetime.now(UTC))
    except Exception:
        log.exception("scheduled job %s failed", workorders_job.JOB_ID)


def _scheduled_flush(deps: Deps) -> None:
    try:
        personal.flush_outbox(deps, datetime.now(UTC))
    except Exception:
        log.exception("scheduled job %s failed", personal.FLUSH_JOB)


def _add_personal_jobs(scheduler: BackgroundScheduler, deps: Deps, now: datetime) -> None:
    """The morning summary on MORNING_DIGEST_CRON, and the DM outbox flushed every few minutes.

    The flush runs on a short interval rather than once at the end of the quiet hours: failed
    posts need retrying at any hour, a process that was down at 07:00 still sends what waited,
    and a flush with nothing due is one indexed SQLite query and no Slack call.
    """
    settings = deps.settings
    try:
        trigger = crontab_trigger(settings.morning_digest_cron, settings.timezone)
    except ValueError:
        log.exception("job %s is off: cannot schedule %r", personal.MORNING_JOB,
                      settings.morning_digest_cron)  # fmt: skip
    else:
        extra = {}
        missed = missed_fire_time(trigger, state.last_run(deps.store.db, personal.MORNING_JOB), now)
        if missed is not None:
            log.info("job %s: the summary of %s was missed; sending it now", personal.MORNING_JOB,
                     missed.astimezone(settings.timezone).strftime("%a %H:%M"))  # fmt: skip
            extra["next_run_time"] = now
        scheduler.add_job(
            _scheduled_morning,
            trigger=trigger,
            args=(deps,),
            id=personal.MORNING_JOB,
            name="Morning summaries (personal DMs)",
            replace_existing=True,
            **extra,
        )
    scheduler.add_job(
        _scheduled_flush,
        trigger=CronTrigger(minute=f"*/{personal.FLUSH_MINUTES}", timezone=settings.timezone),
        args=(deps,),
        id=personal.FLUSH_JOB,
        name="Send waiting DMs (quiet hours over, retries)",
        replace_existing=True,
    )
    scheduler.add_job(
        _scheduled_workorders,
        trigger=CronTrigger(minute=f"*/{workorders_job.FLUSH_MINUTES}", timezone=settings.timezone),
        args=(deps,),
        id=workorders_job.JOB_ID,
        name="Work-order cards: post waiting ones, light sweep on card days",
        replace_existing=True,
    )


def build_scheduler(
    deps: Deps, now: datetime | None = None, stop: threading.Event | None = None
) -> BackgroundScheduler:
    """A scheduler with every job that is on (not started); off jobs are logged."""
    settings = deps.settings
    now = now or datetime.now(UTC)
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(
        timezone=settings.timezone,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_MINUTES * 60,
        },
    )
    for job in JOBS.values():
        off = job.config.off_reason(settings, deps.store.db)
        if off is not None and deps.slack is None:
            log.info("job %s is off: %s", job.id, off)
            continue
        # With Slack, a job with no subscription yet is still scheduled: a channel may subscribe
        # or a person opt in at any time, and a run with nobody to serve stops before Coperniq.
        try:
            trigger = trigger_for(settings, job)
        except ValueError:
            # Settings accepted it (APScheduler syntax) but it is no standard crontab: the other
            # job still runs.
            log.exception("job %s is off: cannot schedule %r", job.id, job.config.cron(settings))
            continue
        extra = {}
        missed = missed_fire_time(trigger, state.last_run(deps.store.db, job.id), now)
        if missed is not None:
            log.info(
                "job %s: the run of %s was missed while the bot was down; running it now",
                job.id,
                missed.astimezone(settings.timezone).strftime("%a %H:%M"),
            )
            extra["next_run_time"] = _after_lease(deps, job, now)
        scheduler.add_job(
            _scheduled,
            trigger=trigger,
            args=(deps, job, stop),
            id=job.id,
            name=job.title,
            replace_existing=True,
            **extra,
        )
        log.info(
            "job %s on: %s (%s) -> %s",
            job.id,
            job.config.cron(settings),
            settings.timezone,
            ", ".join(c.id or "-" for c in job.config.channels(settings, deps.store.db))
            or f"nobody yet ({off})",
        )
    if deps.slack is not None:
        _add_personal_jobs(scheduler, deps, now)
    return scheduler


def start_background(deps: Deps, stop: threading.Event) -> Callable[[], None]:
    """Start the jobs in background threads; returns the function that stops them.

    `stop` is the process's shutdown signal: once set, a running job stops before its next
    Slack write, so stopping the scheduler does not wait long.
    """
    scheduler = build_scheduler(deps, stop=stop)
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("job %s next run %s", job.id, job.next_run_time)

    def shutdown() -> None:
        if scheduler.running:
            stop.set()
            scheduler.shutdown(wait=True)

    return shutdown
