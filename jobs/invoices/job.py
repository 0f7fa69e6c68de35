"""Overdue invoices digest (job id `overdue-invoices`).

What: a digest of overdue invoices (status SENT, PARTIALLY_PAID or OVERDUE, due date before
today in BOT_TIMEZONE, balance `amount - amountPaid` above zero): total, accounts-receivable aging
buckets (1-30, 31-60, 61-90, 90+ days), the largest balances with "Open in Coperniq" links, the full
list in thread replies when it does not fit in one message, or as one CSV file in the thread when
that would take more than 5 replies (jobs.blocks.MAX_REPLIES).
When: INVOICE_ALERT_CRON (default `0 8 * * 1-5`) in BOT_TIMEZONE.
Where: INVOICE_ALERT_CHANNEL; the job is off when that is unset.
Dedupe key: ("overdue-invoices", channel, "invoice:<id>") in alert_items, level = aging bucket. An
invoice is listed once per bucket: again when it moves to an older bucket or after
INVOICE_REALERT_DAYS; when it is paid (or no longer overdue, or deleted) the message part that
listed it is re-rendered with it struck through.
Data: the local copy in the `invoices` table (jobs.invoices.collect).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Settings
from jobs.digest import Item, JobSettings, Model, Run, Snapshot
from jobs.invoices import JOB_ID
from jobs.invoices import render as messages
from jobs.invoices.collect import collect as collect_overdue
from jobs.invoices.select import BUCKET_RANK, OverdueInvoice


@dataclass(frozen=True)
class OverdueInvoicesJob:
    """The overdue-invoices digest as a DigestJob."""

    id: str = JOB_ID
    title: str = "Overdue invoices digest"
    config: JobSettings = JobSettings(
        cron_setting="invoice_alert_cron",
        channel_setting="invoice_alert_channel",
        realert_setting="invoice_realert_days",
        realert_unit="days",
        personal_columns=("invoices",),
    )
    rank: dict[str, int] = field(default_factory=lambda: dict(BUCKET_RANK))

    def collect(self, run: Run) -> Snapshot:
        """Sync the local copy and select; the local copy is the authority on what resolved."""
        overdue, notes = collect_overdue(run)
        app_url = run.settings.coperniq_app_url
        return Snapshot(
            items=[Item(i.key, i.bucket, i, messages.view(i, app_url)) for i in overdue],
            notes=notes,
        )

    def build(
        self, snapshot: Snapshot, announce: set[str], now: datetime, settings: Settings
    ) -> list[Model]:
        overdue: list[OverdueInvoice] = [i.record for i in snapshot.items]
        return messages.build_models(
            overdue, announce, now, settings.timezone, settings.coperniq_app_url, snapshot.notes
        )

    def render(self, model: Model) -> tuple[str, list[dict[str, Any]]]:
        return messages.render(model)

    def to_text(self, models: list[Model]) -> str:
        return messages.to_text(models)

    def to_csv(self, items: list[Model]) -> str:
        return messages.to_csv(items)
