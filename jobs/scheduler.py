"""The scheduler wiring in one place: the jobs, their crontabs and channels, APScheduler."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from bot.crontab import crontab_day_of_week, crontab_trigger  # noqa: F401 - re-exported
from bot.store import iso, kv_get, kv_set
from jobs import common

if TYPE_CHECKING:
    from bot.deps import Deps
    from jobs.common import RunResult

log = logging.getLogger(__name__)

# A run missed by a restart (or a busy process) still happens if the process is back within this.
# APScheduler's misfire grace covers a running scheduler only (its in-memory job store forgets
# everything on exit), so a restart's catch-up is done here from each job's last run in `kv`.
MISFIRE_GRACE_MINUTES = 30
JOB_IDS = ("overdue-invoices", "form-sla")


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: id, the module with its run(), the settings naming crontab and channel."""

    id: str
    module: str
    cron_setting: str
    channel_setting: str
    title: str


SPECS: dict[str, JobSpec] = {
    "overdue-invoices": JobSpec(
        "overdue-invoices",
        "jobs.overdue_invoices",
        "invoice_alert_cron",
        "invoice_alert_channel",
        "Overdue invoices digest",
    ),
    "form-sla": JobSpec(
        "form-sla",
        "jobs.form_sla",
        "sla_alert_cron",
        "sla_alert_channel",
        "Forms past their phase SLA",
    ),
}


@dataclass(frozen=True)
class JobInfo:
    """What `jobs list` shows for one job."""

    id: str
    title: str
    cron: str
    channel: str | None
    next_run: datetime | None  # in the business time zone; None when off
    error: str | None = None  # why the crontab cannot be scheduled

    @property
    def on(self) -> bool:
        return bool(self.channel) and self.error is None


def trigger_for(settings: Settings, job_id: str) -> CronTrigger:
    """The job's crontab as a trigger in BOT_TIMEZONE."""
    spec = SPECS[job_id]
    return crontab_trigger(getattr(settings, spec.cron_setting), settings.timezone)


def job_infos(settings: Settings, now: datetime | None = None) -> list[JobInfo]:
    """Every job's id, schedule, channel and next run, without touching Coperniq or Slack."""
    now = (now or datetime.now(UTC)).astimezone(settings.timezone)
    out = []
    for spec in SPECS.values():
        channel = getattr(settings, spec.channel_setting)
        error = None
        try:
            nxt = trigger_for(settings, spec.id).get_next_fire_time(None, now)
        except ValueError as exc:
            nxt, error = None, str(exc)
        out.append(
            JobInfo(
                id=spec.id,
                title=spec.title,
                cron=getattr(settings, spec.cron_setting),
                channel=channel,
                next_run=nxt.astimezone(settings.timezone) if nxt else None,
                error=error,
            )
        )
    return out


def run_job(deps: Deps, job_id: str, now: datetime | None = None, **kwargs: object) -> RunResult:
    """Run one job once (the CLI's `jobs run`)."""
    module = importlib.import_module(SPECS[job_id].module)
    return module.run(deps, now or datetime.now(UTC), **kwargs)


def _last_run_key(job_id: str) -> str:
    return f"job-last-run:{job_id}"


def last_run(deps: Deps, job_id: str) -> datetime | None:
    """When a scheduled run of the job last started and ran to its end (any process)."""
    raw = kv_get(deps.store.db, _last_run_key(job_id))
    return datetime.fromisoformat(raw) if raw else None


def record_last_run(deps: Deps, job_id: str, started: datetime) -> None:
    """Remember that a scheduled run that started at `started` ran to its end."""
    kv_set(deps.store.db, _last_run_key(job_id), iso(started))


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


def _after_lease(deps: Deps, job_id: str, now: datetime) -> datetime:
    """Now, or just after a lease still held (a process killed mid-run leaves one until expiry)."""
    row = deps.store.db.execute(
        "select expires_at from job_leases where job = ?", [job_id]
    ).fetchone()
    if row is None:
        return now
    expires = datetime.fromisoformat(row[0])
    return max(now, expires + timedelta(seconds=30))


def _scheduled(deps: Deps, job_id: str) -> None:
    # What APScheduler calls: a failing run is logged and the next tick tries again; the other job
    # runs in its own thread and is untouched.
    started = datetime.now(UTC)
    try:
        result = run_job(deps, job_id, started, out=log.info)
    except Exception:
        log.exception("scheduled job %s failed", job_id)
        return
    if result.ran:
        # Written once the run is over: a process killed mid-run catches the run up on restart.
        record_last_run(deps, job_id, started)


def build_scheduler(deps: Deps, now: datetime | None = None) -> BackgroundScheduler:
    """A scheduler with every job whose channel is set (not started); off jobs are logged."""
    settings = deps.settings
    now = now or datetime.now(UTC)
    scheduler = BackgroundScheduler(
        timezone=settings.timezone,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_MINUTES * 60,
        },
    )
    for spec in SPECS.values():
        channel = getattr(settings, spec.channel_setting)
        if not channel:
            log.info(
                "job %s is off: %s is not set",
                spec.id,
                "INVOICE_ALERT_CHANNEL" if spec.id == "overdue-invoices" else "SLA_ALERT_CHANNEL",
            )
            continue
        try:
            trigger = trigger_for(settings, spec.id)
        except ValueError:
            # Settings accepted it (APScheduler syntax) but it is no standard crontab: the other
            # job still runs.
            log.exception(
                "job %s is off: cannot schedule %r", spec.id, getattr(settings, spec.cron_setting)
            )
            continue
        extra = {}
        missed = missed_fire_time(trigger, last_run(deps, spec.id), now)
        if missed is not None:
            log.info(
                "job %s: the run of %s was missed while the bot was down; running it now",
                spec.id,
                missed.astimezone(settings.timezone).strftime("%a %H:%M"),
            )
            extra["next_run_time"] = _after_lease(deps, spec.id, now)
        scheduler.add_job(
            _scheduled,
            trigger=trigger,
            args=(deps, spec.id),
            id=spec.id,
            name=spec.title,
            replace_existing=True,
            **extra,
        )
        log.info(
            "job %s on: %s (%s) -> %s",
            spec.id,
            getattr(settings, spec.cron_setting),
            settings.timezone,
            channel,
        )
    return scheduler


def start_background(deps: Deps) -> Callable[[], None]:
    """Start the jobs in background threads; returns the function that stops them."""
    scheduler = build_scheduler(deps)
    common.SHUTDOWN.clear()
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("job %s next run %s", job.id, job.next_run_time)

    def stop() -> None:
        if scheduler.running:
            # A running job stops before its next Slack write, so the wait below is short.
            common.SHUTDOWN.set()
            try:
                scheduler.shutdown(wait=True)
            finally:
                common.SHUTDOWN.clear()

    return stop
