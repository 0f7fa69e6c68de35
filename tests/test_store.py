from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import store as st


def test_migrations_create_every_table_on_an_empty_database(tmp_path: Path) -> None:
    s = st.Store(tmp_path / "fresh.db")
    names = set(s.db.table_names())
    assert {
        "api_calls",
        "kv",
        "slack_events",
        "audit_log",
        "submissions",
        "alert_items",  # was "alerts" before m008, which keys it by channel too
        "alert_messages",
        "job_runs",
        "job_leases",
        "invoices",
        "sync_state",
        "form_cache",
        "coperniq_users",
        "slack_links",
    } <= names
    assert s.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert st.migrations.pending(s.db) == []


def test_reopening_applies_nothing_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    s1 = st.Store(path)
    st.kv_set(s1.db, "k", "v")
    applied = [m.name for m in st.migrations.applied(s1.db)]
    s1.close()
    s2 = st.Store(path)
    assert [m.name for m in st.migrations.applied(s2.db)] == applied
    assert st.kv_get(s2.db, "k") == "v"


def test_api_calls_are_counted_in_a_window(store: st.Store) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for minutes in (10, 60 * 23, 60 * 25):
        st.record_api_call(
            store.db,
            at=now - timedelta(minutes=minutes),
            method="GET",
            path="/projects",
            status=200,
            purpose="background",
        )
    st.record_api_call(
        store.db, at=now, method="POST", path="/x", status=201, purpose="interactive"
    )
    day_ago = now - timedelta(hours=24)
    assert st.api_calls_since(store.db, day_ago) == 3
    assert st.api_calls_since(store.db, day_ago, purpose="background") == 2


def test_timestamps_are_utc_text_and_naive_ones_are_refused() -> None:
    chicago = datetime(2026, 3, 8, 1, 30).astimezone()
    assert st.iso(chicago).endswith("+00:00")
    with pytest.raises(ValueError):
        st.iso(datetime(2026, 1, 1))


def test_an_event_is_claimed_once_but_a_failed_one_can_be_retried(store: st.Store) -> None:
    assert st.claim_event(store.db, "Ev1") is True
    assert st.claim_event(store.db, "Ev1") is False
    st.finish_event(store.db, "Ev1", ok=False)
    assert st.claim_event(store.db, "Ev1") is True
    st.finish_event(store.db, "Ev1", ok=True)
    assert st.claim_event(store.db, "Ev1") is False


def test_audit_rows_record_who_did_what(store: st.Store) -> None:
    st.audit(
        store.db,
        slack_user="U123",
        action="create_request",
        record_type="opportunity",
        record_id=42,
        outcome="ok",
        detail={"title": "AC not cooling"},
    )
    row = next(store.db["audit_log"].rows)
    assert row["slack_user"] == "U123" and row["record_id"] == "42" and row["outcome"] == "ok"


def test_threads_get_their_own_connection_and_see_the_same_data(store: st.Store) -> None:
    st.kv_set(store.db, "shared", "1")
    seen: list[str | None] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(20):
                st.kv_set(store.db, f"t{i}-{j}", "x")
            seen.append(st.kv_get(store.db, "shared"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert seen == ["1"] * 6
    assert store.db["kv"].count == 1 + 6 * 20


def test_two_processes_opening_a_new_file_at_once_both_succeed(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "race.db"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=st.open_store, args=(path,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert st.migrations.pending(st.Store(path).db) == []


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(store: st.Store) -> None:
    t0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert st.claim_event(store.db, "Ev2", t0) is True
    assert st.claim_event(store.db, "Ev2", t0 + timedelta(minutes=1)) is False
    assert st.claim_event(store.db, "Ev2", t0 + timedelta(minutes=5)) is True
