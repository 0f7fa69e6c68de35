"""Job runs on the Coperniq sandbox and fake Slack: once, current, retried, leased, budgeted."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from jobs import engine, state
from jobs.digest import RunResult
from jobs.invoices.collect import FULL_RESYNC
from jobs.registry import JOBS
from jobs.sla.collect import FORMS_TTL
from jobs.sla.select import sla_level
from tests.jobs.conftest import (
    INVOICE_CHANNEL,
    SLA_CHANNEL,
    Env,
    make_env,
    move_to_another_phase,
    now,
    posts,
    requests_to,
    set_days_in_phase,
    stuck_project,
)

INVOICES, SLA = JOBS["overdue-invoices"], JOBS["form-sla"]
CHANNEL = {"overdue-invoices": INVOICE_CHANNEL, "form-sla": SLA_CHANNEL}


def run_invoices(e: Env, at: datetime | None = None, **kw: Any) -> RunResult:
    return engine.run(INVOICES, e.deps, at or now(), poster=e.poster, **kw)


def run_sla(e: Env, at: datetime | None = None, **kw: Any) -> RunResult:
    return engine.run(SLA, e.deps, at or now(), poster=e.poster, **kw)


def alerts(e: Env, job: str) -> dict[str, state.AlertRow]:
    return state.load_alerts(e.deps.store.db, job, CHANNEL[job])


def open_alerts(e: Env, job: str) -> dict[str, state.AlertRow]:
    return {k: r for k, r in alerts(e, job).items() if r.open}


def message(e: Env, channel: str, ts: str) -> dict[str, Any]:
    return next(m for m in e.fs.messages(channel) if m["ts"] == ts)


# --- overdue invoices ----------------------------------------------------------------------------


def test_invoice_digest_posts_once_when_run_twice(env: Env) -> None:
    first = run_invoices(env)
    assert first.ran and first.posted > 0 and first.failed == 0
    sent = posts(env.fs, INVOICE_CHANNEL)
    assert len(sent) == first.messages >= 1
    assert all(p.get("text") and len(p["blocks"]) <= 50 for p in sent)
    assert len(open_alerts(env, "overdue-invoices")) == first.posted

    second = run_invoices(env)
    assert second.posted == 0 and second.messages == 0
    assert second.skipped == first.posted
    assert len(posts(env.fs, INVOICE_CHANNEL)) == len(sent)


def test_first_sync_is_full_and_later_ones_use_updated_after(env: Env) -> None:
    run_invoices(env)
    first = requests_to(env.sb, "*/invoices")
    assert first and all("updated_after" not in r.query for r in first)
    assert all(r.query.get("page_size") == "100" for r in first)
    count = len(first)
    result = run_invoices(env, now() + timedelta(hours=1))
    later = requests_to(env.sb, "*/invoices")[count:]
    assert len(later) == 1 == result.coperniq_calls
    assert "updated_after" in later[0].query
    newest = max(i["updatedAt"] for i in env.sb.find("invoices"))
    # The watermark is the newest updatedAt seen, minus a small overlap.
    assert later[0].query["updated_after"] < newest


def test_a_paid_invoice_updates_the_message_that_listed_it(env: Env) -> None:
    run_invoices(env)
    rows = open_alerts(env, "overdue-invoices")
    key, row = next(iter(rows.items()))
    inv = env.sb.pay_invoice(int(key.split(":")[1]))

    result = run_invoices(env)
    assert result.resolved == 1 and result.updated == 1 and result.messages == 0
    [update] = env.fs.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (INVOICE_CHANNEL, row.message_ts)
    shown = str(message(env, INVOICE_CHANNEL, row.message_ts)["blocks"])
    assert f"✅ ~#{inv['uid']}" in shown
    assert alerts(env, "overdue-invoices")[key].resolved_at is not None
    # Nothing more to do on the next run.
    again = run_invoices(env)
    assert again.updated == 0 and again.resolved == 0


def test_an_invoice_moving_to_an_older_bucket_is_listed_again(env: Env) -> None:
    run_invoices(env)
    rows = open_alerts(env, "overdue-invoices")
    young = [k for k, r in rows.items() if r.level == "1-30"]
    assert young
    result = run_invoices(env, now() + timedelta(days=31))
    assert result.posted >= len(young)
    reposted = {k for k, r in open_alerts(env, "overdue-invoices").items() if r.level != "1-30"}
    assert set(young) <= reposted


def test_a_slack_failure_records_nothing_and_the_next_run_retries(env: Env) -> None:
    env.fs.fail("chat.postMessage", "channel_not_found", times=1)
    failed = run_invoices(env)
    assert failed.posted == 0 and failed.failed > 0
    assert open_alerts(env, "overdue-invoices") == {}
    retried = run_invoices(env)
    assert retried.posted > 0 and retried.failed == 0
    assert len(open_alerts(env, "overdue-invoices")) == retried.posted


def test_a_slack_500_during_a_digest_is_one_log_line_not_a_traceback(env: Env, caplog) -> None:
    env.fs.fail("chat.postMessage", "internal_error", times=1, status=500)
    with caplog.at_level(logging.WARNING):
        failed = run_invoices(env)
    assert failed.posted == 0 and failed.failed > 0
    refused = [r for r in caplog.records if "Slack refused" in r.getMessage()]
    assert len(refused) == 1 and "internal_error (HTTP 500)" in refused[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
    assert run_invoices(env).posted > 0  # and the next run posts it


def test_ratelimited_posts_wait_retry_after_and_succeed(env: Env) -> None:
    env.fs.fail("chat.postMessage", "ratelimited", times=1, retry_after=3)
    result = run_invoices(env)
    assert result.failed == 0 and result.posted > 0
    assert 3.0 in env.sleeps


def test_a_new_process_on_the_same_database_does_not_repeat(env: Env) -> None:
    first = run_invoices(env)
    other = env.new_process()
    try:
        again = engine.run(INVOICES, other.deps, now(), poster=other.poster)
    finally:
        other.deps.store.close()
    assert again.posted == 0 and again.skipped == first.posted
    assert len(posts(env.fs, INVOICE_CHANNEL)) == first.messages


def test_a_held_lease_skips_the_run_without_calls(env: Env) -> None:
    assert state.acquire_lease(env.deps.store.db, "overdue-invoices", holder="other-process")
    result = run_invoices(env)
    assert not result.ran and result.coperniq_calls == 0
    assert env.sb.requests == [] and posts(env.fs, INVOICE_CHANNEL) == []


def test_two_processes_at_once_post_the_digest_once(env: Env) -> None:
    others = [env.new_process() for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[RunResult] = []

    def go(e: Env) -> None:
        barrier.wait(timeout=10)
        results.append(engine.run(INVOICES, e.deps, now(), poster=e.poster))

    threads = [threading.Thread(target=go, args=(e,)) for e in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in others:
        e.deps.store.close()
    assert len(results) == 2
    # Either the second found the lease held, or it ran after the first and found nothing new.
    assert sum(r.posted for r in results) == max(r.posted for r in results) > 0
    assert len(posts(env.fs, INVOICE_CHANNEL)) == max(r.messages for r in results)


def test_dry_run_prints_and_posts_nothing(env: Env) -> None:
    printed: list[str] = []
    result = engine.run(INVOICES, env.deps, now(), dry_run=True, out=printed.append)
    assert result.posted > 0 and printed and "Overdue invoices" in printed[0]
    assert env.fs.calls_to("chat.postMessage") == []
    assert open_alerts(env, "overdue-invoices") == {}


def level_of(served: dict[str, Any]) -> str | None:
    """A project's SLA level as the sandbox serves it (None when not ACTIVE or below yellow)."""
    if served.get("status") != "ACTIVE":
        return None
    return sla_level(served.get("phase") or served.get("stage"))


# --- form SLA ------------------------------------------------------------------------------------


def test_form_sla_posts_once_then_again_on_escalation(env: Env) -> None:
    project, [form] = stuck_project(env.sb, days=8)
    key = f"form:{form['id']}"
    first = run_sla(env)
    first_row = open_alerts(env, "form-sla")[key]
    assert first.failed == 0 and first_row.level == "yellow"
    first_posts = posts(env.fs, SLA_CHANNEL)
    assert any(form["name"] in str(p["blocks"]) for p in first_posts)

    assert run_sla(env).messages == 0  # nothing new an hour later
    set_days_in_phase(env.sb, project["id"], 14)
    escalated = run_sla(env)
    assert escalated.messages >= 1
    row = open_alerts(env, "form-sla")[key]
    assert row.level == "red"
    latest = message(env, SLA_CHANNEL, row.message_ts)
    assert "🔴" in str(latest["blocks"]) and form["name"] in str(latest["blocks"])
    assert row.message_ts != first_row.message_ts  # a new post, not an edit
    # The earlier message now says the form was listed again, instead of showing it as current.
    [update] = env.fs.calls_to("chat.update")
    assert update["ts"] == first_row.message_ts
    earlier = str(message(env, SLA_CHANNEL, first_row.message_ts)["blocks"])
    assert f"↪ ~#{project['number']}" in earlier and "listed again" in earlier


def test_a_completed_form_updates_its_message_once_its_list_is_reread(env: Env) -> None:
    project, [form, other] = stuck_project(env.sb, days=20, forms=2)
    run_sla(env)
    row = open_alerts(env, "form-sla")[f"form:{form['id']}"]
    env.deps.coperniq.interactive.forms.update(form["id"], {"status": "COMPLETED"})

    cached = run_sla(env)  # the cached form list is still fresh: no change seen, no call spent
    assert cached.resolved == 0
    result = run_sla(env, now() + FORMS_TTL)
    assert result.resolved == 1 and result.updated == 1
    update = env.fs.calls_to("chat.update")[-1]
    assert update["ts"] == row.message_ts
    shown = str(message(env, SLA_CHANNEL, row.message_ts)["blocks"])
    assert f"✅ ~#{project['number']}" in shown and form["name"] in shown
    assert f"form:{other['id']}" in open_alerts(env, "form-sla")


def test_a_project_leaving_the_phase_resolves_its_forms(env: Env) -> None:
    project, [form] = stuck_project(env.sb, days=30)
    run_sla(env)
    row = open_alerts(env, "form-sla")[f"form:{form['id']}"]
    move_to_another_phase(env.sb, project["id"])
    result = run_sla(env)
    assert result.resolved >= 1
    assert env.fs.calls_to("chat.update")[-1]["ts"] == row.message_ts
    assert f"form:{form['id']}" not in open_alerts(env, "form-sla")


def test_form_lists_are_fetched_only_for_projects_at_or_past_yellow_and_then_cached(
    env: Env,
) -> None:
    stuck_project(env.sb, days=9)
    first = run_sla(env)
    listed = requests_to(env.sb, "*/projects")
    forms_calls = requests_to(env.sb, "*/projects/*/forms")
    risky = {p["id"] for p in env.sb.find("projects") if level_of(p)}
    assert {int(r.path.split("/")[-2]) for r in forms_calls} == risky
    assert len(forms_calls) == len(risky)
    assert all(r.query.get("page_size") == "100" for r in listed)
    assert first.coperniq_calls == len(listed) + len(forms_calls)
    second = run_sla(env)
    assert second.coperniq_calls == len(requests_to(env.sb, "*/projects")) - len(listed)
    assert len(requests_to(env.sb, "*/projects/*/forms")) == len(forms_calls)


def test_short_budget_reads_red_first_and_says_what_was_left_out(env: Env) -> None:
    reds = [stuck_project(env.sb, days=400 + i)[1][0] for i in range(3)]
    stuck_project(env.sb, days=8)
    # 4 a day keeps 1 for people: 3 for background = the project page + 2 form lists.
    short = make_env(env.sb, env.fs, env.path.with_name("short.db"), daily_budget=4)
    try:
        result = engine.run(SLA, short.deps, now(), poster=short.poster)
    finally:
        short.deps.store.close()
    assert result.coperniq_calls == 3 and result.left_out >= 2
    [post] = posts(env.fs, SLA_CHANNEL)
    shown = str(post["blocks"])
    assert "were not checked" in shown and "red ones were read first" in shown
    levels = {r.level for r in open_alerts(short, "form-sla").values()}
    assert levels == {"red"}
    assert sum(f["name"] in shown for f in reds) == 2  # the two longest-stuck red projects


def test_one_failing_job_does_not_stop_the_other(env: Env) -> None:
    from jobs import scheduler

    env.sb.inject(path="/invoices*", status=500)
    scheduler._scheduled(env.deps, INVOICES, threading.Event())  # logged, not raised
    stuck_project(env.sb, days=30)
    result = run_sla(env)
    assert result.posted > 0


def test_the_weekly_full_resync_drops_deleted_invoices_and_resolves_them(env: Env) -> None:
    run_invoices(env)
    key, row = next(iter(open_alerts(env, "overdue-invoices").items()))
    env.sb.delete("invoices", int(key.split(":")[1]))
    before = len(requests_to(env.sb, "*/invoices"))
    soon = run_invoices(env, now() + timedelta(hours=2))  # incremental: a deletion is invisible
    assert soon.resolved == 0
    later = run_invoices(env, now() + FULL_RESYNC)
    full = requests_to(env.sb, "*/invoices")[before + 1 :]
    assert full and all("updated_after" not in r.query for r in full)
    assert later.resolved >= 1
    assert alerts(env, "overdue-invoices")[key].resolved_at is not None
    assert (
        env.deps.store.db.execute(
            "select count(*) from invoices where id = ?", [int(key.split(":")[1])]
        ).fetchone()[0]
        == 0
    )


def test_a_project_whose_forms_fail_to_load_is_retried_and_the_rest_still_post(env: Env) -> None:
    broken, [lost] = stuck_project(env.sb, days=30)
    fine, [form] = stuck_project(env.sb, days=30)
    env.sb.inject(path=f"/projects/{broken['id']}/forms", status=500, times=20)
    first = run_sla(env)
    assert first.failed == 1
    keys = set(open_alerts(env, "form-sla"))
    assert f"form:{form['id']}" in keys and f"form:{lost['id']}" not in keys
    shown = str(posts(env.fs, SLA_CHANNEL)[0]["blocks"])
    assert "could not be read" in shown and f"#{broken['number']}" in shown
    env.sb.clear_faults()
    second = run_sla(env)
    assert second.failed == 0 and f"form:{lost['id']}" in open_alerts(env, "form-sla")


def test_a_failed_update_is_retried_but_a_deleted_message_is_let_go(env: Env) -> None:
    run_invoices(env)
    keys = list(open_alerts(env, "overdue-invoices"))
    env.sb.pay_invoice(int(keys[0].split(":")[1]))
    env.fs.fail("chat.update", "internal_error", times=1)
    failed = run_invoices(env)
    assert failed.resolved == 0 and failed.failed == 1
    assert keys[0] in open_alerts(env, "overdue-invoices")
    retried = run_invoices(env)
    assert retried.resolved == 1 and retried.updated == 1

    env.sb.pay_invoice(int(keys[1].split(":")[1]))
    env.fs.fail("chat.update", "message_not_found", times=1)
    gone = run_invoices(env)
    assert gone.resolved == 1 and gone.updated == 0 and gone.failed == 0
    assert keys[1] not in open_alerts(env, "overdue-invoices")


def test_with_no_budget_left_invoices_come_from_the_local_copy_and_the_digest_says_so(
    env: Env,
) -> None:
    run_invoices(env)
    short = env.new_process(daily_budget=1)  # everything is kept for people
    try:
        result = engine.run(INVOICES, short.deps, now() + timedelta(days=31), poster=short.poster)
    finally:
        short.deps.store.close()
    assert result.coperniq_calls == 0 and result.left_out == 1 and result.posted > 0
    main = [p for p in posts(env.fs, INVOICE_CHANNEL) if not p.get("thread_ts")][-1]
    assert "were not refreshed from Coperniq" in str(main["blocks"])
