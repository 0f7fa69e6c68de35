"""Job runs at the edges: a lease lost mid-run, syncs that race updates or fail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.store import iso
from jobs import common, overdue_invoices
from tests.jobs.conftest import INVOICE_CHANNEL, Env, now, posts


def test_a_run_whose_lease_was_taken_over_mid_run_posts_nothing(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = env.deps.store.db
    job = overdue_invoices.JOB_ID
    original = overdue_invoices.sync_invoices

    def slow_sync(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        # The sync outlived the lease and another process took the job over meanwhile.
        db.execute(
            "update job_leases set expires_at = ? where job = ?",
            [iso(now() - timedelta(minutes=1)), job],
        )
        assert common.acquire_lease(db, job, holder="other-process")
        return out

    monkeypatch.setattr(overdue_invoices, "sync_invoices", slow_sync)
    result = overdue_invoices.run(env.deps, now(), poster=env.poster)
    assert posts(env.fs, INVOICE_CHANNEL) == []
    assert result.posted == 0 and any("lease" in n for n in result.notes)
    held = db.execute("select holder from job_leases where job = ?", [job]).fetchone()
    assert held[0] == "other-process"  # not released by the run that lost it
