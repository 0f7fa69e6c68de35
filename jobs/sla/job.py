"""Forms past their workflow phase SLA (job id `form-sla`).

What: forms holding up a project stuck in its current workflow phase: the project is ACTIVE, its
phase (Workflows 2.0 `phase`, or `stage` on older workflows) has an SLA, `timeInStageDays` is at
or past `yellowSla` (yellow) or `redSla` (red), and the form belongs to that phase and is not
COMPLETED or CANCELLED. A phase without an SLA never alerts.
When: SLA_ALERT_CRON (default `0 8-17 * * 1-5`, hourly in business hours) in BOT_TIMEZONE.
Where: SLA_ALERT_CHANNEL, one message per run (red first, then yellow), the rest in thread
replies or, past 5 of them, one CSV file in the thread; off when that is unset.
Dedupe key: ("form-sla", channel, "form:<form id>") in alert_items, level yellow|red: announced
once per level, again on escalation or after SLA_REALERT_HOURS; when the form is completed or
cancelled, or its project leaves the phase, the message part that announced it is re-rendered
with the form marked resolved.
Budget: see jobs.sla.collect (form lists only for projects at or past yellow, cached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from jobs.digest import Item, JobSettings, Model, Run, Snapshot
from jobs.sla import JOB_ID
from jobs.sla import render as messages
from jobs.sla.collect import FORMS_TTL, REFRESH_PER_RUN, FormsSeen
from jobs.sla.collect import collect as collect_forms
from jobs.sla.select import LEVEL_RANK, FormAlert
from jobs.state import AlertRow


@dataclass
class SlaSnapshot(Snapshot):
    """A form-sla snapshot: resolves only what the projects read this run can speak for."""

    seen: FormsSeen = field(default_factory=FormsSeen)

    def covers(self, row: AlertRow) -> bool:
        return self.seen.covers(int(row.summary.get("project_id", 0)))


def snapshot_of(seen: FormsSeen, app_url: str) -> SlaSnapshot:
    """The snapshot of what a listing (or one project's webhook) saw: its alerts as items."""
    items = [
        Item(a.key, a.level, a, messages.view(a, app_url), held=a.project_id in seen.withheld)
        for a in seen.alerts
    ]
    return SlaSnapshot(items=items, notes=seen.notes, seen=seen)


@dataclass(frozen=True)
class FormSlaJob:
    """The form-sla digest as a DigestJob; the budget knobs are fields so tests can tune them."""

    id: str = JOB_ID
    title: str = "Forms past their phase SLA"
    config: JobSettings = JobSettings(
        cron_setting="sla_alert_cron",
        channel_setting="sla_alert_channel",
        realert_setting="sla_realert_hours",
        realert_unit="hours",
        personal_columns=("forms", "morning"),
    )
    rank: dict[str, int] = field(default_factory=lambda: dict(LEVEL_RANK))
    forms_ttl: timedelta = FORMS_TTL
    refresh_per_run: int = REFRESH_PER_RUN

    def collect(self, run: Run) -> Snapshot:
        """List projects, read the form lists needed, select; stale lists are held back."""
        seen = collect_forms(
            run,
            realert=self.config.realert(run.settings),
            forms_ttl=self.forms_ttl,
            refresh_per_run=self.refresh_per_run,
        )
        return snapshot_of(seen, run.settings.coperniq_app_url)

    def build(
        self, snapshot: Snapshot, announce: set[str], now: datetime, settings: Settings
    ) -> list[Model]:
        alerts: list[FormAlert] = [i.record for i in snapshot.items]
        return messages.build_models(
            alerts, announce, now, settings.timezone, settings.coperniq_app_url, snapshot.notes
        )

    def render(self, model: Model) -> tuple[str, list[dict[str, Any]]]:
        return messages.render(model)

    def to_text(self, models: list[Model]) -> str:
        return messages.to_text(models)

    def to_csv(self, items: list[Model]) -> str:
        return messages.to_csv(items)
