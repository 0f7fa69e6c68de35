"""The morning summary (MORNING_DIGEST_CRON): my open forms, my projects past SLA and, for billing
roles, my clients' overdue invoices; one DM per person and day, none when there is nothing to say.

Read from the store only, never from Coperniq: `projects` (what the last complete SLA listing
saw), `form_cache` (the form lists of projects at or past yellow, the only ones the runs read) and
the local copy of `invoices`. A cached list is used only while its project is still in the phase
it was read in. Projects have no owner in Coperniq's API (only opportunities do), so "projects I
own" are the projects past SLA where a form of the current phase is assigned to me.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.records import record_url
from jobs.invoices.collect import local_invoices
from jobs.invoices.render import view as invoice_view
from jobs.invoices.select import OverdueInvoice
from jobs.invoices.select import select as select_overdue
from jobs.personal import outbox, render
from jobs.personal.quiet import deliver_at
from jobs.personal.recipients import Recipient, recipients
from jobs.personal.render import MyForm, MyInvoice, Summary
from jobs.sla.select import CLOSED_FORM_STATUSES, form_in_phase

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings

log = logging.getLogger(__name__)

JOB_ID = "morning-digest"
LEVEL_ORDER = {"red": 0, "yellow": 1, None: 2}


def _project_shape(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A `projects` row's current phase as select.form_in_phase reads a project."""
    kind, _, rest = str(row.get("phase_key") or "").partition(":")
    try:
        if kind == "phase":
            template = rest.rsplit(":", 1)[1]
            return {"phase": {"templateId": int(template), "name": row.get("phase") or ""}}
        if kind == "stage":
            return {"stage": {"id": int(rest), "name": row.get("phase") or ""}}
    except (IndexError, ValueError):
        pass
    return None


def my_forms(
    projects: Mapping[int, Mapping[str, Any]],
    caches: Iterable[tuple[int, str, list[dict[str, Any]]]],
    coperniq_id: int,
    app_url: str,
) -> list[MyForm]:
    """Open forms assigned to `coperniq_id` in the cached lists still current (pure); late first."""
    out = []
    for project_id, phase_key, forms in caches:
        row = projects.get(project_id)
        if row is None or row.get("phase_key") != phase_key:
            continue  # gone, or read in an earlier phase: its statuses may be long out of date
        shape = _project_shape(row)
        for form in forms:
            if not isinstance(form, dict) or (form.get("assignee") or {}).get("id") != coperniq_id:
                continue
            if form.get("status") in CLOSED_FORM_STATUSES or form.get("isCompleted") is True:
                continue
            current = shape is not None and form_in_phase(form, shape)
            level = row.get("level") if current and row.get("status") == "ACTIVE" else None
            out.append(
                MyForm(
                    project_id=project_id,
                    project_number=str(row.get("number") or project_id),
                    project_title=str(row.get("title") or "(untitled)"),
                    phase=str((row.get("phase") if current else form.get("phaseName")) or "—"),
                    form_name=str(form.get("name") or f"form {form.get('id')}"),
                    status=str(form.get("status") or "UNKNOWN"),
                    level=level,
                    days=row.get("days") if current else None,
                    yellow_sla=row.get("yellow_sla"),
                    red_sla=row.get("red_sla"),
                    url=record_url(app_url, "project", project_id),
                )
            )
    out.sort(key=lambda f: (LEVEL_ORDER[f.level], -(f.days or 0), f.project_number, f.form_name))
    return out


def my_invoices(overdue: list[OverdueInvoice], person: Recipient, app_url: str) -> list[MyInvoice]:
    """The overdue invoices of the person's clients (none chosen: every client), largest first."""
    out = []
    for inv in overdue:
        if person.wants_client(inv.client):
            view = invoice_view(inv, app_url)
            out.append(MyInvoice(inv.client, inv.project, inv.balance, inv.days, view["url"]))
    out.sort(key=lambda i: -i.balance)
    return out


def summarize(
    person: Recipient,
    projects: Mapping[int, Mapping[str, Any]],
    caches: list[tuple[int, str, list[dict[str, Any]]]],
    overdue: list[OverdueInvoice] | None,
    app_url: str,
) -> Summary:
    """What one person's summary says (pure)."""
    summary = Summary(clients=person.clients)
    if person.morning:
        summary.forms = my_forms(projects, caches, person.coperniq_id, app_url)
    if person.invoices and person.may("record_payment") and overdue is not None:
        summary.invoices = my_invoices(overdue, person, app_url)
    return summary


def _load(db: Database) -> tuple[dict[int, dict[str, Any]], list[tuple[int, str, list[Any]]]]:
    projects = {int(r["id"]): r for r in db["projects"].rows}
    caches = []
    for pid, key, forms in db.execute(
        "select project_id, phase_key, forms from form_cache"
    ).fetchall():
        try:
            caches.append((int(pid), key, json.loads(forms or "[]")))
        except ValueError:
            log.warning("%s: the cached form list of project %s is unreadable", JOB_ID, pid)
    return projects, caches


def queue(db: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Queue today's summary for everyone who asked; counts of queued, empty and already done."""
    tz: ZoneInfo = settings.timezone
    people = recipients(db, settings, "morning", "invoices")
    counts = {"queued": 0, "nothing": 0, "already": 0}
    if not people:
        return counts
    projects, caches = _load(db)
    overdue = None
    if any(p.invoices and p.may("record_payment") for p in people):
        overdue = select_overdue(local_invoices(db), now, tz)
    due = deliver_at(now, tz, settings.quiet_hours)
    day = now.astimezone(tz).date().isoformat()
    for person in people:
        try:
            summary = summarize(person, projects, caches, overdue, settings.coperniq_app_url)
            if summary.empty:
                counts["nothing"] += 1
                continue
            text, blocks = render.morning_dm(summary, now, tz)
            fresh = outbox.enqueue(
                db,
                slack_user=person.slack_user,
                kind="morning",
                dedupe=f"morning:{person.slack_user}:{day}",
                item_key=None,
                text=text,
                blocks=blocks,
                due_at=due,
                now=now,
            )
            counts["queued" if fresh else "already"] += 1
        except Exception:
            log.exception("%s: the summary for %s failed", JOB_ID, person.slack_user)
    return counts
