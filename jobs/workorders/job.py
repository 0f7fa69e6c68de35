"""When the work-order sweep and cards run; what each run costs in Coperniq calls.

- `morning` (MORNING_DIGEST_CRON, beside the morning summary): one sweep (a first run lists every
  work order once, pages of 100; later runs list what changed since the watermark, usually one
  call), then today's cards are queued and posted (or held through quiet hours).
- `tick` (every FLUSH_MINUTES): posts cards whose quiet hours ended (no Coperniq call); and, on a
  day cards went out, outside quiet hours, a light sweep at most every LIGHT_SWEEP: it catches
  status changes made in Coperniq when no webhook Automation is set up, and updates the cards.
  Cards also change at once from Slack clicks and TASK_* webhooks, which need no sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from jobs import state
from jobs.personal.quiet import deliver_at
from jobs.slackpost import SlackPoster
from jobs.times import parse_instant
from jobs.workorders import JOB_ID, cards
from jobs.workorders.sweep import LAST_SWEEP_AT, sweep

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

FLUSH_MINUTES = 5
LIGHT_SWEEP = timedelta(minutes=30)


def _poster(deps: Deps, poster: SlackPoster | None) -> SlackPoster | None:
    if poster is not None:
        return poster
    return SlackPoster(deps.slack) if deps.slack is not None else None


def sweep_and_refresh(deps: Deps, now: datetime, poster: SlackPoster | None = None) -> str:
    """One shared sweep, then every posted card whose work order changed is updated."""
    db = deps.store.db
    outcome = sweep(db, deps.coperniq.background, deps.coperniq.budget, now)
    poster = _poster(deps, poster)
    updated = 0
    if poster is not None:
        for wo_id in outcome.changed:
            updated += cards.refresh(db, deps.settings, poster, wo_id, now)
    line = (
        f"{JOB_ID}: {outcome.mode} sweep, {outcome.fetched} work order(s) listed, "
        f"{len(outcome.changed)} changed, {updated} card(s) updated"
    )
    if outcome.note:
        line += f"; {outcome.note}"
    return line


def morning(deps: Deps, now: datetime, poster: SlackPoster | None = None) -> str:
    """Sweep, queue today's cards, post what is not held by quiet hours; one line saying so."""
    line = sweep_and_refresh(deps, now, poster)
    queued = cards.queue(deps.store.db, deps.settings, now)
    line += f"; {queued.cards} card(s) queued for {queued.people} person(s)"
    poster = _poster(deps, poster)
    if poster is not None:
        line += f"; {cards.flush(deps.store.db, deps.settings, poster, now)} posted"
    log.info(line)
    return line


def tick(deps: Deps, now: datetime, poster: SlackPoster | None = None) -> str:
    """Post waiting cards; a light sweep when cards are out today and the last is old enough."""
    poster = _poster(deps, poster)
    if poster is None:
        return f"{JOB_ID}: no Slack client"
    db, settings = deps.store.db, deps.settings
    posted = cards.flush(db, settings, poster, now)
    line = f"{JOB_ID}: {posted} card(s) posted"
    quiet = deliver_at(now, settings.timezone, settings.quiet_hours) > now
    last = state.sync_get(db, LAST_SWEEP_AT)
    due = last is None or now - parse_instant(last) >= LIGHT_SWEEP
    if not quiet and due and cards.posted_today(db, now, settings.timezone):
        line += "; " + sweep_and_refresh(deps, now, poster)
    return line
