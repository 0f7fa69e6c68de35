"""What Coperniq's phase webhooks do to the form-sla alerts, through the same engine as its runs.

PROJECT_PHASE_SLA_VIOLATION: the project's open forms of its current phase are alerted now. When
no channel subscription could accept the project (its stored workflow, trades and phase against
each subscription's filters, level aside) and nobody has personal form DMs on, it costs nothing.
Otherwise, once the job's lease is held, its forms are read once (and the project too, unless the
local copy holds it current in the event's phase: see stored_project), the
`form_cache` and `projects` rows are updated as a polled run would, and the engine runs on a
snapshot that speaks for this project only: the same once-per-item state, so the next polled run
does not repeat what was posted, and nothing about other projects is resolved.

PROJECT_PHASE_STARTED / _COMPLETED: the project's open alerts announced before the event fired
belong to a stay in a phase that is over; they are shown resolved in place (no Coperniq call),
and the stored project row learns the new phase, or is marked for re-reading.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.store import iso
from jobs import engine, state
from jobs.digest import Item, Run
from jobs.sla import JOB_ID
from jobs.sla.collect import FormsSeen, days_since, keep_projects
from jobs.sla.job import SlaSnapshot, snapshot_of
from jobs.sla.select import at_risk, current_phase, phase_key, select, sla_threshold
from jobs.subscriptions import SLA, accepts, fold, subscriptions
from jobs.times import parse_instant

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings
    from bot.deps import Deps

log = logging.getLogger(__name__)

# The slaType values seen so far (the sandbox's; Coperniq documents none). Any value is accepted:
# the level always comes from the project as read, so an unknown one is only logged.
KNOWN_SLA_TYPES = frozenset({"YELLOW", "RED"})
# firedAt may be rounded (to the second or millisecond) and Coperniq's clock is not ours: an alert
# announced up to this long after a phase event fired still counts as before it. Safe, since a
# stay that has just begun is 0 days in its phase, below any SLA (at least a day), for a day.
FIRED_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class EventOutcome:
    """What handling one event did, in one line; `busy`: try again shortly (nothing was done)."""

    text: str
    busy: bool = False
    coperniq_calls: int = 0


def _job() -> Any:
    from jobs.registry import JOBS

    return JOBS[JOB_ID]


# --- the gate: could anyone want this project's alerts? -----------------------------------------


def _template_of(key: str | None) -> str | None:
    """The phase template id in a stored phase_key (`phase:<instance>:<template>`, `stage:<id>`)."""
    if not key or key == "none":
        return None
    return key.rsplit(":", 1)[-1] or None


def could_concern(
    db: Database, settings: Settings, project_id: int, phase_template_id: Any = None
) -> bool:
    """May a channel subscription or a person want alerts of this project? (No Coperniq call.)

    Level filters are left aside (the level is only known after reading the project); an unknown
    project could match anything, and so could a phase the stored row has not seen yet.
    """
    if db.execute("select 1 from notify_prefs where forms = 1 limit 1").fetchone():
        return True
    subs = subscriptions(db, settings, SLA)
    if not subs:
        return False
    row = db.execute(
        "select workflow, trades, phase, phase_key from projects where id = ?", [project_id]
    ).fetchone()
    if row is None:
        return True
    workflow, trades, phase, key = row
    same_phase = phase_template_id is None or _template_of(key) == str(phase_template_id)
    try:
        trade_list = json.loads(trades or "[]")
    except ValueError:
        trade_list = []
    view = {"workflow": workflow or "", "trades": trade_list, "phase": phase or ""}
    probe = Item("", "", None, view)
    for sub in subs:
        wanted = {
            k: v
            for k, v in sub.filters.items()
            if k != "level" and not (k == "phase" and (not same_phase or not phase))
        }
        match = accepts(SLA, wanted)
        if match is None or match(probe):
            return True
    return False


# --- PROJECT_PHASE_SLA_VIOLATION ------------------------------------------------------------------


def stored_project(
    db: Database, project_id: int, event: Mapping[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The project as the local copy holds it, at the SLA the event says it reached; None when
    the copy cannot speak for it (then it is read).

    The copy speaks when its row is current (listed or read, not marked by a phase webhook) and
    in the event's phase, and the event names the SLA reached (`slaType` YELLOW or RED, whose
    threshold the row knows). The row's phase start is set from the event, `overdueAt` less the
    SLA (or pulled back so that the threshold is reached now): computed days can lag Coperniq's
    count by up to a day, and a later polled run must not see the project back on time and
    resolve what this event announced.
    """
    row = db.execute(
        "select phase_key, updated_at, raw, yellow_sla, red_sla, phase_started_at, status "
        "from projects where id = ?",
        [project_id],
    ).fetchone()
    if row is None:
        return None
    key, updated, raw, yellow, red, started, status = row
    template = event.get("phaseTemplateId")
    if not updated or not raw or status != "ACTIVE" or template is None:
        return None
    if _template_of(key) != str(template):
        return None
    sla_days = {"YELLOW": yellow, "RED": red}.get(str(event.get("slaType") or "").upper())
    if not sla_days:
        return None
    try:
        project = json.loads(raw)
    except ValueError:
        return None
    ph = current_phase(project)
    if phase_key(project) != key or not isinstance(ph, dict):
        return None
    start = parse_instant(started) if started else now
    overdue = event.get("overdueAt")
    try:
        if isinstance(overdue, str):
            start = parse_instant(overdue) - timedelta(days=int(sla_days))
    except ValueError:
        pass
    start = min(start, now - timedelta(days=int(sla_days)))
    days = days_since(iso(start), now) or 0
    db.execute(
        "update projects set phase_started_at = ?, days = ?, level = ? where id = ?",
        [iso(start), days, None, project_id],
    )
    # As if listed now: the selection and the cards read timeInStageDays.
    project["phase" if project.get("phase") else "stage"] = {**ph, "timeInStageDays": days}
    return project


def one_project(project_id: int, event: Mapping[str, Any] | None = None) -> Any:
    """The engine's collect for one project: its forms read once (and the project too, unless
    the local copy holds it current for the event's phase), kept, selected."""

    def collect(run: Run) -> SlaSnapshot:
        project = stored_project(run.db, project_id, event, run.now) if event else None
        if project is None:
            project = run.api.projects.get(project_id)
            keep_projects(run.db, [project], run.now, complete=False)
        run.check_stop()
        forms = list(run.api.forms.list_for_project(project_id))
        # As a polled run keeps what it reads (jobs.sla.collect._read_forms): the next run reuses
        # this list until the phase changes, and the App Home and summaries see the project.
        run.db["form_cache"].upsert(
            {
                "project_id": project_id,
                "phase_key": phase_key(project),
                "fetched_at": iso(min(run.now, run.clock())),
                "forms": json.dumps(forms, sort_keys=True, default=str),
            },
            pk="project_id",
        )
        seen = FormsSeen(
            alerts=select([project], {project_id: forms}, run.now, run.settings.timezone),
            # This project only: a channel resolves its alerts no longer listed (the form is done
            # or out of phase), and nothing about any other project.
            listing_complete=False,
            known={project_id},
            at_risk={int(p["id"]) for p, _ in at_risk([project])},
        )
        return snapshot_of(seen, run.settings.coperniq_app_url)

    return collect


def on_violation(
    deps: Deps,
    project_id: int,
    event: Mapping[str, Any],
    now: datetime,
    *,
    stop: threading.Event | None = None,
) -> EventOutcome:
    """Alert the project's open forms of its phase now, if anyone could want them."""
    sla_type = event.get("slaType")
    if sla_type not in KNOWN_SLA_TYPES:
        log.info(
            "%s: PROJECT_PHASE_SLA_VIOLATION with slaType %r (not one seen before); the level "
            "is read from the project",
            JOB_ID,
            str(sla_type)[:40],
        )
    db, settings = deps.store.db, deps.settings
    if not could_concern(db, settings, project_id, event.get("phaseTemplateId")):
        return EventOutcome(
            f"project {project_id}: no subscription could accept it and nobody has form DMs "
            "on; no Coperniq call"
        )
    job = _job()
    why = job.config.off_reason(settings, db)
    if why is None and deps.slack is None:
        why = "SLACK_BOT_TOKEN is not set"
    if why is not None:
        return EventOutcome(f"project {project_id}: {JOB_ID} is off ({why}); no Coperniq call")
    result = engine.run(
        job, deps, now, stop=stop, out=lambda _: None, snapshot=one_project(project_id, event)
    )
    if not result.ran:
        return EventOutcome(f"project {project_id}: {JOB_ID} is running elsewhere", busy=True)
    stopped = stop is not None and stop.is_set()
    text = f"project {project_id}: {result.summary()}"
    return EventOutcome(text, busy=stopped, coperniq_calls=result.coperniq_calls)


# --- PROJECT_PHASE_STARTED / PROJECT_PHASE_COMPLETED ----------------------------------------------


def _phase_in(record: Mapping[str, Any], template: Any) -> Mapping[str, Any] | None:
    """The phase the delivery's `record` carries, when it is the event's phase template."""
    stage = record.get("stage") or record.get("phase")
    if not isinstance(stage, dict) or template is None:
        return None
    ident = stage.get("templateId", stage.get("id"))
    return stage if ident is not None and str(ident) == str(template) else None


def _note_phase(
    db: Database,
    project_id: int,
    event: Mapping[str, Any],
    record: Mapping[str, Any],
    fired: datetime | None,
    *,
    started: bool,
) -> str:
    """Update the stored project row from a phase event; what was done, in a few words."""
    row = db.execute(
        "select phase_key, phase_started_at from projects where id = ?", [project_id]
    ).fetchone()
    if row is None:
        return "project not stored yet"
    key, started_at = row
    template = event.get("phaseTemplateId")
    if started_at and fired is not None and parse_instant(started_at) > fired:
        return "project row already newer"
    if not started:
        if template is not None and _template_of(key) == str(template):
            # Out of that phase: its SLA no longer applies. The next phase comes with its own
            # STARTED event or the next listing; until then the row waits to be read again.
            db.execute(
                "update projects set level = null, days = null, updated_at = null where id = ?",
                [project_id],
            )
            return "project row marked for re-reading"
        return "project row unchanged"
    instance = event.get("phaseInstanceId")
    if template is None:
        db.execute("update projects set updated_at = null where id = ?", [project_id])
        return "project row marked for re-reading"
    is_stage = (key or "").startswith("stage:") or instance is None
    new_key = f"stage:{template}" if is_stage else f"phase:{instance}:{template}"
    if new_key == key:
        return "project row already in this phase"
    phase = _phase_in(record, template) or {}
    # Just started: time in phase is 0, so below any SLA. The name and SLAs are known only when
    # the delivery's record carries the phase; otherwise they are left empty and `updated_at` is
    # cleared, so the next listing reads the project again.
    db.execute(
        "update projects set phase_key = ?, phase = ?, yellow_sla = ?, red_sla = ?, days = 0, "
        "level = null, phase_started_at = ?, updated_at = null where id = ?",
        [
            new_key,
            phase.get("name"),
            sla_threshold(phase.get("yellowSla")),
            sla_threshold(phase.get("redSla")),
            iso(fired) if fired is not None else None,
            project_id,
        ],
    )
    return "project row moved to the new phase"


def _fired(event: Mapping[str, Any]) -> datetime | None:
    value = event.get("firedAt")
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def over_alerts(
    db: Database, project_id: int, fired: datetime | None, phase_name: str | None, *, started: bool
) -> list[str]:
    """The project's open alert keys that belong to a stay in a phase the event says is over.

    With firedAt: those first announced before it, give or take FIRED_TOLERANCE (every form of
    a stay that began at firedAt is announced a day or more after it). Without: by name, those
    of another phase than the one started, or of the one completed; none when the name is unknown.
    """
    keys: set[str] = set()
    for row in state.open_alerts(db, JOB_ID):
        if int(row.summary.get("project_id") or 0) != project_id:
            continue
        if fired is not None:
            first = row.first_alerted_at or row.last_alerted_at
            if first is not None and parse_instant(first) < fired + FIRED_TOLERANCE:
                keys.add(row.item_key)
            continue
        if phase_name is None:
            continue
        same = fold(str(row.summary.get("phase") or "")) == fold(phase_name)
        if same != started:
            keys.add(row.item_key)
    return sorted(keys)


def on_phase_change(
    deps: Deps,
    project_id: int,
    event: Mapping[str, Any],
    record: Mapping[str, Any],
    now: datetime,
    *,
    started: bool,
    stop: threading.Event | None = None,
) -> EventOutcome:
    """Show the alerts of the phase left resolved in place; keep the project row current."""
    db = deps.store.db
    fired = _fired(event)
    phase = _phase_in(record, event.get("phaseTemplateId")) or {}
    if not phase:
        # The stored row names the phase when it is the one this event is about.
        row = db.execute(
            "select phase, phase_key from projects where id = ?", [project_id]
        ).fetchone()
        if row and _template_of(row[1]) == str(event.get("phaseTemplateId")):
            phase = {"name": row[0]}
    keys = over_alerts(db, project_id, fired, phase.get("name"), started=started)
    result = None
    if keys:
        result = engine.resolve_items(_job(), deps, keys, now, stop=stop)
        if not result.ran and deps.slack is not None:
            return EventOutcome(f"project {project_id}: {JOB_ID} is running elsewhere", busy=True)
    # After the resolution, so a retried event still finds the alerts to resolve.
    noted = _note_phase(db, project_id, event, record, fired, started=started)
    if result is None:
        return EventOutcome(f"project {project_id}: no open alert of an earlier phase; {noted}")
    return EventOutcome(
        f"project {project_id}: {len(keys)} alert(s) of an earlier phase, {result.resolved} "
        f"resolved in {result.updated} message(s), {result.failed} failed; {noted}"
    )
