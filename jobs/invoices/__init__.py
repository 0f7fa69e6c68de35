"""The overdue-invoices job: `select` (pure), `collect` (the local copy), `render`, `job`."""

JOB_ID = "overdue-invoices"
