"""The Coperniq webhook receiver over HTTP: secret, limits, store first, processed once."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from bot.store import iso
from tests.webhooks.conftest import SECRET, Recorder, build_hooked, event_body

PHASE_STARTED = "PROJECT_PHASE_STARTED"


def test_a_wrong_or_missing_secret_is_404_and_nothing_is_stored_or_done(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    recorder = Recorder()
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path, processor=recorder)
    try:
        base = hooked.slack.server.url
        body = json.dumps(event_body("PROJECT_PHASE_SLA_VIOLATION")).encode()
        for path in (
            "/coperniq/webhooks/wrong",
            "/coperniq/webhooks/" + SECRET[:-1],
            "/coperniq/webhooks/" + SECRET + "x",
            "/coperniq/webhooks/" + SECRET + "/",
            "/coperniq/webhooks/",
            "/coperniq/webhooks",
        ):
            answer = hooked.http.post(base + path, content=body)
            assert answer.status_code == 404, path
            assert answer.text == "Not Found"
        # Even a GET with the wrong secret looks like any unknown path.
        assert hooked.http.get(base + "/coperniq/webhooks/wrong").status_code == 404
        assert hooked.worker.wait_idle(5)
        assert hooked.rows() == []
        assert recorder.calls == []
        assert coperniq_sandbox.requests == []
    finally:
        close()


def test_the_right_secret_is_answered_200_with_the_delivery_stored_before_processing(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    gate = threading.Event()
    recorder = Recorder(gate)
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path, processor=recorder)
    try:
        body = event_body("PROJECT_PHASE_SLA_VIOLATION", slaType="YELLOW", phaseTemplateId=5106)
        answer = hooked.post(body)
        assert answer.status_code == 200
        # Answered while processing is still held at the gate: stored, not yet processed.
        [row] = hooked.rows()
        assert row["event_id"] == str(body["event"]["eventId"])
        assert row["status"] in ("received", "processing")
        assert row["trigger_key"] == "PROJECT_PHASE_SLA_VIOLATION"
        assert row["record_id"] == 40003
        assert row["fired_at"].startswith("2025-01-01T00:00:00")
        assert json.loads(row["body"]) == body
        assert recorder.calls == []
        gate.set()
        assert hooked.worker.wait_idle(5)
        [row] = hooked.rows()
        assert (row["status"], row["attempts"], row["outcome"]) == ("done", 1, "recorded")
        # Processing ran on the worker thread, never on the HTTP thread that answered.
        assert recorder.threads == {"coperniq-webhooks"}
    finally:
        gate.set()
        close()


def test_a_redelivered_event_is_answered_200_and_processed_once(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    recorder = Recorder()
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path, processor=recorder)
    try:
        body = event_body(PHASE_STARTED, phaseTemplateId=5107)
        assert hooked.post(body).status_code == 200
        assert hooked.worker.wait_idle(5)
        again = hooked.post(body)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert hooked.worker.wait_idle(5)
        assert recorder.calls == [str(body["event"]["eventId"])]
        assert len(hooked.rows()) == 1
    finally:
        close()


def test_rows_left_by_a_killed_process_are_processed_once_at_the_next_start(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    recorder = Recorder()
    hooked, close = build_hooked(
        fake_slack, coperniq_sandbox, tmp_path, processor=recorder, start_worker=False
    )
    try:
        now = datetime.now(UTC)
        rows = {
            "1": ("received", None, 0),  # stored and answered, then the process died
            "2": ("processing", now - timedelta(minutes=10), 1),  # died while processing
            "3": ("processing", now - timedelta(seconds=30), 1),  # another process is on it
            "4": ("done", now - timedelta(minutes=10), 1),
        }
        for event_id, (status, at, attempts) in rows.items():
            hooked.db["webhook_events"].insert(
                {
                    "event_id": event_id,
                    "trigger_key": PHASE_STARTED,
                    "record_id": 40003,
                    "received_at": iso(now - timedelta(minutes=11)),
                    "body": json.dumps(event_body(PHASE_STARTED, eventId=int(event_id))),
                    "status": status,
                    "attempts": attempts,
                    "processed_at": iso(at) if at else None,
                }
            )
        # The restarted process: its worker starts, and a redelivery of one of them arrives.
        hooked.worker.start()
        assert hooked.post(event_body(PHASE_STARTED, eventId=1)).status_code == 200
        assert hooked.worker.wait_idle(5)
        assert sorted(recorder.calls) == ["1", "2"]
        status = {r["event_id"]: (r["status"], r["attempts"]) for r in hooked.rows()}
        assert status == {
            "1": ("done", 1),
            "2": ("done", 2),
            "3": ("processing", 1),
            "4": ("done", 1),
        }
    finally:
        close()


def test_a_burst_of_500_deliveries_is_all_acked_and_each_processed_once(hooked) -> None:
    bodies = [
        event_body(PHASE_STARTED, record_id=41000 + n, phaseTemplateId=5107) for n in range(500)
    ]
    # Coperniq redelivers: a tenth of them arrive twice within the burst.
    sends = bodies + bodies[::10]

    def send(body: dict) -> int:
        with httpx.Client(timeout=30) as client:
            return client.post(hooked.url, json=body).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(send, sends))
    assert all(200 <= s < 300 for s in statuses), sorted(set(statuses))
    assert hooked.worker.wait_idle(30)
    rows = hooked.rows()
    assert len(rows) == 500
    assert {(r["status"], r["attempts"]) for r in rows} == {("done", 1)}
    assert hooked.slack.sandbox.requests == []  # phase events cost no Coperniq call


def test_an_oversize_body_is_413_without_being_stored(hooked) -> None:
    big = event_body(PHASE_STARTED)
    big["record"]["description"] = "x" * (300 * 1024)
    answer = hooked.post(big)
    assert answer.status_code == 413
    assert hooked.rows() == []


def test_a_body_that_is_no_delivery_is_400(hooked) -> None:
    for raw in (
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"record": {}}',
        b'{"event": {"triggerKey": "TASK_COMPLETED"}}',
        b'{"event": {"eventId": true}}',
    ):
        answer = hooked.post(None, raw=raw)
        assert answer.status_code == 400, raw
    assert hooked.rows() == []


def test_an_unknown_trigger_is_200_logged_and_stored_ignored(hooked, caplog) -> None:
    caplog.set_level(logging.INFO)
    body = event_body("SOMETHING_NEW")
    assert hooked.post(body).status_code == 200
    [row] = hooked.rows()
    assert (row["status"], row["outcome"]) == ("ignored", "unknown triggerKey")
    assert "unknown triggerKey 'SOMETHING_NEW'" in caplog.text
    # A documented trigger the bot does not use is stored ignored too, and nothing runs.
    assert hooked.post(event_body("APPOINTMENT_CREATED", appointmentId=5)).status_code == 200
    assert hooked.worker.wait_idle(5)
    assert {r["status"] for r in hooked.rows()} == {"ignored"}
    assert hooked.slack.sandbox.requests == []


def test_work_order_events_are_processed_with_their_work_order(hooked) -> None:
    moved = event_body(
        "TASK_STATUS_MOVEMENT", workOrderId=7001, currentStatus="WORKING", previousStatus="ASSIGNED"
    )
    done = event_body("TASK_COMPLETED")
    done["workOrder"] = {"id": 7002, "status": "COMPLETED"}
    assert hooked.post(moved).status_code == 200
    assert hooked.post(done).status_code == 200
    assert hooked.worker.wait_idle(5)
    rows = {r["work_order_id"]: (r["status"], r["outcome"]) for r in hooked.rows()}
    # Never seen before, so each is read once; the sandbox has neither.
    assert rows == {
        7001: ("failed", "work order 7001: not found in Coperniq"),
        7002: ("failed", "work order 7002: not found in Coperniq"),
    }
    assert sorted(r.path for r in hooked.slack.sandbox.requests) == [
        "/work-orders/7001",
        "/work-orders/7002",
    ]


def test_no_log_line_carries_the_secret(fake_slack, coperniq_sandbox, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    hooked, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        hooked.post(event_body("PROJECT_PHASE_SLA_VIOLATION", slaType="ODD"))
        hooked.post(event_body("SOMETHING_NEW"))
        hooked.post(None, raw=b"nope")
        big = event_body(PHASE_STARTED)
        big["record"]["x"] = "y" * (300 * 1024)
        hooked.post(big)
        hooked.post(event_body(PHASE_STARTED), secret=SECRET + "x")
        hooked.http.get(hooked.url)
        assert hooked.worker.wait_idle(10)
    finally:
        close()
    assert "/coperniq/webhooks/***" in caplog.text
    for record in caplog.records:
        if record.name.startswith(("httpx", "httpcore")):
            continue  # this test's own HTTP client, which logs the URL it calls
        text = record.getMessage() + (record.exc_text or "")
        assert SECRET not in text, text
        assert SECRET[:12] not in text
