"""Events: deduped on event_id in the store; the Home tab."""

from __future__ import annotations

import time

from bot.store import claim_event
from tests.slack.harness import USER, SlackHarness
from tests.slack.limits import assert_slack_limits

HOME = {"type": "app_home_opened", "user": USER, "channel": "D0USER", "tab": "home"}


def test_app_home_opened_publishes_the_home_tab(bare_slack: SlackHarness) -> None:
    reply = bare_slack.event(HOME)
    assert reply.status == 200
    published = bare_slack.wait_for("views.publish")[0]
    assert published["user_id"] == USER
    home = bare_slack.fake_slack.home(USER)
    assert home["type"] == "home"
    assert_slack_limits(published["view"])
    assert "/coperniq find" in str(home["blocks"])


def test_a_duplicate_event_is_processed_once(bare_slack: SlackHarness) -> None:
    assert bare_slack.event(HOME, event_id="Ev0DUP").status == 200
    bare_slack.wait_for("views.publish")
    bare_slack.wait_until(
        lambda: (
            bare_slack.store.db.execute(
                "select status from slack_events where event_id = 'Ev0DUP'"
            ).fetchone()
            == ("done",)
        )
    )
    # Slack's retry of the same delivery, then a different event to know processing caught up.
    assert bare_slack.event(HOME, event_id="Ev0DUP", retry_num=1).status == 200
    assert bare_slack.event(HOME, event_id="Ev0OTHER").status == 200
    bare_slack.wait_for("views.publish", count=2)
    time.sleep(0.2)  # let a wrongly re-run listener show itself before counting
    assert len(bare_slack.fake_slack.calls_to("views.publish")) == 2


def test_a_retry_of_a_failed_event_runs_again(bare_slack: SlackHarness) -> None:
    bare_slack.fake_slack.fail("views.publish", "internal_error", times=1)
    bare_slack.event(HOME, event_id="Ev0FAIL")
    bare_slack.wait_until(
        lambda: (
            bare_slack.store.db.execute(
                "select status from slack_events where event_id = 'Ev0FAIL'"
            ).fetchone()
            == ("failed",)
        )
    )
    bare_slack.event(HOME, event_id="Ev0FAIL", retry_num=1)
    bare_slack.wait_until(lambda: bare_slack.fake_slack.home(USER) is not None)
    assert [c.ok for c in bare_slack.fake_slack.calls if c.method == "views.publish"] == [
        False,
        True,
    ]


def test_an_event_in_progress_is_not_started_twice(bare_slack: SlackHarness) -> None:
    # The first delivery is still running (claimed) when Slack retries.
    assert claim_event(bare_slack.store.db, "Ev0BUSY")
    bare_slack.event(HOME, event_id="Ev0BUSY", retry_num=1)
    bare_slack.event(HOME, event_id="Ev0NEXT")
    bare_slack.wait_for("views.publish")
    time.sleep(0.2)
    assert len(bare_slack.fake_slack.calls_to("views.publish")) == 1


def test_unhandled_dm_text_is_acked_quietly(bare_slack: SlackHarness) -> None:
    reply = bare_slack.event(
        {"type": "message", "channel_type": "im", "channel": "D0USER", "user": USER, "text": "hi"}
    )
    assert reply.status == 200


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(store) -> None:
    from datetime import UTC, datetime

    from handlers.events.dedupe import STALE_AFTER, claim

    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert claim(store.db, "Ev0DEAD", start)
    assert not claim(store.db, "Ev0DEAD", start + STALE_AFTER / 2)  # still running
    assert claim(store.db, "Ev0DEAD", start + STALE_AFTER * 1.5)  # its process died
