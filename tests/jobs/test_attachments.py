"""A long digest on the sandbox and fake Slack: its full list goes to the thread as one CSV file."""

from __future__ import annotations

import copy
import csv
import io
import logging
import threading
from datetime import datetime
from typing import Any

import pytest

from jobs import engine, state
from jobs.digest import RunResult
from jobs.invoices.select import OverdueInvoice
from jobs.invoices.select import select as select_overdue
from jobs.registry import JOBS
from jobs.slackpost import SlackPoster
from tests.jobs.conftest import (
    INVOICE_CHANNEL,
    SLA_CHANNEL,
    Env,
    now,
    posts,
    stuck_project,
)

INVOICES, SLA = JOBS["overdue-invoices"], JOBS["form-sla"]
UPLOAD_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


def overdue_exactly(env: Env, n: int, at: datetime) -> list[OverdueInvoice]:
    """Make exactly `n` invoices overdue at `at` (pay the others, add copies); digest order."""
    sb, tz = env.sb, env.settings.timezone
    overdue = select_overdue(sb.find("invoices"), at, tz)
    for inv in overdue[n:]:
        sb.pay_invoice(inv.id)
    template = sb.raw("invoices", overdue[0].id)
    next_id = max(i["id"] for i in sb.find("invoices")) + 1
    for k in range(n - len(overdue)):
        rec = copy.deepcopy(template)
        rec.update(
            id=next_id + k,
            uid=70000 + k,
            status="OVERDUE",
            amount=round(95.0 + 7.31 * k, 2),
            amountPaid=0.0,
        )
        sb.put("invoices", rec)
    made = select_overdue(sb.find("invoices"), at, tz)
    assert len(made) == n
    return made


def run_invoices(env: Env, at: datetime, **kw: Any) -> RunResult:
    return engine.run(INVOICES, env.deps, at, poster=env.poster, **kw)


def open_alerts(env: Env, job: str, channel: str) -> dict[str, state.AlertRow]:
    rows = state.load_alerts(env.deps.store.db, job, channel)
    return {key: row for key, row in rows.items() if row.open}


def csv_rows(upload: dict[str, Any]) -> list[list[str]]:
    """An uploaded CSV's rows (header first), read back as a spreadsheet would."""
    return list(csv.reader(io.StringIO(upload["content"].decode("utf-8-sig"), newline="")))


def test_a_long_digest_posts_one_message_and_its_full_list_as_a_csv_in_the_thread(
    env: Env,
) -> None:
    at = now()
    expected = overdue_exactly(env, 250, at)
    result = run_invoices(env, at)
    assert result.failed == 0 and result.posted == 250 and result.messages == 2

    [main] = posts(env.fs, INVOICE_CHANNEL)  # no thread replies
    assert main.get("thread_ts") is None
    [message] = env.fs.messages(INVOICE_CHANNEL)
    assert "The full list of 250 invoices is attached in the thread as a CSV." in str(
        message["blocks"]
    )
    [upload] = env.fs.uploaded()
    assert upload["channel_id"] == INVOICE_CHANNEL and upload["thread_ts"] == message["ts"]
    assert upload["filename"].startswith("overdue-invoices-") and upload["filename"].endswith(
        ".csv"
    )
    assert upload["title"] and upload["initial_comment"]
    rows = csv_rows(upload)
    assert rows[0][:4] == ["Invoice", "Client", "Project", "Balance"]
    assert [r[0] for r in rows[1:]] == [i.uid for i in expected]  # all 250, in digest order
    assert rows[1][3] == f"{expected[0].balance:.2f}"

    # Every item, the main message's and the CSV's, is recorded against the main message.
    alerts = open_alerts(env, "overdue-invoices", INVOICE_CHANNEL)
    assert set(alerts) == {i.key for i in expected}
    assert {row.message_ts for row in alerts.values()} == {message["ts"]}
    # Its stored model stays small: the CSV's items are not in it.
    model = state.load_model(env.deps.store.db, INVOICE_CHANNEL, message["ts"])
    assert model is not None and len(model["items"]) == 15
    assert model["attachment"]["rows"] == 250

    # The next run has nothing new to post.
    again = run_invoices(env, at)
    assert again.posted == 0 and again.skipped == 250 and again.failed == 0
    assert len(posts(env.fs, INVOICE_CHANNEL)) == 1 and len(env.fs.uploaded()) == 1


def test_a_digest_of_sixty_posts_thread_replies_as_before(env: Env) -> None:
    at = now()
    overdue_exactly(env, 60, at)
    result = run_invoices(env, at)
    assert result.posted == 60 and result.messages == 4  # 15 in the main, 45 in 3 replies
    main, *replies = posts(env.fs, INVOICE_CHANNEL)
    [message] = [m for m in env.fs.messages(INVOICE_CHANNEL) if not m.get("thread_ts")]
    assert len(replies) == 3 and {r["thread_ts"] for r in replies} == {message["ts"]}
    assert "45 more in the thread" in str(message["blocks"])
    assert env.fs.uploaded() == [] and env.fs.calls_to("files.getUploadURLExternal") == []


@pytest.mark.parametrize("method", UPLOAD_METHODS)
def test_a_failed_upload_records_the_main_messages_items_and_the_next_run_posts_the_rest(
    env: Env, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    at = now()
    expected = overdue_exactly(env, 250, at)
    env.fs.fail(method, "internal_error", times=1)
    with caplog.at_level(logging.WARNING, logger="jobs"):
        failed = run_invoices(env, at)
    assert failed.posted == 15 and failed.failed == 235 and failed.messages == 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and not warnings[0].exc_info
    assert "attaching the full list (250 rows)" in warnings[0].getMessage()
    assert "internal_error" in warnings[0].getMessage()
    assert env.fs.uploaded() == []
    # Only the main message's 15 are recorded; it now says the rest comes next time.
    [first] = env.fs.messages(INVOICE_CHANNEL)
    recorded = open_alerts(env, "overdue-invoices", INVOICE_CHANNEL)
    assert set(recorded) == {i.key for i in expected[:15]}
    shown = str(first["blocks"])
    assert "could not be attached" in shown and "235 not shown here" in shown
    assert "is attached in the thread" not in shown

    retried = run_invoices(env, at)
    assert retried.posted == 235 and retried.failed == 0
    [upload] = env.fs.uploaded()
    second = [m for m in env.fs.messages(INVOICE_CHANNEL) if m["ts"] != first["ts"]]
    assert [m["ts"] for m in second] == [upload["thread_ts"]]
    assert [r[0] for r in csv_rows(upload)[1:]] == [i.uid for i in expected[15:]]
    assert set(open_alerts(env, "overdue-invoices", INVOICE_CHANNEL)) == {i.key for i in expected}

    assert run_invoices(env, at).posted == 0 and len(env.fs.uploaded()) == 1


def test_a_missing_files_write_scope_says_how_to_fix_it(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    at = now()
    overdue_exactly(env, 130, at)
    env.fs.fail("files.completeUploadExternal", "missing_scope", times=1)
    with caplog.at_level(logging.WARNING, logger="jobs"):
        result = run_invoices(env, at)
    assert result.failed == 115
    assert any("files:write" in r.getMessage() for r in caplog.records)


def test_a_rate_limited_upload_waits_and_is_attached(env: Env) -> None:
    at = now()
    overdue_exactly(env, 130, at)
    env.fs.fail("files.completeUploadExternal", "ratelimited", times=1, retry_after=4)
    result = run_invoices(env, at)
    assert result.failed == 0 and result.posted == 130
    assert 4.0 in env.sleeps and len(env.fs.uploaded()) == 1


def test_a_resolved_invoice_listed_only_in_the_csv_is_counted_in_the_main_message(
    env: Env,
) -> None:
    at = now()
    expected = overdue_exactly(env, 200, at)
    run_invoices(env, at)
    [message] = env.fs.messages(INVOICE_CHANNEL)
    env.sb.pay_invoice(expected[-1].id)  # the smallest balance: in the CSV, not in the message

    result = run_invoices(env, at)
    assert result.resolved == 1 and result.updated == 1 and result.messages == 0
    [update] = env.fs.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (INVOICE_CHANNEL, message["ts"])
    [shown] = env.fs.messages(INVOICE_CHANNEL)
    assert "1 of the invoices in this digest and its CSV were resolved" in str(shown["blocks"])
    assert len(env.fs.uploaded()) == 1  # the CSV is not redone


class StopAfterFirstPost(SlackPoster):
    """A poster whose process gets SIGTERM as soon as the main message is posted."""

    def __init__(self, client: Any, stop: threading.Event) -> None:
        super().__init__(client, sleep=lambda _s: None)
        self.stop = stop

    def post(self, *args: Any, **kwargs: Any) -> str:
        ts = super().post(*args, **kwargs)
        self.stop.set()
        return ts


def test_a_stop_between_the_message_and_its_csv_keeps_the_message_honest(env: Env) -> None:
    at = now()
    expected = overdue_exactly(env, 150, at)
    stop = threading.Event()
    poster = StopAfterFirstPost(env.deps.slack, stop)
    result = engine.run(INVOICES, env.deps, at, poster=poster, stop=stop)
    assert any("shutting down" in note for note in result.notes)
    assert env.fs.uploaded() == []
    recorded = open_alerts(env, "overdue-invoices", INVOICE_CHANNEL)
    assert set(recorded) == {i.key for i in expected[:15]}
    [message] = env.fs.messages(INVOICE_CHANNEL)
    assert "could not be attached" in str(message["blocks"])

    later = run_invoices(env, at)  # the other 135: a digest of its own, with its CSV
    assert later.posted == 135 and len(env.fs.uploaded()) == 1


def test_a_long_form_sla_digest_attaches_its_forms_as_a_csv(env: Env) -> None:
    stuck_project(env.sb, days=30, forms=130)
    at = now()
    result = engine.run(SLA, env.deps, at, poster=env.poster)
    assert result.failed == 0 and result.posted > 115
    [main] = posts(env.fs, SLA_CHANNEL)
    [upload] = env.fs.uploaded()
    assert upload["channel_id"] == SLA_CHANNEL and upload["filename"].startswith("form-sla-")
    rows = csv_rows(upload)
    assert rows[0] == [
        "Level",
        "Project number",
        "Project title",
        "Phase",
        "Days in phase",
        "SLA",
        "Form",
        "Assignee",
        "Status",
        "Coperniq link",
    ]
    assert len(rows) - 1 == result.posted
    levels = [r[0] for r in rows[1:]]
    assert levels == sorted(levels, key=lambda level: level != "red")  # red first
    recorded = open_alerts(env, "form-sla", SLA_CHANNEL)
    assert len(recorded) == result.posted
    assert {row.message_ts for row in recorded.values()} == {upload["thread_ts"]}
    assert engine.run(SLA, env.deps, at, poster=env.poster).posted == 0


def test_a_dry_run_prints_every_item_and_says_a_csv_would_be_attached(env: Env) -> None:
    at = now()
    overdue_exactly(env, 250, at)
    printed: list[str] = []
    result = engine.run(INVOICES, env.deps, at, dry_run=True, out=printed.append)
    assert result.posted == 250
    [text] = printed
    assert text.count("d overdue") == 250
    assert "Full list: attached in the thread as a CSV of 250 rows" in text
    assert env.fs.calls_to("chat.postMessage") == [] and env.fs.uploaded() == []
    assert env.fs.calls_to("files.getUploadURLExternal") == []
