"""Personal notifications: DMs about my forms, the morning summary, quiet hours (issue 10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.digest import DigestJob, Run, Snapshot


def after_run(job: DigestJob, run: Run, snapshot: Snapshot, snoozed: set[str]) -> None:
    """Queue (and send when not quiet) the DMs a run's snapshot calls for."""
