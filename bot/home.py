"""The App Home: my forms, my notification settings, and for admins the bot's state (issue 10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.digest import DigestJob, Run, Snapshot


def after_run(job: DigestJob, run: Run, snapshot: Snapshot, snoozed: set[str]) -> None:
    """Republish the App Homes a run changed."""
