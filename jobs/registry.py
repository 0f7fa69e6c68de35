"""The one list of scheduled jobs: the scheduler, `jobs list`, `jobs run` and the CLI read it."""

from __future__ import annotations

from jobs.digest import DigestJob
from jobs.invoices.job import OverdueInvoicesJob
from jobs.sla.job import FormSlaJob

JOBS: dict[str, DigestJob] = {job.id: job for job in (OverdueInvoicesJob(), FormSlaJob())}
