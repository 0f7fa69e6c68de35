"""form-sla's local copy of the projects: changes-only listings, the daily sweep, computed days."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.store import Store, iso
from jobs import engine, state
from jobs.registry import JOBS
from jobs.sla.collect import FULL_SWEEP_AT, WATERMARK, keep_projects
from tests.jobs.conftest import (
    SLA_CHANNEL,
    Env,
    move_to_another_phase,
    now,
    posts,
    requests_to,
    stuck_project,
)

SLA = JOBS["form-sla"]


def swept_at(env: Env, at: datetime) -> None:
    """As if the day's full sweep had run at `at`: the next run lists changes only."""
    state.sync_set(env.deps.store.db, FULL_SWEEP_AT, iso(at), at)


def nothing_changed_since(env: Env, at: datetime) -> None:
    """As if the last listing had seen an update at `at`: older records are not listed again."""
    state.sync_set(env.deps.store.db, WATERMARK, iso(at), at)


def reads_by_id(env: Env) -> list[Any]:
    return [r for r in env.sb.requests if r.path.rsplit("/", 1)[-1].isdigit()]


def listings(env: Env, since: int) -> list[Any]:
    return requests_to(env.sb, "*/projects")[since:]


def test_after_the_days_sweep_a_run_lists_changes_only_and_sees_days_pass(env: Env) -> None:
    _, [form] = stuck_project(env.sb, days=6, yellow=7, red=14)
    t0 = now()
    engine.run(SLA, env.deps, t0, poster=env.poster)
    assert not any(form["name"] in str(p["blocks"]) for p in posts(env.fs, SLA_CHANNEL))
    assert all("updated_after" not in r.query for r in listings(env, 0))  # the first: a sweep
    before = len(requests_to(env.sb, "*/projects"))
    swept_at(env, t0 + timedelta(days=1))
    nothing_changed_since(env, t0 + timedelta(hours=1))
    # A day later the project is 7 days in its phase by the stored phase start: at yellow, with
    # no full listing and no read of it (Coperniq's own count was 6 when it was read).
    engine.run(SLA, env.deps, t0 + timedelta(days=1), poster=env.poster)
    listed = listings(env, before)
    assert listed and all("updated_after" in r.query for r in listed)
    assert not reads_by_id(env)
    assert any(form["name"] in str(p["blocks"]) for p in posts(env.fs, SLA_CHANNEL))


def test_a_changes_only_run_resolves_a_project_that_left_its_phase(env: Env) -> None:
    project, [form] = stuck_project(env.sb, days=30)
    t0 = now()
    assert engine.run(SLA, env.deps, t0, poster=env.poster).posted >= 1
    move_to_another_phase(env.sb, project["id"])
    swept_at(env, t0)
    before = len(requests_to(env.sb, "*/projects"))
    result = engine.run(SLA, env.deps, t0 + timedelta(minutes=5), poster=env.poster)
    assert all("updated_after" in r.query for r in listings(env, before))
    assert result.resolved >= 1
    row = state.load_alerts(env.deps.store.db, SLA.id, SLA_CHANNEL)[f"form:{form['id']}"]
    assert row.resolved_at is not None


def test_only_a_full_sweep_drops_a_deleted_project_and_after_a_404(env: Env) -> None:
    project, _ = stuck_project(env.sb, days=2)
    db = env.deps.store.db
    t0 = now()
    engine.run(SLA, env.deps, t0, poster=env.poster)
    env.sb.delete("projects", project["id"])
    swept_at(env, t0)
    engine.run(SLA, env.deps, t0 + timedelta(minutes=5), poster=env.poster)
    assert db["projects"].count_where("id = ?", [project["id"]]) == 1  # changes only: kept
    # Over 24 hours since the last sweep: this run sweeps, and asks for the missing one by id.
    engine.run(SLA, env.deps, t0 + timedelta(hours=25), poster=env.poster)
    assert str(project["id"]) in [r.path.rsplit("/", 1)[-1] for r in reads_by_id(env)]
    assert db["projects"].count_where("id = ?", [project["id"]]) == 0


def test_a_project_a_phase_webhook_marked_is_read_by_id(env: Env) -> None:
    project, _ = stuck_project(env.sb, days=2)
    db = env.deps.store.db
    t0 = now()
    engine.run(SLA, env.deps, t0, poster=env.poster)
    db.execute("update projects set updated_at = null where id = ?", [project["id"]])
    swept_at(env, t0)
    nothing_changed_since(env, t0 + timedelta(hours=1))
    engine.run(SLA, env.deps, t0 + timedelta(minutes=5), poster=env.poster)
    assert [r.path.rsplit("/", 1)[-1] for r in reads_by_id(env)] == [str(project["id"])]
    assert db["projects"].get(project["id"])["updated_at"]


def _project(days: int, instance: int = 7001) -> dict[str, Any]:
    return {
        "id": 5,
        "number": "5",
        "status": "ACTIVE",
        "updatedAt": "2026-01-01T00:00:00Z",
        "phase": {
            "instanceId": instance,
            "templateId": 3,
            "name": "Permit",
            "yellowSla": 7,
            "redSla": 14,
            "timeInStageDays": days,
        },
    }


def test_the_phase_start_is_kept_while_reads_agree_with_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    db = store.db
    t0 = datetime.fromisoformat("2026-03-02T15:30:00+00:00")

    def start() -> str:
        return db["projects"].get(5)["phase_started_at"]

    keep_projects(db, [_project(3)], t0, complete=False)
    first = start()
    assert first == iso(t0 - timedelta(days=3))
    # Read again later the same day, and the next morning (4 whole days since): no drift.
    keep_projects(db, [_project(3)], t0 + timedelta(hours=5), complete=False)
    keep_projects(db, [_project(4)], t0 + timedelta(hours=25), complete=False)
    assert start() == first
    # A count the stored start cannot explain (the phase was restarted): taken from this read.
    later = t0 + timedelta(days=2)
    keep_projects(db, [_project(1)], later, complete=False)
    assert start() == iso(later - timedelta(days=1))
    # Another stay in a phase: its own start.
    keep_projects(db, [_project(1, instance=7002)], later, complete=False)
    assert start() == iso(later - timedelta(days=1))
    store.close()
