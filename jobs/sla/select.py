"""Which forms hold up a project past its phase SLA (pure: projects and form lists in)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

LEVEL_RANK = {"yellow": 1, "red": 2}
CLOSED_FORM_STATUSES = frozenset({"COMPLETED", "CANCELLED"})


def current_phase(project: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The project's current phase (Workflows 2.0) or stage (Workflows 1.0), if any."""
    return project.get("phase") or project.get("stage") or None


def sla_threshold(value: Any) -> int | None:
    # An unset SLA comes as null (or 0 from an unconfigured template): no alert at that level.
    return int(value) if isinstance(value, int | float) and value > 0 else None


def sla_level(phase: Mapping[str, Any] | None) -> str | None:
    """'red', 'yellow' or None for a phase, from timeInStageDays against redSla / yellowSla."""
    if not phase:
        return None
    days = phase.get("timeInStageDays")
    if not isinstance(days, int | float):
        return None
    red, yellow = sla_threshold(phase.get("redSla")), sla_threshold(phase.get("yellowSla"))
    if red is not None and days >= red:
        return "red"
    if yellow is not None and days >= yellow:
        return "yellow"
    return None


def phase_key(project: Mapping[str, Any]) -> str:
    """Identifies one stay of a project in one phase; a new value invalidates its cached forms."""
    if project.get("phase"):
        ph = project["phase"]
        return f"phase:{ph.get('instanceId')}:{ph.get('templateId')}"
    if project.get("stage"):
        return f"stage:{project['stage'].get('id')}"
    return "none"


def form_in_phase(form: Mapping[str, Any], project: Mapping[str, Any]) -> bool:
    """Does the form belong to the project's current phase?

    The spec gives a form `phaseId`/`phaseName` of the phase *template*; a Workflows 2.0 project's
    `phase.templateId` is that template's id (its `instanceId` is this project's stay in it), so the
    ids are compared. A Workflows 1.0 `stage` has only `id`, which forms of that stage carry.
    A form without a phase id is matched by phase name; a form with neither belongs to no phase and
    never alerts.
    """
    if project.get("phase"):
        ph, ph_id = project["phase"], project["phase"].get("templateId")
    elif project.get("stage"):
        ph, ph_id = project["stage"], project["stage"].get("id")
    else:
        return False
    if form.get("phaseId") is not None:
        return ph_id is not None and int(form["phaseId"]) == int(ph_id)
    name = (form.get("phaseName") or "").strip().casefold()
    return bool(name) and name == (ph.get("name") or "").strip().casefold()


def at_risk(projects: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """ACTIVE projects at or past yellow, with their level; red first, then longest in phase."""
    out = []
    for p in projects:
        if p.get("status") != "ACTIVE":
            continue
        level = sla_level(current_phase(p))
        if level:
            out.append((p, level))
    out.sort(
        key=lambda pl: (
            -LEVEL_RANK[pl[1]],
            -(current_phase(pl[0]) or {}).get("timeInStageDays", 0),
            pl[0].get("id", 0),
        )
    )
    return out


@dataclass(frozen=True)
class FormAlert:
    """One form past its phase SLA."""

    level: str
    project_id: int
    project_number: str
    project_title: str
    phase: str
    days: int
    yellow_sla: int | None
    red_sla: int | None
    form_id: int
    form_name: str
    assignee: str
    status: str
    assignee_id: int | None = None  # the Coperniq user to nudge (None: unassigned)
    workflow: str = ""  # the project's workflowName (subscription filter `workflow:`)
    trades: tuple[str, ...] = ()  # the project's trades (subscription filter `trade:`)

    @property
    def key(self) -> str:
        return f"form:{self.form_id}"


def project_trades(project: Mapping[str, Any]) -> tuple[str, ...]:
    """A project's trade names, trimmed, in its order."""
    trades = project.get("trades") or []
    return tuple(" ".join(t.split()) for t in trades if isinstance(t, str) and t.strip())


def _person(user: Mapping[str, Any] | None) -> str:
    if not user:
        return "unassigned"
    name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
    return name or user.get("email") or f"user {user.get('id')}"


def _person_id(user: Mapping[str, Any] | None) -> int | None:
    uid = (user or {}).get("id")
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def _form_alert(
    project: Mapping[str, Any], level: str, form: Mapping[str, Any]
) -> FormAlert | None:
    if form.get("status") in CLOSED_FORM_STATUSES or form.get("isCompleted") is True:
        return None
    if not form_in_phase(form, project):
        return None
    ph = current_phase(project) or {}
    return FormAlert(
        level=level,
        project_id=int(project["id"]),
        project_number=str(project.get("number") or project["id"]),
        project_title=project.get("title") or "(untitled)",
        phase=ph.get("name") or "(unnamed phase)",
        days=int(ph.get("timeInStageDays") or 0),
        yellow_sla=sla_threshold(ph.get("yellowSla")),
        red_sla=sla_threshold(ph.get("redSla")),
        form_id=int(form["id"]),
        form_name=form.get("name") or f"form {form['id']}",
        assignee=_person(form.get("assignee")),
        status=str(form.get("status") or "UNKNOWN"),
        assignee_id=_person_id(form.get("assignee")),
        workflow=" ".join(str(project.get("workflowName") or "").split()),
        trades=project_trades(project),
    )


def select(
    projects: Iterable[Mapping[str, Any]],
    forms_by_project: Mapping[int, list[Mapping[str, Any]]],
    now: datetime,
    tz: ZoneInfo,
) -> list[FormAlert]:
    """Forms past SLA among projects whose forms are known; red first, then longest in phase.

    `timeInStageDays` is Coperniq's count as of the listing, so `now`/`tz` only matter to
    callers that show the time; they are taken for symmetry with the other job's select.
    """
    del now, tz
    out: list[FormAlert] = []
    for project, level in at_risk(projects):
        forms = forms_by_project.get(int(project.get("id") or 0))
        if forms is None:
            continue
        for form in forms:
            try:
                alert = _form_alert(project, level, form)
            except (KeyError, TypeError, ValueError, AttributeError):
                # One malformed form must not hide the others.
                log.exception("skipping form %r of project %r", form.get("id"), project.get("id"))
                continue
            if alert is not None:
                out.append(alert)
    out.sort(
        key=lambda a: (-LEVEL_RANK[a.level], -a.days, a.project_number, a.form_name, a.form_id)
    )
    return out
