"""Scheduler wiring and trigger maths (with daylight-saving changes); the jobs CLI's list."""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from bot.config import Settings
from bot.deps import Deps
from bot.store import Store
from jobs import cli, engine, scheduler, state
from jobs.registry import JOBS

CHICAGO = ZoneInfo("America/Chicago")


def settings(**kw: object) -> Settings:
    return Settings(**kw)  # type: ignore[arg-type]


def test_sla_trigger_skips_the_weekend_and_follows_spring_forward() -> None:
    trig = scheduler.trigger_for(settings(), JOBS["form-sla"])
    friday_last = datetime(2026, 3, 6, 17, 0, tzinfo=CHICAGO)  # 23:00Z, CST
    nxt = trig.get_next_fire_time(None, friday_last.replace(minute=1))
    # Monday 08:00 local is 13:00Z after the change to CDT (it was 14:00Z the week before).
    assert nxt.astimezone(UTC) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert nxt.astimezone(CHICAGO).hour == 8


def test_sla_trigger_fires_hourly_from_8_to_17_local() -> None:
    trig = scheduler.trigger_for(settings(), JOBS["form-sla"])
    t = datetime(2026, 11, 23, 0, 0, tzinfo=CHICAGO)
    fires = []
    while len(fires) < 11:
        t = trig.get_next_fire_time(None, t)
        fires.append(t.astimezone(CHICAGO).hour)
        t = t.replace(second=1)
    assert fires == [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 8]


def test_invoice_trigger_across_fall_back_stays_at_8_local() -> None:
    trig = scheduler.trigger_for(settings(), JOBS["overdue-invoices"])
    friday = datetime(2026, 10, 30, 8, 0, 1, tzinfo=CHICAGO)  # 13:00Z, CDT
    nxt = trig.get_next_fire_time(None, friday)
    assert nxt.astimezone(UTC) == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # Monday 08:00 CST


def test_trigger_uses_the_configured_zone_and_crontab() -> None:
    s = settings(timezone=ZoneInfo("Europe/Berlin"), invoice_alert_cron="30 6 * * *")
    trig = scheduler.trigger_for(s, JOBS["overdue-invoices"])
    nxt = trig.get_next_fire_time(None, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    # Berlin springs forward on 2026-03-29: 06:30 CEST is 04:30Z.
    assert nxt.astimezone(UTC) == datetime(2026, 3, 29, 4, 30, tzinfo=UTC)


def test_build_scheduler_wires_only_jobs_with_a_channel(tmp_path: Path) -> None:
    s = settings(sla_alert_channel="C0SLA0000", timezone=CHICAGO)
    deps = Deps(settings=s, store=Store(tmp_path / "bot.db"), coperniq=None, slack=None)  # type: ignore[arg-type]
    sched = scheduler.build_scheduler(deps)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"form-sla"}
    assert str(sched.timezone) == "America/Chicago"
    assert sched._job_defaults == {  # noqa: SLF001 - the settings are the point of the test
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": 30 * 60,
    }
    assert str(jobs["form-sla"].trigger.timezone) == "America/Chicago"
    assert not sched.running


def test_start_background_starts_and_stops(tmp_path: Path) -> None:
    s = settings(invoice_alert_channel="C0INV0000")
    deps = Deps(settings=s, store=Store(tmp_path / "bot.db"), coperniq=None, slack=None)  # type: ignore[arg-type]
    stop = scheduler.start_background(deps, threading.Event())
    stop()
    stop()  # idempotent


def test_job_infos_show_next_run_in_business_zone_and_off_jobs() -> None:
    s = settings(invoice_alert_channel="C0INV0000")
    infos = {i.id: i for i in scheduler.job_infos(s, datetime(2026, 11, 23, 15, 30, tzinfo=UTC))}
    assert infos["overdue-invoices"].on and not infos["form-sla"].on
    assert infos["overdue-invoices"].next_run == datetime(2026, 11, 24, 8, 0, tzinfo=CHICAGO)
    assert infos["form-sla"].next_run == datetime(2026, 11, 23, 10, 0, tzinfo=CHICAGO)


def test_jobs_list_prints_every_job_without_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in (
        "COPERNIQ_API_KEY",
        "SLACK_BOT_TOKEN",
        "SLA_ALERT_CHANNEL",
        "INVOICE_ALERT_CRON",
        "SLA_ALERT_CRON",
        "BOT_TIMEZONE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INVOICE_ALERT_CHANNEL", "C0INV0000")
    # The clock boundary only: what "now" is when the CLI asks.
    with freeze_time("2026-11-23T15:30:00Z"):
        assert cli.list_main(argparse.Namespace()) == 0
    out = capsys.readouterr().out
    inv = next(line for line in out.splitlines() if line.startswith("overdue-invoices"))
    sla = next(line for line in out.splitlines() if line.startswith("form-sla"))
    assert "0 8 * * 1-5" in inv and "Tue 2026-11-24 08:00 CST" in inv and "C0INV0000" in inv
    assert inv.rstrip().endswith("on")
    assert "0 8-17 * * 1-5" in sla and "off" in sla


def test_parse_now_reads_offsets_and_defaults_to_the_business_zone() -> None:
    assert cli.parse_now("2026-11-23T08:00:00Z", CHICAGO) == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert cli.parse_now("2026-11-23T08:00", CHICAGO) == datetime(2026, 11, 23, 8, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("0,6", "sun,sat"),
        ("*", "*"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("5-7", "sun,fri,sat"),
        ("1-5/2", "mon,wed,fri"),
    ],
)
def test_crontab_day_numbers_are_sunday_based(field: str, names: str) -> None:
    assert scheduler.crontab_day_of_week(field) == names


def test_default_crontab_fires_monday_to_friday_not_tuesday_to_saturday() -> None:
    # APScheduler 3's own from_crontab would read 1-5 as Tuesday..Saturday.
    trig = scheduler.trigger_for(settings(), JOBS["overdue-invoices"])
    t = datetime(2026, 11, 21, 12, 0, tzinfo=CHICAGO)  # a Saturday
    days = []
    for _ in range(6):
        t = trig.get_next_fire_time(None, t)
        days.append(t.strftime("%a"))
        t = t.replace(second=1)
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]


def test_an_unschedulable_crontab_turns_only_its_job_off(tmp_path: Path) -> None:
    s = settings(
        invoice_alert_channel="C0INV0000",
        sla_alert_channel="C0SLA0000",
        invoice_alert_cron="0 8 * * last",
    )
    deps = Deps(settings=s, store=Store(tmp_path / "bot.db"), coperniq=None, slack=None)  # type: ignore[arg-type]
    assert [j.id for j in scheduler.build_scheduler(deps).get_jobs()] == ["form-sla"]
    infos = {i.id: i for i in scheduler.job_infos(s)}
    assert not infos["overdue-invoices"].on and infos["overdue-invoices"].error
    assert infos["form-sla"].on


def test_a_run_missed_by_a_restart_is_caught_up_within_the_grace() -> None:
    trigger = scheduler.crontab_trigger("0 8 * * 1-5", CHICAGO)
    monday_8 = datetime(2026, 11, 23, 8, 0, tzinfo=CHICAGO)
    friday_8 = datetime(2026, 11, 20, 8, 0, 2, tzinfo=CHICAGO)  # the last run before the restart
    at = datetime(2026, 11, 23, 8, 10, tzinfo=CHICAGO)
    assert scheduler.missed_fire_time(trigger, friday_8, at) == monday_8
    assert scheduler.missed_fire_time(trigger, monday_8.replace(second=3), at) is None  # it ran
    assert scheduler.missed_fire_time(trigger, friday_8, at.replace(minute=45)) is None  # too late
    sunday = datetime(2026, 11, 22, 8, 10, tzinfo=CHICAGO)
    assert scheduler.missed_fire_time(trigger, friday_8, sunday) is None  # nothing was due


def test_a_new_install_has_missed_nothing(tmp_path: Path) -> None:
    # Started ten minutes after a tick with no run ever recorded: the schedule starts, no catch-up.
    trigger = scheduler.crontab_trigger("0 8-17 * * 1-5", CHICAGO)
    at = datetime(2026, 11, 23, 8, 10, tzinfo=CHICAGO)
    assert scheduler.missed_fire_time(trigger, None, at) is None
    s = settings(sla_alert_channel="C0SLA0000", timezone=CHICAGO)
    deps = Deps(settings=s, store=Store(tmp_path / "bot.db"), coperniq=None, slack=None)  # type: ignore[arg-type]
    [job] = scheduler.build_scheduler(deps, now=at).get_jobs()
    assert not hasattr(job, "next_run_time") or job.next_run_time != at


def test_a_restarted_scheduler_runs_the_missed_job_at_once_and_only_once(tmp_path: Path) -> None:
    from jobs.digest import RunResult

    s = settings(invoice_alert_channel="C0INV0000", timezone=CHICAGO)
    deps = Deps(settings=s, store=Store(tmp_path / "bot.db"), coperniq=None, slack=None)  # type: ignore[arg-type]
    state.record_last_run(
        deps.store.db, "overdue-invoices", datetime(2026, 11, 20, 14, 0, 2, tzinfo=UTC)
    )
    restart = datetime(2026, 11, 23, 8, 10, tzinfo=CHICAGO)
    [job] = scheduler.build_scheduler(deps, now=restart).get_jobs()
    assert job.next_run_time == restart

    # The caught-up run completes and is remembered; the next restart does not repeat it.
    ran = RunResult(job="overdue-invoices")
    original = engine.run
    engine.run = lambda *a, **k: ran  # type: ignore[assignment]
    try:
        with freeze_time(restart):
            scheduler._scheduled(deps, JOBS["overdue-invoices"], threading.Event())  # noqa: SLF001
    finally:
        engine.run = original  # type: ignore[assignment]
    [job] = scheduler.build_scheduler(deps, now=restart.replace(minute=20)).get_jobs()
    assert getattr(job, "next_run_time", None) != restart.replace(minute=20)


def test_a_catch_up_waits_for_the_lease_a_killed_process_left(tmp_path: Path) -> None:
    from datetime import timedelta

    s = settings(invoice_alert_channel="C0INV0000", timezone=CHICAGO)
    store = Store(tmp_path / "bot.db")
    deps = Deps(settings=s, store=store, coperniq=None, slack=None)  # type: ignore[arg-type]
    state.record_last_run(
        deps.store.db, "overdue-invoices", datetime(2026, 11, 20, 14, 0, 2, tzinfo=UTC)
    )
    killed = datetime(2026, 11, 23, 8, 2, tzinfo=CHICAGO)
    assert state.acquire_lease(store.db, "overdue-invoices", clock=lambda: killed)
    restart = datetime(2026, 11, 23, 8, 5, tzinfo=CHICAGO)
    [job] = scheduler.build_scheduler(deps, now=restart).get_jobs()
    assert job.next_run_time == killed + state.LEASE_TTL + timedelta(seconds=30)
