"""The projects and form lists a form-sla digest is built from, read within the budget.

Projects are listed 100 a page (the API has no status filter: ACTIVE is kept client-side); only
projects at or past yellow have their forms read, and a project's form list is reused from
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
from jobs.times import parse_instant

log = logging.getLogger(__name__)

FORMS_TTL = timedelta(hours=6)  # a cached form list is re-read after this, even in the same phase
REFRESH_PER_RUN = 10  # stale form lists re-read per run, so a run's cost stays flat
PAGE_SIZE = 100
PROJECTS_LISTED = "form-sla.projects_listed"  # sync_state: how many projects the last listing had

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

    def covers(self, project_id: int) -> bool:
        """May an open alert of this project that is no longer listed be resolved?"""
        if project_id in self.withheld:
            return False  # its list is stale: neither announced nor resolved this run
        if project_id in self.known:
            return True  # we know this project's forms now: the form is done or no longer in phase
        # Not at risk any more (left the phase, below yellow, no longer active or gone) - but only
        # a complete listing can tell that a project is gone.
        return self.listing_complete and project_id not in self.at_risk


def collect(
    run: Run, *, realert: timedelta | None, forms_ttl: timedelta, refresh_per_run: int
) -> FormsSeen:
    """List projects, read the form lists needed (cache first), select the forms past SLA."""
    seen = FormsSeen()
    projects = _list_projects(run, seen)
    if projects is None:
        return seen
    risky = at_risk(projects)
    seen.at_risk = {int(p["id"]) for p, _ in risky}
    forms, todo, counts = _plan_reads(run, risky, seen, realert, forms_ttl, refresh_per_run)
    log.info(
        "%s: %d project(s) listed, %d at or past yellow; %d form list(s) to read, %d stale to "
        "refresh; %d request(s) available for background work",
        JOB_ID,
        len(projects),
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


def _list_projects(run: Run, seen: FormsSeen) -> list[dict[str, Any]] | None:
    """Every project (None when this run can decide nothing: no budget, or Coperniq failing)."""
    budget = run.deps.coperniq.budget
    # Plan: the listing costs about what it cost last time.
    listed_before = int(state.sync_get(run.db, PROJECTS_LISTED) or 0)
    list_pages = max(1, math.ceil((listed_before + 1) / PAGE_SIZE))
    available = budget.available_for_background()
    if available < list_pages:
        seen.notes.append(_budget_note(available, "Projects were not checked for SLAs this run"))
        run.result.left_out += listed_before
        log.warning("%s: %s", JOB_ID, seen.notes[-1])
        return None
    projects: list[dict[str, Any]] = []
    try:
        for p in run.api.projects.list(page_size=PAGE_SIZE):
            projects.append(p)
    except BudgetExceeded:
        seen.notes.append(
            _budget_note(
                budget.available_for_background(),
                f"Only {len(projects)} project(s) could be listed",
            )
        )
        return projects
    except (ServerError, Timeout, ConnectionFailed, RateLimited) as exc:
        # Coperniq down or busy after the client's retries: nothing can be decided from part of
        # a listing (a project not read is neither late nor back on time), so this run posts and
        # resolves nothing and counts as failed; the next tick reads the list again. A refused
        # key or permission is no passing trouble: that still ends the run with the error.
        why = f"it answered HTTP {exc.status}" if exc.status else "it did not answer"
        seen.notes.append(
            f"Projects could not be listed from Coperniq after {len(projects)} ({why}); "
            "SLAs are checked again next run."
        )
        log.warning("%s: %s", JOB_ID, seen.notes[-1])
        run.result.failed += 1
        return None
    seen.listing_complete = True
    state.sync_set(run.db, PROJECTS_LISTED, str(len(projects)), run.now)
    _keep_projects(run, projects)
    return projects


def _keep_projects(run: Run, projects: list[dict[str, Any]]) -> None:
    """Keep what the complete listing says of each project (phase, SLA level, workflow, trades):
    the App Home, the personal summaries and the filter names read it with no Coperniq call."""
    keep_projects(run.db, projects, run.now, complete=True)


def project_row(p: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One `projects` row from a project as Coperniq lists (or gets) it, read at `now`."""
    ph = current_phase(p) or {}
    days = ph.get("timeInStageDays")
    return {
        "id": int(p["id"]),
        "number": str(p.get("number") or p["id"]),
        "title": p.get("title") or "(untitled)",
        "status": p.get("status"),
        "workflow": " ".join(str(p.get("workflowName") or "").split()) or None,
        "trades": json.dumps(list(project_trades(p))),
        "phase": ph.get("name"),
        "phase_key": phase_key(p),
        "days": int(days) if isinstance(days, int | float) else None,
        "yellow_sla": sla_threshold(ph.get("yellowSla")),
        "red_sla": sla_threshold(ph.get("redSla")),
        "level": sla_level(ph) if p.get("status") == "ACTIVE" else None,
        "account_id": p.get("accountId") if isinstance(p.get("accountId"), int) else None,
        "seen_at": iso(now),
    }


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
