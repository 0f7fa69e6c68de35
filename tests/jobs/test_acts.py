"""What people do to alert items, below Slack: claims, snoozes in the engine, card versions."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.store import Store
from jobs import engine, state
from jobs.cards import change_card
from tests.jobs import test_engine
from tests.jobs.test_engine import NOW, FixedJob, poster

deps = test_engine.deps  # the engine tests' fixture: Deps on the fake Slack, no Coperniq

KEY = "item:a"


def _listed(fake_slack: Any, channel: str) -> list[str]:
    """Item keys the channel's messages list with buttons now (open, not snoozed)."""
    out = []
    for message in fake_slack.messages(channel):
        for block in message.get("blocks") or []:
            if block.get("type") == "actions":
                out.append(block["block_id"].removeprefix("alert-item:"))
    return out


def test_one_claim_wins_among_concurrent_clicks(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    won: list[str] = []
    start = threading.Barrier(8)

    def click(user: str) -> None:
        start.wait()
        if (
            state.claim_act(store.db, "job", KEY, "take", slack_user=user, coperniq_user=1, now=NOW)
            is None
        ):
            won.append(user)

    threads = [threading.Thread(target=click, args=(f"U{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    held = state.get_act(store.db, "job", KEY, "take")
    assert held is not None and held.slack_user == won[0] and held.state == state.PENDING_ACT
    store.close()


def test_a_claim_comes_free_when_released_stale_or_replaced(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    db = store.db

    def claim(user: str, at: Any, **kw: Any) -> Any:
        return state.claim_act(
            db, "job", KEY, "nudge", slack_user=user, coperniq_user=None, now=at, **kw
        )

    assert claim("U1", NOW) is None
    assert claim("U2", NOW).slack_user == "U1"  # in flight
    state.release_act(db, "job", KEY, "nudge", "U1")  # the write failed
    assert claim("U2", NOW) is None
    assert claim("U3", NOW + timedelta(minutes=1)).slack_user == "U2"
    assert claim("U3", NOW + state.STALE_ACT) is None  # U2's process died mid-write
    state.finish_act(db, "job", KEY, "nudge", NOW, {"card": {"text": "nudged"}})
    later = NOW + timedelta(hours=1)
    assert claim("U4", later, replaces=lambda act: later - act.when >= timedelta(hours=4))
    later = NOW + timedelta(hours=5)
    assert claim("U4", later, replaces=lambda act: later - act.when >= timedelta(hours=4)) is None
    store.close()


def test_a_snoozed_item_is_neither_listed_nor_resolved_and_returns_when_the_snooze_ends(
    deps: Any,
    fake_slack: Any,
) -> None:
    job = FixedJob({KEY: "yellow", "item:b": "yellow"})
    engine.run(job, deps, NOW, poster=poster(deps))
    assert sorted(_listed(fake_slack, "C0ALL")) == [KEY, "item:b"]
    state.snooze(
        deps.store.db,
        job.id,
        KEY,
        until=NOW + timedelta(days=3),
        phase=None,
        slack_user="U1",
        now=NOW,
    )
    # Reminders are due daily; item:b gets one, the snoozed item does not, and stays open.
    day2 = engine.run(job, deps, NOW + timedelta(days=1), poster=poster(deps))
    assert day2.resolved == 0
    rows = state.load_alerts(deps.store.db, job.id, "C0ALL")
    assert rows[KEY].open and rows[KEY].last_alerted_at == rows["item:b"].first_alerted_at
    posted = len(fake_slack.messages("C0ALL"))
    engine.run(job, deps, NOW + timedelta(days=3, minutes=1), poster=poster(deps))
    new = fake_slack.messages("C0ALL")[posted:]
    assert any(KEY in str(m.get("blocks")) for m in new)
    assert state.load_snoozes(deps.store.db, job.id) == {}  # ended once listed again


def test_a_snoozed_item_that_resolves_is_resolved_and_its_snooze_and_acts_end(
    deps: Any,
    fake_slack: Any,
) -> None:
    job = FixedJob({KEY: "yellow"})
    engine.run(job, deps, NOW, poster=poster(deps))
    db = deps.store.db
    state.snooze(
        db, job.id, KEY, until=NOW + timedelta(days=3), phase=None, slack_user="U1", now=NOW
    )
    state.claim_act(db, job.id, KEY, "take", slack_user="U1", coperniq_user=1, now=NOW)
    state.finish_act(db, job.id, KEY, "take", NOW, {"card": {"act": "take", "text": "Taken"}})
    job.levels.clear()
    result = engine.run(job, deps, NOW + timedelta(hours=1), poster=poster(deps))
    assert result.resolved == 1
    assert state.load_snoozes(db, job.id) == {} and state.get_act(db, job.id, KEY, "take") is None


def test_done_acts_are_carried_onto_the_items_later_cards(deps: Any, fake_slack: Any) -> None:
    job = FixedJob({KEY: "yellow"})
    engine.run(job, deps, NOW, poster=poster(deps))
    db = deps.store.db
    state.claim_act(db, job.id, KEY, "take", slack_user="U1", coperniq_user=1, now=NOW)
    state.finish_act(
        db, job.id, KEY, "take", NOW, {"card": {"act": "take", "text": "Taken by <@U1>"}}
    )
    engine.run(job, deps, NOW + timedelta(days=1), poster=poster(deps))  # the daily reminder
    assert "Taken by <@U1>" in str(fake_slack.messages("C0ALL")[-1]["blocks"])


def test_concurrent_card_changes_all_show_whatever_order_the_updates_land_in(
    deps: Any,
    fake_slack: Any,
) -> None:
    job = FixedJob({f"item:{n}": "yellow" for n in range(6)})
    engine.run(job, deps, NOW, poster=poster(deps))
    ts = fake_slack.messages("C0ALL")[0]["ts"]
    shown: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def update(channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        with lock:  # the last update to land is what Slack shows
            shown.append(str(blocks))

    def act(n: int) -> None:
        start.wait()

        def change(model: dict[str, Any]) -> None:
            model.setdefault("acts", {})[f"item:{n}"] = [{"act": "x", "text": f"did {n}"}]

        change_card(deps.store.db, job, "C0ALL", ts, change, NOW, update)

    threads = [threading.Thread(target=act, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(f"did {n}" in shown[-1] for n in range(6))


def test_a_take_is_not_carried_once_the_form_is_someone_elses(deps: Any, fake_slack: Any) -> None:
    job = FixedJob({KEY: "yellow"})
    engine.run(job, deps, NOW, poster=poster(deps))
    db = deps.store.db
    state.claim_act(db, job.id, KEY, "take", slack_user="U1", coperniq_user=1, now=NOW)
    card = {"act": "take", "text": "Taken by <@U1>", "while": {"assignee_id": 1}}
    state.finish_act(db, job.id, KEY, "take", NOW, {"card": card})
    views = {KEY: {"key": KEY, "assignee_id": 1}}
    assert state.carried_acts(db, job.id, views) == {KEY: [card]}
    views[KEY]["assignee_id"] = 2  # reassigned in Coperniq since
    assert state.carried_acts(db, job.id, views) == {}
    assert state.get_act(db, job.id, KEY, "take") is None  # Take it works again
