"""Personal notifications (issue 10), opt-in from the App Home (`notify_prefs`).

- A DM when a form assigned to me goes past its yellow or red SLA: after each form-sla run, from
  the run's snapshot (jobs.personal.forms); once per level, again on escalation, never about a
  form I took myself at that level.
- The morning summary at MORNING_DIGEST_CRON (jobs.personal.morning): my open forms, the projects
  past SLA where I hold a form of the current phase, and for billing roles my clients' overdue
  invoices; no DM when there is nothing to say.
- Quiet hours (QUIET_HOURS): a DM created then waits in `dm_outbox` until they end; the outbox is
  flushed after every run and every FLUSH_MINUTES by the scheduler (jobs.personal.outbox).

None of it calls Coperniq: everything comes from the snapshot and the store the runs keep.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from jobs.personal import forms, morning, outbox

if TYPE_CHECKING:
    from bot.deps import Deps
    from jobs.digest import DigestJob, Run, Snapshot

log = logging.getLogger(__name__)

MORNING_JOB = morning.JOB_ID
FLUSH_JOB = "dm-outbox"
FLUSH_MINUTES = 5


def after_run(job: DigestJob, run: Run, snapshot: Snapshot, snoozed: set[str]) -> None:
    """Queue (and send when not quiet) the DMs a run's snapshot calls for."""
    if job.id == forms.JOB:
        counts = forms.after_run(run, snapshot, snoozed)
        if any(counts.values()):
            log.info(
                "%s: personal DMs: %d queued, %d not sent (the person took the form), %d dropped",
                job.id,
                counts["queued"],
                counts["own"],
                counts["dropped"],
            )
    # Invoices are in the morning summary only; any run is a chance to send what is due.
    if run.deps.slack is not None:
        done = outbox.flush(run.db, run.deps.slack, run.now, check_stop=run.check_stop)
        if done.sent or done.failed or done.gave_up:
            log.info("%s: DM outbox: %s", job.id, done)


def morning_summary(deps: Deps, now: datetime) -> str:
    """Queue today's morning summaries and send what is due; one line saying what it did."""
    counts = morning.queue(deps.store.db, deps.settings, now)
    line = (
        f"{MORNING_JOB}: {counts['queued']} summary DM(s) queued, {counts['nothing']} with "
        f"nothing to say, {counts['already']} already queued today"
    )
    if deps.slack is not None:
        line += f"; outbox: {outbox.flush(deps.store.db, deps.slack, now)}"
    log.info(line)
    return line


def flush_outbox(deps: Deps, now: datetime) -> outbox.Flushed:
    """Send the DMs that are due (quiet hours over, or a failed post to retry)."""
    if deps.slack is None:
        return outbox.Flushed()
    done = outbox.flush(deps.store.db, deps.slack, now)
    outbox.prune(deps.store.db, now)
    return done
