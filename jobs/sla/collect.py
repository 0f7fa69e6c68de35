"""The projects and form lists a form-sla digest is built from, read within the budget.

The `projects` table is a local copy of Coperniq's projects. A run lists only the projects
updated since the last listing (`updated_after`, from the newest `updatedAt` seen, less
SYNC_OVERLAP) and upserts them; the first run of the local day (or when the last full sweep is
over FULL_SWEEP_EVERY old, or the copy is empty) lists every project instead, and only such a
complete sweep drops projects no longer listed (each confirmed gone by a 404 first). Projects a
phase webhook marked for re-reading (`updated_at` cleared) are read one by one, at most
REREAD_PER_RUN a run.

Time in phase is computed, not listed: when a project is read its phase start is kept as the
read time less `timeInStageDays` (kept as it was while later reads still agree with it, so it
does not drift), and every run computes the days and the SLA level at `now`. A threshold crossed
between two reads is seen without a read.

Doubt: whether a phase change moves a project's `updatedAt` is not documented. If it does not,
`updated_after` listings miss phase moves, and only the daily full sweep (or a phase webhook)
sees them; `check --deep` reports which it is on the real account. Until the sweep, such a
project keeps its old phase here: its alerts are neither resolved nor announced anew wrongly
(a new stay starts below every SLA), only late to resolve.

Only projects at or past yellow have their forms read, and a project's form list is reused from
`form_cache` until its phase instance changes or FORMS_TTL passes (at most REFRESH_PER_RUN stale
lists are re-read per run). A stale list is never the basis of an announcement or a resolution:
its project is withheld until a run re-reads it.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.coperniq.errors import (
    BudgetExceeded,
    ConnectionFailed,
    CoperniqError,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
)
from bot.store import iso
from jobs import state
from jobs.digest import Run
from jobs.plan import escalates, reminder_due
from jobs.sla import JOB_ID
from jobs.sla.select import (
    LEVEL_RANK,
    FormAlert,
    at_risk,
    current_phase,
    phase_key,
    project_trades,
    select,
    sla_level,
    sla_threshold,
)
from jobs.times import local_today, parse_instant

log = logging.getLogger(__name__)

FORMS_TTL = timedelta(hours=6)  # a cached form list is re-read after this, even in the same phase
REFRESH_PER_RUN = 10  # stale form lists re-read per run, so a run's cost stays flat
PAGE_SIZE = 100
FULL_SWEEP_EVERY = timedelta(hours=24)  # and the first run of each local day
# Re-list a little before the watermark: Coperniq's clock and commits race ours.
SYNC_OVERLAP = timedelta(minutes=10)
REREAD_PER_RUN = 25  # projects a phase webhook marked for re-reading, read one by one per run
CONFIRM_GONE = 20  # projects missing from a full sweep asked for by id (404: deleted) per sweep
DAY = timedelta(days=1)
PROJECTS_LISTED = "form-sla.projects_listed"  # sync_state: how many projects the last sweep had
WATERMARK = "form-sla.projects_watermark"  # newest updatedAt listed (capped at the listing start)
FULL_SWEEP_AT = "form-sla.projects_full_sweep_at"  # when the last complete full sweep started

Project = Mapping[str, Any]


@dataclass
class FormsSeen:
    """What one run learnt: the forms past SLA, and which projects it can speak for."""

    alerts: list[FormAlert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    listing_complete: bool = False
    known: set[int] = field(default_factory=set)  # projects whose form list this run holds
    at_risk: set[int] = field(default_factory=set)  # projects at or past yellow now
    withheld: set[int] = field(default_factory=set)  # stale lists not re-read: neither way
    # Projects whose state the local copy holds as current (kept up to date by this run's
    # listing): one of them not at risk has left its phase, the SLA or ACTIVE.
    current: set[int] = field(default_factory=set)

    def covers(self, project_id: int) -> bool:
        """May an open alert of this project that is no longer listed be resolved?"""
        if project_id in self.withheld:
            return False  # its list is stale: neither announced nor resolved this run
        if project_id in self.known:
            return True  # we know this project's forms now: the form is done or no longer in phase
        if project_id in self.at_risk:
            return False  # at risk, but its forms were not read (budget): neither way
        # Not at risk any more (left the phase, below yellow, no longer active): its current row
        # says so. Only a complete listing can tell that a project is gone.
        return self.listing_complete or project_id in self.current


def collect(
    run: Run, *, realert: timedelta | None, forms_ttl: timedelta, refresh_per_run: int
) -> FormsSeen:
    """Sync the project copy, read the form lists needed (cache first), select forms past SLA."""
    seen = FormsSeen()
    if not _sync_projects(run, seen):
        return seen
    active, projects, current = local_projects(run.db, run.now)
    seen.current = current
    risky = at_risk(projects)
    seen.at_risk = {int(p["id"]) for p, _ in risky}
    forms, todo, counts = _plan_reads(run, risky, seen, realert, forms_ttl, refresh_per_run)
    log.info(
        "%s: %d active project(s) in the local copy, %d at or past yellow; %d form list(s) to "
        "read, %d stale to refresh; %d request(s) available for background work",
        JOB_ID,
        active,
        len(risky),
        *counts,
        run.deps.coperniq.budget.available_for_background(),
    )
    _read_forms(run, todo, forms, seen)
    seen.known = set(forms)
    seen.alerts = select(projects, forms, run.now, run.settings.timezone)
    return seen


def _budget_note(available: int, what: str) -> str:
    return (
        f"{what}: the background share of the daily Coperniq request budget is used up "
        f"({available} request(s) left; the rest is kept for people using the bot in Slack)."
    )


def _want_full(run: Run, last_full: str | None, watermark: str | None) -> bool:
    """Is this run the day's full sweep?"""
    if last_full is None or watermark is None or not run.db["projects"].count:
        return True
    at = parse_instant(last_full)
    tz = run.settings.timezone
    return run.now - at >= FULL_SWEEP_EVERY or local_today(run.now, tz) != local_today(at, tz)


def _sync_projects(run: Run, seen: FormsSeen) -> bool:
    """Bring the local copy up to date; False when this run can decide nothing (budget, errors)."""
    budget = run.deps.coperniq.budget
    db = run.db
    # Real time, not the run's `now` (which --now may fix): it bounds the next watermark, and a
    # dry run dated next month must not put off the real runs' full sweep until then.
    started = run.clock()
    stamp = min(run.now, started)
    watermark = state.sync_get(db, WATERMARK)
    last_full = state.sync_get(db, FULL_SWEEP_AT)
    listed_before = int(state.sync_get(db, PROJECTS_LISTED) or 0)
    full_pages = max(1, math.ceil((listed_before + 1) / PAGE_SIZE))
    available = budget.available_for_background()
    full = _want_full(run, last_full, watermark)
    if full and available < full_pages and watermark is not None and available >= 1:
        full = False  # the copy still serves: changes only, the sweep waits for budget
        log.warning("%s: the daily full sweep of projects waits for budget", JOB_ID)
    if available < (full_pages if full else 1):
        seen.notes.append(_budget_note(available, "Projects were not checked for SLAs this run"))
        run.result.left_out += listed_before
        log.warning("%s: %s", JOB_ID, seen.notes[-1])
        return False
    filters: dict[str, Any] = {"page_size": PAGE_SIZE}
    if not full:
        filters["updated_after"] = parse_instant(watermark) - SYNC_OVERLAP  # type: ignore[arg-type]
    read_at = min(run.now, started)
    newest = parse_instant(watermark) if watermark else None
    listed: set[int] = set()
    batch: list[dict[str, Any]] = []
    try:
        for p in run.api.projects.list(**filters):
            batch.append(p)
            if isinstance(p.get("updatedAt"), str):
                ts = parse_instant(p["updatedAt"])
                newest = ts if newest is None or ts > newest else newest
            if len(batch) >= PAGE_SIZE:
                listed |= _keep(db, batch, read_at)
                batch = []
    except BudgetExceeded:
        listed |= _keep(db, batch, read_at)
        seen.notes.append(
            _budget_note(
                budget.available_for_background(),
                f"Only {len(listed)} project(s) could be listed",
            )
        )
        return True  # the copy serves; what was read is kept, the watermark stays
    except (ServerError, Timeout, ConnectionFailed, RateLimited) as exc:
        # Coperniq down or busy after the client's retries: nothing is decided from part of a
        # listing (a project not read is neither late nor back on time), so this run posts and
        # resolves nothing and counts as failed; the next tick lists again from the same
        # watermark. A refused key or permission is no passing trouble: that still ends the run
        # with the error.
        listed |= _keep(db, batch, read_at)
        why = f"it answered HTTP {exc.status}" if exc.status else "it did not answer"
        seen.notes.append(
            f"Projects could not be listed from Coperniq after {len(listed)} ({why}); "
            "SLAs are checked again next run."
        )
        log.warning("%s: %s", JOB_ID, seen.notes[-1])
        run.result.failed += 1
        return False
    listed |= _keep(db, batch, read_at)
    if full:
        _drop_gone(run, listed, read_at)
        seen.listing_complete = True
        state.sync_set(db, FULL_SWEEP_AT, iso(stamp), run.now)
        state.sync_set(db, PROJECTS_LISTED, str(len(listed)), run.now)
    if newest is not None:
        # A project updated during a long listing, on a page already read, carries an updatedAt
        # after the listing started but maybe before the newest seen: start from the earlier.
        state.sync_set(db, WATERMARK, iso(min(newest, started)), run.now)
    _reread_marked(run, listed, read_at)
    log.info("%s: %s listing, %d project(s)", JOB_ID, "full" if full else "changes", len(listed))
    return True


def _keep(db: Any, batch: list[dict[str, Any]], read_at: datetime) -> set[int]:
    keep_projects(db, batch, read_at, complete=False)
    ids = set()
    for p in batch:
        try:
            ids.add(int(p["id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return ids


def _drop_gone(run: Run, listed: set[int], read_at: datetime) -> None:
    """Drop the projects a complete sweep did not list, once Coperniq says 404 for each."""
    # Offset pages shift when a project is deleted or reordered during the sweep, so one not
    # listed may still exist: dropping it would resolve its alerts as if it had left its phase.
    # Each is asked for by id (deletions are rare); unconfirmed ones stay until the next sweep.
    missing = [
        int(r[0])
        for r in run.db.execute(
            "select id from projects where id not in (select value from json_each(?)) order by id",
            [json.dumps(sorted(listed))],
        ).fetchall()
    ]
    gone: list[int] = []
    for n, pid in enumerate(missing):
        if n >= CONFIRM_GONE:
            log.warning(
                "%s: %d unlisted project(s) left to the next sweep", JOB_ID, len(missing) - n
            )
            break
        try:
            p = run.api.projects.get(pid)
        except NotFound:
            gone.append(pid)
            continue
        except BudgetExceeded:
            break
        except CoperniqError:
            log.warning("%s: could not check unlisted project %s", JOB_ID, pid, exc_info=True)
            continue
        if isinstance(p, dict) and p.get("id") is not None:
            keep_projects(run.db, [p], read_at, complete=False)
    if gone:
        run.db.execute(
            "delete from projects where id in (select value from json_each(?))", [json.dumps(gone)]
        )


def _reread_marked(run: Run, listed: set[int], read_at: datetime) -> None:
    """Read the projects a phase webhook marked for re-reading that this listing did not bring."""
    marked = [
        int(r[0])
        for r in run.db.execute(
            "select id from projects where updated_at is null and status = 'ACTIVE' "
            "order by seen_at limit ?",
            [REREAD_PER_RUN + len(listed)],
        ).fetchall()
        if int(r[0]) not in listed
    ][:REREAD_PER_RUN]
    for pid in marked:
        try:
            p = run.api.projects.get(pid)
        except NotFound:
            continue  # gone: the next full sweep confirms it
        except BudgetExceeded:
            break
        except CoperniqError:
            log.warning("%s: re-reading project %s failed", JOB_ID, pid, exc_info=True)
            continue
        if isinstance(p, dict) and p.get("id") is not None:
            keep_projects(run.db, [p], read_at, complete=False)


def days_since(started: str | None, now: datetime) -> int | None:
    """Whole days in phase at `now` from a stored phase start."""
    if not started:
        return None
    return max(0, (now - parse_instant(started)) // DAY)


def local_projects(db: Any, now: datetime) -> tuple[int, list[dict[str, Any]], set[int]]:
    """The copy at `now`: how many are active, the active ones at or past yellow (as listed, days
    in phase computed), and the ids whose rows are current. Stored days and levels are updated."""
    out: list[dict[str, Any]] = []
    current: set[int] = set()
    changed: list[tuple[Any, ...]] = []
    active = 0
    for pid, status, key, started, updated, days, level, yellow, red, raw in db.execute(
        "select id, status, phase_key, phase_started_at, updated_at, days, level, yellow_sla, "
        "red_sla, raw from projects"
    ).fetchall():
        pending = updated is None  # marked for re-reading by a phase webhook: unknown phase
        if not pending and raw:
            current.add(int(pid))
        now_days = None if pending else days_since(started, now)
        now_level = None
        if status == "ACTIVE" and now_days is not None:
            now_level = sla_level({"timeInStageDays": now_days, "yellowSla": yellow, "redSla": red})
        if not pending and (now_days, now_level) != (days, level):
            changed.append((now_days, now_level, pid))
        if status != "ACTIVE":
            continue
        active += 1
        if pending or not raw or now_level is None:
            continue  # only projects at or past yellow are needed in full
        try:
            p = json.loads(raw)
        except ValueError:
            continue
        if phase_key(p) != key:
            continue  # not as read (a webhook moved it): waits to be read again
        ph = current_phase(p)
        if not isinstance(ph, dict):
            continue
        # As if listed now: the selection and the cards read timeInStageDays.
        p["phase" if p.get("phase") else "stage"] = {**ph, "timeInStageDays": now_days}
        out.append(p)
    if changed:
        # For the App Home and the personal summaries, which read the stored days and level.
        with db.conn:
            db.execute("begin immediate")
            db.conn.executemany("update projects set days = ?, level = ? where id = ?", changed)
    return active, out, current


def project_row(p: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One `projects` row from a project as Coperniq lists (or gets) it, read at `now`."""
    ph = current_phase(p) or {}
    days = ph.get("timeInStageDays")
    days = int(days) if isinstance(days, int | float) else None
    return {
        "id": int(p["id"]),
        "number": str(p.get("number") or p["id"]),
        "title": p.get("title") or "(untitled)",
        "status": p.get("status"),
        "workflow": " ".join(str(p.get("workflowName") or "").split()) or None,
        "trades": json.dumps(list(project_trades(p))),
        "phase": ph.get("name"),
        "phase_key": phase_key(p),
        "days": days,
        "yellow_sla": sla_threshold(ph.get("yellowSla")),
        "red_sla": sla_threshold(ph.get("redSla")),
        "level": sla_level(ph) if p.get("status") == "ACTIVE" else None,
        "account_id": p.get("accountId") if isinstance(p.get("accountId"), int) else None,
        "seen_at": iso(now),
        # The read less the days Coperniq counts: later runs compute the days from it.
        "phase_started_at": iso(now - days * DAY) if days is not None else None,
        # Never null from a read: null marks a row a phase webhook wants read again.
        "updated_at": str(p.get("updatedAt") or ""),
        "raw": json.dumps(p, sort_keys=True, default=str),
    }


def _steady_start(
    row: dict[str, Any], before: tuple[str | None, str | None] | None, now: datetime
) -> None:
    """Keep the stored phase start while this read's day count still agrees with it."""
    if before is None or row["days"] is None:
        return
    key, started = before
    if key != row["phase_key"] or not started:
        return
    # timeInStageDays is whole days: reads at different hours give starts up to a day apart,
    # and taking each one would make the computed days jump back and forth. A start that this
    # read's count disagrees with (the phase was restarted, or an earlier read's count was
    # rounded the other way) is replaced.
    if days_since(started, now) == row["days"]:
        row["phase_started_at"] = started


def keep_projects(
    db: Any, projects: list[dict[str, Any]], now: datetime, *, complete: bool
) -> None:
    """Upsert these projects into `projects`; `complete` (a full listing): drop the others."""
    rows = []
    for p in projects:
        try:
            rows.append(project_row(p, now))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # one odd project must not lose the others
    with db.conn:
        db.execute("begin immediate")
        before = {
            int(r[0]): (r[1], r[2])
            for r in db.execute(
                "select id, phase_key, phase_started_at from projects "
                "where id in (select value from json_each(?))",
                [json.dumps([r["id"] for r in rows])],
            ).fetchall()
        }
        for row in rows:
            _steady_start(row, before.get(row["id"]), now)
        db["projects"].upsert_all(rows, pk="id")
        if complete:
            # Gone from a complete listing: deleted in Coperniq.
            db.execute(
                "delete from projects where id not in (select value from json_each(?))",
                [json.dumps([r["id"] for r in rows])],
            )


def _plan_reads(
    run: Run,
    risky: list[tuple[Project, str]],
    seen: FormsSeen,
    realert: timedelta | None,
    forms_ttl: timedelta,
    refresh_per_run: int,
) -> tuple[dict[int, list[dict[str, Any]]], list[tuple[Project, str]], tuple[int, int]]:
    """Lists usable from the cache; the projects whose lists to read; (not cached, stale) counts."""
    cached = _cached_forms(run, seen.at_risk)
    forms: dict[int, list[dict[str, Any]]] = {}
    must: list[tuple[Project, str]] = []
    stale: list[tuple[Project, str, datetime]] = []
    for p, level in risky:
        pid = int(p["id"])
        hit = cached.get(pid)
        if hit is None or hit[0] != phase_key(p):
            must.append((p, level))
        else:
            forms[pid] = hit[2]  # usable even when stale; refreshed below if room
            if run.now - hit[1] >= forms_ttl:
                stale.append((p, level, hit[1]))
    # A stale list is never the basis of an announcement: otherwise a form completed hours ago is
    # announced as still holding its project up. An escalation (rare) re-reads its list at once;
    # reminders come first among the per-run refreshes; a project whose stale list is not re-read
    # this run waits for a later run (withheld: neither announced nor resolved).
    open_by_project: dict[int, list[state.AlertRow]] = {}
    for r in state.open_alerts(run.db, JOB_ID):
        open_by_project.setdefault(int(r.summary.get("project_id", 0)), []).append(r)
    again = {
        int(p["id"]): _again(level, open_by_project.get(int(p["id"]), []), run.now, realert)
        for p, level, _ in stale
    }
    escalate = [(p, level) for p, level, _ in stale if again[int(p["id"])] == "escalation"]
    stale = [s for s in stale if again[int(s[0]["id"])] != "escalation"]
    # Reminders first, then projects someone was told about, red first, the oldest list first.
    stale.sort(
        key=lambda s: (
            again[int(s[0]["id"])] != "reminder",
            int(s[0]["id"]) not in open_by_project,
            -LEVEL_RANK[s[1]],
            s[2],
        )
    )
    refresh = [(p, level) for p, level, _ in stale[: max(0, refresh_per_run)]]
    seen.withheld = set(again)
    return forms, must + escalate + refresh, (len(must), len(refresh))


def _again(
    level: str, open_rows: list[state.AlertRow], now: datetime, realert: timedelta | None
) -> str | None:
    """Would this run announce one of a project's open alerts again: 'escalation', 'reminder'?"""
    if any(escalates(level, row, LEVEL_RANK) for row in open_rows):
        return "escalation"
    if any(reminder_due(row, now, realert) for row in open_rows):
        return "reminder"
    return None


def _cached_forms(
    run: Run, project_ids: set[int]
) -> dict[int, tuple[str, datetime, list[dict[str, Any]]]]:
    """The cached form lists of these projects: phase key, when read, the forms."""
    cached: dict[int, tuple[str, datetime, list[dict[str, Any]]]] = {}
    if not project_ids:
        return cached
    for pid, key, fetched_at, forms in run.db.execute(
        "select project_id, phase_key, fetched_at, forms from form_cache where project_id in "
        "(select value from json_each(?))",
        [json.dumps(sorted(project_ids))],
    ).fetchall():
        cached[int(pid)] = (key, parse_instant(fetched_at), json.loads(forms))
    return cached


def _read_forms(
    run: Run,
    todo: list[tuple[Project, str]],
    forms: dict[int, list[dict[str, Any]]],
    seen: FormsSeen,
) -> None:
    """Read the form lists in `todo` (red first) into `forms` and the cache, within the budget."""
    left_out: list[tuple[Project, str]] = []
    unreadable: list[Project] = []
    out_of_budget = False
    for p, level in todo:
        pid = int(p["id"])
        run.check_stop()
        if out_of_budget:
            if pid not in forms:
                left_out.append((p, level))
            continue
        try:
            got = list(run.api.forms.list_for_project(pid))
        except BudgetExceeded:
            out_of_budget = True
            if pid not in forms:
                left_out.append((p, level))
            continue
        except Exception:
            log.exception("%s: reading the forms of project %s failed", JOB_ID, pid)
            run.result.failed += 1
            if pid not in forms:
                unreadable.append(p)
            continue
        forms[pid] = got
        seen.withheld.discard(pid)  # re-read now: its alerts may go out
        run.db["form_cache"].upsert(
            {
                "project_id": pid,
                "phase_key": phase_key(p),
                # Real time when --now runs ahead: a dry run "next month" must not make this list
                # look fresh to the real runs until then.
                "fetched_at": iso(min(run.now, run.clock())),
                "forms": json.dumps(got, sort_keys=True, default=str),
            },
            pk="project_id",
        )
    if left_out:
        run.result.left_out += len(left_out)
        reds = sum(1 for _, lv in left_out if lv == "red")
        numbers = ", ".join(f"#{p.get('number') or p['id']}" for p, _ in left_out[:15])
        more = f" and {len(left_out) - 15} more" if len(left_out) > 15 else ""
        seen.notes.append(
            _budget_note(
                run.deps.coperniq.budget.available_for_background(),
                f"Forms of {len(left_out)} project(s) at or past SLA were not checked "
                f"({reds} red, {len(left_out) - reds} yellow: {numbers}{more}); "
                "red ones were read first",
            )
        )
        log.warning("%s: %s", JOB_ID, seen.notes[-1])
    if unreadable:
        numbers = ", ".join(f"#{p.get('number') or p['id']}" for p in unreadable[:15])
        seen.notes.append(
            f"The forms of {len(unreadable)} project(s) at or past SLA could not be read from "
            f"Coperniq ({numbers}); they are tried again next run."
        )
