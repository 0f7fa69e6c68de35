"""Personal notifications, the parts without a run: quiet-hours maths (midnight, no quiet hours,
daylight-saving days), the memory of form levels, and the DM outbox's exactly-once sending."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.store import Store
from jobs.digest import Item
from jobs.personal import forms, outbox
from jobs.personal.quiet import deliver_at, is_quiet, quiet_until
from jobs.slackpost import SlackPoster

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")


def local(*args: int, tz: ZoneInfo = CHICAGO) -> datetime:
    return datetime(*args, tzinfo=tz)


# --- quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "quiet"),
    [(18, False), (19, True), (23, True), (0, True), (6, True), (7, False), (12, False)],
)
def test_quiet_hours_wrap_past_midnight(hour: int, quiet: bool) -> None:
    assert is_quiet(local(2026, 12, 1, hour, 30), CHICAGO, (19, 7)) is quiet


@pytest.mark.parametrize(("hour", "quiet"), [(0, False), (1, True), (4, True), (5, False)])
def test_quiet_hours_within_one_night(hour: int, quiet: bool) -> None:
    assert is_quiet(local(2026, 12, 1, hour, 59), CHICAGO, (1, 5)) is quiet


def test_equal_hours_mean_no_quiet_hours() -> None:
    for hour in range(24):
        at = local(2026, 12, 1, hour)
        assert not is_quiet(at, CHICAGO, (7, 7))
        assert deliver_at(at, CHICAGO, (7, 7)) == at.astimezone(UTC)


def test_an_evening_dm_waits_until_the_end_hour_next_morning() -> None:
    assert quiet_until(local(2026, 12, 1, 19, 0), CHICAGO, (19, 7)) == local(2026, 12, 2, 7)
    # After midnight it ends the same morning.
    assert quiet_until(local(2026, 12, 2, 3, 15), CHICAGO, (19, 7)) == local(2026, 12, 2, 7)
    assert quiet_until(local(2026, 12, 2, 7, 0), CHICAGO, (19, 7)) is None
    assert quiet_until(local(2026, 12, 2, 2, 0), CHICAGO, (1, 5)) == local(2026, 12, 2, 5)


def test_quiet_hours_are_read_in_the_business_zone_not_utc() -> None:
    # 02:00Z is 20:00 the evening before in Chicago (quiet) and 03:00 in Berlin (quiet too),
    # 14:00Z is 08:00 in Chicago and 15:00 in Berlin (neither).
    at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert quiet_until(at, CHICAGO, (19, 7)) == local(2026, 12, 2, 7)
    assert quiet_until(at, BERLIN, (19, 7)) == local(2026, 12, 2, 7, tz=BERLIN)
    assert not is_quiet(datetime(2026, 12, 2, 14, 0, tzinfo=UTC), CHICAGO, (19, 7))


def test_the_night_the_clocks_spring_forward_ends_at_7_local() -> None:
    # 2026-03-08 02:00 CST -> 03:00 CDT in Chicago: the night is an hour shorter.
    evening = local(2026, 3, 7, 20, 0)  # CST, 02:00Z
    end = quiet_until(evening, CHICAGO, (19, 7))
    assert end == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 07:00 CDT
    assert end.astimezone(CHICAGO).hour == 7
    assert end - evening == timedelta(hours=10)


def test_the_night_the_clocks_fall_back_ends_at_7_local() -> None:
    # 2026-11-01 02:00 CDT -> 01:00 CST: the night is an hour longer.
    evening = local(2026, 10, 31, 20, 0)  # CDT, 01:00Z
    end = quiet_until(evening, CHICAGO, (19, 7))
    assert end == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 07:00 CST
    assert end - evening == timedelta(hours=12)
    # The repeated hour 01:00-02:00 is quiet both times round.
    first = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 CDT
    second = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 01:30 CST
    assert quiet_until(first, CHICAGO, (1, 5)) == quiet_until(second, CHICAGO, (1, 5))
    assert quiet_until(first, CHICAGO, (1, 5)) == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)


def test_an_end_hour_the_spring_change_skips_is_the_first_instant_after_it() -> None:
    night = local(2026, 3, 8, 0, 30)  # CST
    end = quiet_until(night, CHICAGO, (0, 2))  # 02:00 does not exist that night
    assert end == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 03:00 CDT, the moment the gap ends


# --- the memory of form levels ----------------------------------------------------------------


def item(key: str, level: str, project: int = 1, held: bool = False) -> Item:
    return Item(key, level, None, {"project_id": project}, held=held)


T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_the_first_run_ever_does_not_know_when_levels_were_reached() -> None:
    memory, gone = forms.advance(None, [item("form:1", "yellow")], lambda p: True, T0)
    assert memory["form:1"]["since"] is None and gone == []
    # A take at any time counts as made at that level.
    assert forms.taken_at_level(T0 - timedelta(days=3), memory["form:1"])


def test_an_escalation_after_a_take_is_not_the_takers_level() -> None:
    first, _ = forms.advance({}, [item("form:1", "yellow")], lambda p: True, T0)
    taken = T0 + timedelta(minutes=30)
    later = T0 + timedelta(hours=1)
    memory, _ = forms.advance(first, [item("form:1", "red")], lambda p: True, later)
    assert datetime.fromisoformat(memory["form:1"]["since"]) == later
    assert datetime.fromisoformat(memory["form:1"]["first"]) == T0
    assert not forms.taken_at_level(taken, memory["form:1"])
    # A take after the form turned red is a take at red.
    assert forms.taken_at_level(later + timedelta(minutes=5), memory["form:1"])


def test_a_form_gone_only_counts_when_the_run_can_speak_for_its_project() -> None:
    before, _ = forms.advance({}, [item("form:1", "red", 1), item("form:2", "red", 2)], bool, T0)
    after, gone = forms.advance(before, [], lambda project: project == 1, T0 + timedelta(hours=1))
    assert gone == ["form:1"] and set(after) == {"form:2"}
    # A held item keeps what was known of it.
    held, gone = forms.advance(before, [item("form:1", "yellow", held=True)], bool, T0)
    assert held["form:1"]["level"] == "red" and "form:2" in gone


# --- the outbox -------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Any:
    s = Store(tmp_path / "bot.db")
    s.db["notify_prefs"].insert({"slack_user": "U0TOM", "coperniq_user_id": 1004, "forms": 1})
    yield s.db
    s.close()


@pytest.fixture
def client(fake_slack: Any) -> WebClient:
    return WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)


def queue(db: Any, dedupe: str = "form:U0TOM:form:1:yellow:-", due: datetime = T0) -> bool:
    return outbox.enqueue(
        db,
        slack_user="U0TOM",
        kind="form",
        dedupe=dedupe,
        item_key="form:1",
        text="Your form is past its yellow SLA",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}],
        due_at=due,
        now=T0,
    )


def no_wait(client: WebClient) -> SlackPoster:
    return SlackPoster(client, min_interval=0, sleep=lambda s: None)


def test_a_dm_is_queued_once_per_dedupe_key(db: Any) -> None:
    assert queue(db) and not queue(db)
    assert db["dm_outbox"].count == 1


def test_a_dm_waits_until_it_is_due_then_goes_out_once(
    db: Any, client: WebClient, fake_slack: Any
) -> None:
    queue(db, due=T0 + timedelta(hours=12))
    assert outbox.flush(db, client, T0, poster=no_wait(client)).sent == 0
    done = outbox.flush(db, client, T0 + timedelta(hours=12), poster=no_wait(client))
    assert done.sent == 1
    assert outbox.flush(db, client, T0 + timedelta(hours=13), poster=no_wait(client)).sent == 0
    [dm] = fake_slack.calls_to("chat.postMessage")
    assert dm["channel"] == "U0TOM" and dm["text"] == "Your form is past its yellow SLA"


def test_two_flushes_at_once_send_each_dm_once(tmp_path: Path, db: Any, fake_slack: Any) -> None:
    for n in range(20):
        queue(db, dedupe=f"d{n}")
    start = threading.Barrier(2)
    results: list[outbox.Flushed] = []

    def flush_in_another_process() -> None:
        store = Store(tmp_path / "bot.db")  # its own connection, as a second process has
        client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
        start.wait()
        results.append(outbox.flush(store.db, client, T0, poster=no_wait(client)))
        store.close()

    threads = [threading.Thread(target=flush_in_another_process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 20
    assert len(fake_slack.calls_to("chat.postMessage")) == 20


def test_a_failed_post_is_retried_by_the_next_flush_then_given_up(
    db: Any, client: WebClient, fake_slack: Any
) -> None:
    queue(db)
    fake_slack.fail("chat.postMessage", "internal_error", times=None)
    for n in range(1, outbox.MAX_TRIES):
        assert outbox.flush(db, client, T0, poster=no_wait(client)).failed == 1
        assert db.execute("select error from dm_outbox").fetchone()[0].startswith(f"try {n} ")
    assert outbox.flush(db, client, T0, poster=no_wait(client)).gave_up == 1
    assert outbox.flush(db, client, T0, poster=no_wait(client)).gave_up == 0  # left alone
    error = db.execute("select error, sent_at from dm_outbox").fetchone()
    assert error[0].startswith("gave up after 5 tries: internal_error") and error[1] is None


def test_a_person_slack_cannot_write_to_is_given_up_at_once(
    db: Any, client: WebClient, fake_slack: Any
) -> None:
    queue(db)
    fake_slack.fail("chat.postMessage", "user_not_found", times=1)
    assert outbox.flush(db, client, T0, poster=no_wait(client)).gave_up == 1
    assert outbox.flush(db, client, T0, poster=no_wait(client)).sent == 0


def test_a_claim_left_by_a_dead_process_is_taken_over_after_a_while(
    db: Any, client: WebClient, fake_slack: Any
) -> None:
    queue(db)
    # A process claimed the row and died before Slack answered.
    db.execute("update dm_outbox set error = ?", [f"sending since {T0.isoformat()}; try 1"])
    assert outbox.flush(db, client, T0 + timedelta(minutes=1), poster=no_wait(client)).sent == 0
    later = T0 + outbox.CLAIM_STALE
    assert outbox.flush(db, client, later, poster=no_wait(client)).sent == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_a_dm_for_someone_who_turned_it_off_is_dropped(db: Any, client: WebClient) -> None:
    queue(db)
    db.execute("update notify_prefs set forms = 0")
    assert outbox.flush(db, client, T0, poster=no_wait(client)).dropped == 1
    assert json.loads(db.execute("select blocks from dm_outbox").fetchone()[0])
    assert db.execute("select error from dm_outbox").fetchone()[0].startswith("dropped: ")


# --- the scheduler ----------------------------------------------------------------------------


def test_with_slack_the_scheduler_adds_the_morning_summary_and_the_outbox_flush(
    tmp_path: Path,
) -> None:
    from bot.config import Settings
    from bot.deps import Deps
    from jobs import scheduler

    s = Settings(timezone=CHICAGO, morning_digest_cron="0 7 * * 1-5")  # type: ignore[call-arg]
    store = Store(tmp_path / "bot.db")
    slack = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
    deps = Deps(settings=s, store=store, coperniq=None, slack=slack)  # type: ignore[arg-type]
    friday_evening = local(2026, 12, 4, 18, 0)
    sched = scheduler.build_scheduler(deps, now=friday_evening)
    jobs = {j.id: j for j in sched.get_jobs()}
    morning = jobs["morning-digest"].trigger
    assert morning.get_next_fire_time(None, friday_evening) == local(2026, 12, 7, 7, 0)
    flush = jobs["dm-outbox"].trigger
    assert flush.get_next_fire_time(None, local(2026, 12, 7, 6, 58)) == local(2026, 12, 7, 7, 0)
    # Without Slack there is nobody to write to.
    deps_off = Deps(settings=s, store=store, coperniq=None, slack=None)  # type: ignore[arg-type]
    assert not {"morning-digest", "dm-outbox"} & {
        j.id for j in scheduler.build_scheduler(deps_off).get_jobs()
    }
    store.close()
