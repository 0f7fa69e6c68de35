"""The form-sla job: `select` (pure), `collect` (projects, cached form lists), `render`, `job`."""

JOB_ID = "form-sla"
