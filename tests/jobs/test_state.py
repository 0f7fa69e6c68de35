"""Alert planning (announce once per level, escalate, re-alert, resolve) and the job lease."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import Store
from jobs import state
from jobs.digest import realert_interval
from jobs.plan import plan_alerts

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
RANK = {"yellow": 1, "red": 2}


def row(
    key: str,
    level: str,
    *,
    last: datetime = NOW - timedelta(hours=1),
    resolved: bool = False,
    project: int = 1,
) -> state.AlertRow:
    return state.AlertRow(
        job="form-sla",
        item_key=key,
        level=level,
        channel="C1",
        message_ts="1.0",
        first_alerted_at=last.isoformat(),
        last_alerted_at=last.isoformat(),
        resolved_at=NOW.isoformat() if resolved else None,
        summary={"project_id": project},
    )


def test_new_items_are_announced_and_known_ones_are_not() -> None:
    plan = plan_alerts(
        {"a": "yellow", "b": "yellow"},
        {"a": row("a", "yellow")},
        NOW,
        realert=timedelta(days=1),
        rank=RANK,
    )
    assert plan.announce == ["b"] and plan.unchanged == ["a"] and plan.resolve == []


def test_escalation_is_announced_again_but_a_lower_level_is_not() -> None:
    plan = plan_alerts(
        {"a": "red", "b": "yellow"},
        {"a": row("a", "yellow"), "b": row("b", "red")},
        NOW,
        realert=None,
        rank=RANK,
    )
    assert plan.announce == ["a"] and plan.unchanged == ["b"]


def test_realert_after_the_interval_and_not_before() -> None:
    # A run a few seconds early the next day still counts as a day later (10 minutes of slack).
    rows = {
        "a": row("a", "red", last=NOW - timedelta(hours=23, minutes=55)),
        "b": row("b", "red", last=NOW - timedelta(hours=23, minutes=49)),
    }
    plan = plan_alerts({"a": "red", "b": "red"}, rows, NOW, realert=timedelta(days=1), rank=RANK)
    assert plan.announce == ["a"] and plan.unchanged == ["b"]
    never = plan_alerts({"a": "red"}, rows, NOW, realert=None, rank=RANK)
    assert never.announce == []


def test_items_gone_are_resolved_only_when_the_data_can_tell() -> None:
    rows = {
        "a": row("a", "red", project=1),
        "b": row("b", "red", project=2),
        "c": row("c", "red", resolved=True),
    }
    plan = plan_alerts(
        {}, rows, NOW, realert=None, rank=RANK, can_resolve=lambda r: r.summary["project_id"] == 1
    )
    assert plan.resolve == ["a"]


def test_a_resolved_item_that_comes_back_is_announced_again() -> None:
    plan = plan_alerts(
        {"c": "yellow"}, {"c": row("c", "yellow", resolved=True)}, NOW, realert=None, rank=RANK
    )
    assert plan.announce == ["c"]


def test_lease_is_exclusive_until_released_or_expired(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "bot.db"), Store(tmp_path / "bot.db")
    t = [NOW]
    holder = state.acquire_lease(a.db, "form-sla", clock=lambda: t[0])
    assert holder is not None
    assert state.acquire_lease(b.db, "form-sla", clock=lambda: t[0]) is None
    assert state.acquire_lease(b.db, "overdue-invoices", clock=lambda: t[0]) is not None
    state.release_lease(a.db, "form-sla", holder)
    second = state.acquire_lease(b.db, "form-sla", clock=lambda: t[0])
    assert second is not None
    # A crashed holder's lease expires.
    t[0] = NOW + state.LEASE_TTL
    assert state.acquire_lease(a.db, "form-sla", clock=lambda: t[0]) is not None
    # Releasing someone else's lease does nothing.
    state.release_lease(b.db, "form-sla", second)
    assert state.acquire_lease(b.db, "form-sla", clock=lambda: t[0]) is None


def test_only_one_of_many_concurrent_takers_gets_the_lease(tmp_path: Path) -> None:
    Store(tmp_path / "bot.db")
    barrier = threading.Barrier(6)
    won: list[str] = []

    def take() -> None:
        s = Store(tmp_path / "bot.db")
        barrier.wait(timeout=10)
        h = state.acquire_lease(s.db, "form-sla", clock=lambda: NOW)
        if h:
            won.append(h)
        s.close()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=20)
    assert len(won) == 1


def test_realert_interval_comes_from_settings_and_zero_means_never() -> None:
    assert realert_interval(24, "hours") == timedelta(hours=24)
    assert realert_interval(7, "days") == timedelta(days=7)
    assert realert_interval(0, "days") is None


def test_a_renewed_lease_outlives_its_ttl_and_a_lease_taken_over_cannot_be_renewed(
    tmp_path: Path,
) -> None:
    a, b = Store(tmp_path / "bot.db"), Store(tmp_path / "bot.db")
    t = [NOW]
    holder = state.acquire_lease(a.db, "form-sla", clock=lambda: t[0])
    assert holder is not None
    t[0] = NOW + state.LEASE_TTL - timedelta(minutes=1)
    assert state.renew_lease(a.db, "form-sla", holder, clock=lambda: t[0])
    t[0] = NOW + state.LEASE_TTL + timedelta(minutes=1)
    assert state.acquire_lease(b.db, "form-sla", clock=lambda: t[0]) is None  # still ours
    t[0] += state.LEASE_TTL
    assert state.acquire_lease(b.db, "form-sla", clock=lambda: t[0]) is not None
    assert not state.renew_lease(a.db, "form-sla", holder, clock=lambda: t[0])


def test_an_upgrade_carries_alerts_message_models_and_runs_over_from_kv(tmp_path: Path) -> None:
    import json

    from sqlite_utils import Database

    from bot.store import migrations

    old = Database(tmp_path / "bot.db")
    migrations.apply(old, stop_before="m008_alert_state_tables")
    old["alerts"].insert(
        {
            "job": "form-sla",
            "item_key": "form:7",
            "level": "red",
            "channel": "C1",
            "message_ts": "1.5",
            "first_alerted_at": NOW.isoformat(),
            "last_alerted_at": NOW.isoformat(),
            "resolved_at": None,
            "summary": json.dumps({"project_id": 3}),
        }
    )
    model = {"job": "form-sla", "kind": "main", "items": [{"key": "form:7"}]}
    kv = [
        ("alertmsg:C1:1.5", json.dumps(model)),
        ("job-last-run:form-sla", NOW.isoformat()),
        ("form-sla.projects_listed", "240"),
        ("something-else", "kept"),
    ]
    old["kv"].insert_all({"key": k, "value": v, "updated_at": NOW.isoformat()} for k, v in kv)
    old.close()

    db = Store(tmp_path / "bot.db").db  # migrates
    [row] = state.load_alerts(db, "form-sla", "C1").values()
    assert (row.item_key, row.level, row.message_ts, row.open) == ("form:7", "red", "1.5", True)
    assert row.summary == {"project_id": 3}
    assert state.load_model(db, "C1", "1.5") == model
    assert state.last_run(db, "form-sla") == NOW
    assert state.sync_get(db, "form-sla.projects_listed") == "240"
    assert [r[0] for r in db.execute("select key from kv").fetchall()] == ["something-else"]
    assert "alerts" not in db.table_names()
