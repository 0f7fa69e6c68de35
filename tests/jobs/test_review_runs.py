"""Job runs at the edges: a lease lost mid-run, syncs that race updates or fail."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.deps import Deps
from bot.store import iso
from jobs import engine, state
from jobs.invoices import collect as invoice_collect
from jobs.invoices.collect import FULL_RESYNC, PAGE_SIZE, sync_invoices
from jobs.registry import JOBS
from jobs.sla.collect import FORMS_TTL
from tests.jobs.conftest import INVOICE_CHANNEL, SLA_CHANNEL, Env, now, posts

INVOICES, SLA = JOBS["overdue-invoices"], JOBS["form-sla"]


def sla_alerts(env: Env) -> dict[str, state.AlertRow]:
    return state.load_alerts(env.deps.store.db, SLA.id, SLA_CHANNEL)


def test_a_run_whose_lease_was_taken_over_mid_run_posts_nothing(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = env.deps.store.db
    job = INVOICES.id
    original = sync_invoices

    def slow_sync(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        # The sync outlived the lease and another process took the job over meanwhile.
        db.execute(
            "update job_leases set expires_at = ? where job = ?",
            [iso(now() - timedelta(minutes=1)), job],
        )
        assert state.acquire_lease(db, job, holder="other-process")
        return out

    monkeypatch.setattr(invoice_collect, "sync_invoices", slow_sync)
    result = engine.run(INVOICES, env.deps, now(), poster=env.poster)
    assert posts(env.fs, INVOICE_CHANNEL) == []
    assert result.posted == 0 and any("lease" in n for n in result.notes)
    held = db.execute("select holder from job_leases where job = ?", [job]).fetchone()
    assert held[0] == "other-process"  # not released by the run that lost it


class _ListingHook:
    """A background client view whose invoice listing calls `hook` after `after` invoices."""

    def __init__(self, api: Any, after: int, hook: Any) -> None:
        self._api, self._after, self._hook = api, after, hook
        self.invoices = self

    def list(self, **filters: Any) -> Any:
        for n, inv in enumerate(self._api.invoices.list(**filters), 1):
            yield inv
            if n == self._after:
                self._hook()

    def get(self, invoice_id: int) -> Any:
        return self._api.invoices.get(invoice_id)


def _local(env: Env, invoice_id: int) -> Any:
    return env.deps.store.db.execute(
        "select status, amount_paid from invoices where id = ?", [invoice_id]
    ).fetchone()


def test_a_full_resync_keeps_an_invoice_the_shifting_pages_skipped(env: Env) -> None:
    db, api, budget = env.deps.store.db, env.deps.coperniq.background, env.deps.coperniq.budget
    assert sync_invoices(db, api, budget, now()).mode == "full"
    ids = sorted(i["id"] for i in env.sb.find("invoices"))
    assert len(ids) > PAGE_SIZE + 1
    deleted, skipped = ids[0], ids[PAGE_SIZE]
    # Deleted in Coperniq after the first page was read: page 2 starts one invoice later.
    hooked = _ListingHook(api, PAGE_SIZE, lambda: env.sb.delete("invoices", deleted))
    out = sync_invoices(db, hooked, budget, now(), full_resync=timedelta(0))
    assert out.mode == "full" and out.complete
    assert _local(env, skipped) is not None  # not listed, but still in Coperniq: kept
    # The next full resync lists it again, and drops the invoice deleted meanwhile.
    sync_invoices(db, api, budget, now(), full_resync=timedelta(0))
    assert _local(env, deleted) is None and _local(env, skipped) is not None


def test_an_invoice_paid_during_a_long_sync_is_caught_by_the_next_one(env: Env) -> None:
    from datetime import UTC, datetime

    from tests.jobs.conftest import api_time

    db, api, budget = env.deps.store.db, env.deps.coperniq.background, env.deps.coperniq.budget
    ids = sorted(i["id"] for i in env.sb.find("invoices", status="SENT"))
    early = ids[0]
    late = sorted(i["id"] for i in env.sb.find("invoices"))[-1]

    def meanwhile() -> None:
        env.sb.pay_invoice(early)  # on a page already read
        # The sync ran on for half an hour: the last page shows an invoice changed since.
        rec = env.sb.raw("invoices", late)
        rec["updatedAt"] = api_time(datetime.now(UTC) + timedelta(minutes=30))
        env.sb.put("invoices", rec)

    hooked = _ListingHook(api, PAGE_SIZE, meanwhile)
    assert sync_invoices(db, hooked, budget, now()).mode == "full"
    assert _local(env, early)[0] == "SENT"  # read before it was paid
    again = sync_invoices(db, api, budget, now())
    assert again.mode == "incremental"
    assert _local(env, early)[0] == "PAID"


def test_when_coperniq_fails_the_digest_still_goes_out_from_the_local_copy(env: Env) -> None:
    first = engine.run(INVOICES, env.deps, now(), poster=env.poster)
    assert first.posted > 0
    env.sb.inject(path="/invoices*", status=500)
    later = engine.run(INVOICES, env.deps, now() + timedelta(days=31), poster=env.poster)
    assert later.failed == 1 and later.posted > 0  # moved to older buckets: listed again
    main = [p for p in posts(env.fs, INVOICE_CHANNEL) if not p.get("thread_ts")][-1]
    assert "could not be refreshed from Coperniq" in str(main["blocks"])


def test_a_shutdown_during_a_run_stops_it_before_posting_and_frees_the_lease(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = sync_invoices
    sigterm = threading.Event()

    def sync_then_sigterm(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        sigterm.set()  # what serve's and clock's signal handlers do on SIGTERM
        return out

    monkeypatch.setattr(invoice_collect, "sync_invoices", sync_then_sigterm)
    stopped = engine.run(INVOICES, env.deps, now(), poster=env.poster, stop=sigterm)
    assert posts(env.fs, INVOICE_CHANNEL) == [] and stopped.posted == 0
    assert any("shutting down" in n for n in stopped.notes)
    monkeypatch.setattr(invoice_collect, "sync_invoices", original)
    # The next process runs at once (lease released) and posts what was left.
    assert engine.run(INVOICES, env.deps, now(), poster=env.poster).posted > 0


def test_the_scheduler_stop_leaves_nothing_that_stops_the_next_start(env: Env) -> None:
    from jobs import scheduler

    first = threading.Event()
    stop = scheduler.start_background(env.deps, first)
    stop()
    assert first.is_set()  # the stopped scheduler's runs were told to stop
    second = threading.Event()
    stop = scheduler.start_background(env.deps, second)
    try:
        assert not second.is_set()  # the next start's runs are not
    finally:
        stop()


def test_a_reminder_is_never_sent_from_a_stale_form_list(env: Env) -> None:
    from tests.jobs.conftest import stuck_project

    _, [form] = stuck_project(env.sb, days=30)
    key = f"form:{form['id']}"
    assert engine.run(SLA, env.deps, now(), poster=env.poster).posted >= 1
    env.sb.complete_form(form["id"])
    before = len(posts(env.fs, SLA_CHANNEL))
    # A day later the reminder is due, but the cached list is stale and the cap allows no
    # refresh: the reminder waits rather than report a completed form as still open.
    no_refresh = replace(SLA, refresh_per_run=0)
    engine.run(no_refresh, env.deps, now() + timedelta(hours=25), poster=env.poster)
    # Other projects may cross an SLA in those 25 hours (days in phase are computed at the run's
    # time from the stored phase start) and be posted: only the stale form must not be.
    assert not any(form["name"] in str(p["blocks"]) for p in posts(env.fs, SLA_CHANNEL)[before:])
    assert sla_alerts(env)[key].resolved_at is None
    # A later run with room to refresh re-reads it and resolves it.
    later = engine.run(SLA, env.deps, now() + timedelta(hours=26), poster=env.poster)
    assert later.resolved >= 1
    assert sla_alerts(env)[key].resolved_at is not None


def test_a_dry_run_dated_next_month_does_not_freeze_the_form_cache(env: Env) -> None:
    from tests.jobs.conftest import stuck_project

    _, [form] = stuck_project(env.sb, days=30)
    engine.run(SLA, env.deps, now() + timedelta(days=30), dry_run=True, out=lambda _t: None)
    env.sb.complete_form(form["id"])
    # Six hours later (real time) the list the dry run read is stale: not the basis of an alert.
    engine.run(SLA, env.deps, now() + FORMS_TTL, poster=env.poster)
    assert not any(form["name"] in str(p["blocks"]) for p in posts(env.fs, SLA_CHANNEL))


def test_a_dry_run_dated_next_month_does_not_put_off_the_weekly_full_resync(env: Env) -> None:
    from tests.jobs.conftest import requests_to

    engine.run(INVOICES, env.deps, now() + timedelta(days=30), dry_run=True, out=lambda _t: None)
    before = len(requests_to(env.sb, "*/invoices"))
    engine.run(INVOICES, env.deps, now() + FULL_RESYNC, poster=env.poster)
    listed = requests_to(env.sb, "*/invoices")[before:]
    assert listed and all("updated_after" not in r.query for r in listed)  # a full listing


def never_realert(env: Env) -> Deps:
    """The env's dependencies with SLA_REALERT_HOURS=0 (a form past SLA is announced once)."""
    return replace(env.deps, settings=replace(env.settings, sla_realert_hours=0))


def test_a_run_dated_two_months_ahead_keeps_the_messages_it_may_still_update(env: Env) -> None:
    from tests.jobs.conftest import stuck_project

    _, [form] = stuck_project(env.sb, days=30)
    engine.run(SLA, env.deps, now(), poster=env.poster)
    row = sla_alerts(env)[f"form:{form['id']}"]
    engine.run(SLA, never_realert(env), now() + timedelta(days=60), poster=env.poster)
    assert state.load_model(env.deps.store.db, row.channel, row.message_ts) is not None


def test_a_message_still_showing_an_open_alert_stays_updatable_past_the_model_keep(
    env: Env,
) -> None:
    from tests.jobs.conftest import stuck_project

    _, [form] = stuck_project(env.sb, days=30)
    deps = never_realert(env)
    engine.run(SLA, deps, now(), poster=env.poster)
    db = env.deps.store.db
    row = sla_alerts(env)[f"form:{form['id']}"]
    long_ago = iso(now() - engine.MODEL_KEEP - timedelta(days=1))
    db.execute("update alert_messages set updated_at = ?", [long_ago])
    engine.run(SLA, deps, now(), poster=env.poster)  # prunes old models
    env.sb.complete_form(form["id"])
    done = engine.run(SLA, deps, now() + FORMS_TTL, poster=env.poster)
    assert done.resolved >= 1 and done.updated >= 1
    assert env.fs.calls_to("chat.update")[-1]["ts"] == row.message_ts
