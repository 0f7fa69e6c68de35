"""Buttons on form-SLA alerts end to end: a digest posted to the fake Slack, signed clicks on its
cards, the Coperniq writes they make (checked against the spec by the sandbox) and the cards
updated in place."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.ids import Action
from tests.slack.alerting import Card, card_of, cards, click, email, line_of, run_digest
from tests.slack.harness import USER, SlackHarness

JOB = "form-sla"
TOM, ROSA = "U0TOM", "U0ROSA"  # Slack users of seeded Coperniq users 1004 and 1006


def _patches(slack: SlackHarness, form_id: int) -> list[dict]:
    return [
        r.body
        for r in slack.sandbox.requests
        if r.method == "PATCH" and r.path == f"/forms/{form_id}"
    ]


def _notes(slack: SlackHarness, project_id: int) -> list[dict]:
    return [
        r.body
        for r in slack.sandbox.requests
        if r.method == "POST" and r.path == f"/projects/{project_id}/notes"
    ]


def _model_item(slack: SlackHarness, card: Card) -> dict:
    from jobs.state import load_model

    model = load_model(slack.store.db, card.channel, card.message["ts"])
    assert model is not None
    return next(i for i in model["items"] if i["key"] == card.key)


def _first(slack: SlackHarness, label: str) -> Card:
    run_digest(slack, JOB)
    return next(c for c in cards(slack, JOB) if label in c.labels())


def _ephemeral(slack: SlackHarness, user: str, words: str) -> str:
    found = slack.wait_until(
        lambda: [e for e in slack.fake_slack.ephemerals(user=user) if words in e["text"]]
    )
    return str(found[0]["text"])


@pytest.fixture
def linked(slack: SlackHarness) -> SlackHarness:
    """USER is Tom Nguyen (1004, Field Technician) and ROSA Rosa Delgado (1006) by email."""
    slack.fake_slack.add_user(USER, email=email("Tom", "Nguyen"), real_name="Tom Nguyen")
    slack.fake_slack.add_user(TOM, email="tom.personal@example.net")
    slack.fake_slack.add_user(ROSA, email=email("Rosa", "Delgado"), real_name="Rosa Delgado")
    return slack


def test_the_digest_puts_buttons_on_every_listed_form(linked: SlackHarness) -> None:
    run_digest(linked, JOB)
    shown = cards(linked, JOB)
    assert shown, "the seeded sandbox has forms past SLA"
    for card in shown:
        assert card.labels()[-2:] == ["Snooze…", "Open in Coperniq"]
        assert "Take it" in card.labels()


def test_take_it_makes_the_clicker_the_assignee_and_says_so_on_the_card(
    linked: SlackHarness,
) -> None:
    card = _first(linked, "Take it")
    form_id = _model_item(linked, card)["form_id"]
    click(linked, card, Action.ALERT_TAKE, user=USER)
    linked.wait_until(lambda: _patches(linked, form_id))
    assert _patches(linked, form_id) == [{"assigneeId": 1004}]
    after = linked.wait_until(
        lambda: (
            (c := card_of(linked, JOB, card.key, card.message["ts"])) and "Taken by" in c.line and c
        )
    )
    assert f"Taken by <@{USER}>" in after.line
    assert "Take it" not in after.labels() and "Nudge" in after.labels()
    assert linked.sandbox.get("forms", form_id)["assignee"]["id"] == 1004
    row = linked.store.db.execute(
        "select slack_user, action, record_id, outcome, coperniq_user_id from audit_log "
        "where action = 'take_form'"
    ).fetchone()
    assert row == (USER, "take_form", str(form_id), "ok", 1004)


def test_an_unlinked_clicker_is_told_why_and_nothing_is_written(slack: SlackHarness) -> None:
    card = _first(slack, "Take it")
    click(slack, card, Action.ALERT_TAKE, user=USER)  # the fake's email: no Coperniq user
    text = _ephemeral(slack, USER, "You can't take this form")
    assert "not linked" in text and "link @you" in text
    assert not [r for r in slack.sandbox.requests if r.method == "PATCH"]
    assert card_of(slack, JOB, card.key, card.message["ts"]).line == card.line


def test_two_people_pressing_take_it_at_once_make_one_patch(linked: SlackHarness) -> None:
    card = _first(linked, "Take it")
    form_id = _model_item(linked, card)["form_id"]
    linked.sandbox.inject(path=f"/forms/{form_id}", method="PATCH", latency=0.3, times=2)
    start = threading.Barrier(2)

    def press(user: str) -> None:
        start.wait()
        click(linked, card, Action.ALERT_TAKE, user=user)

    threads = [threading.Thread(target=press, args=(u,)) for u in (USER, ROSA)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = linked.wait_until(
        lambda: (
            (c := card_of(linked, JOB, card.key, card.message["ts"])) and "Taken by" in c.line and c
        )
    )
    assert len(_patches(linked, form_id)) == 1
    winner = USER if f"<@{USER}>" in after.line else ROSA
    loser = ROSA if winner == USER else USER
    told = (
        _ephemeral(linked, loser, "already did that")
        if False
        else linked.wait_until(
            lambda: [e["text"] for e in linked.fake_slack.ephemerals(user=loser)]
        )[0]
    )
    assert f"<@{winner}>" in told


def test_a_replayed_click_makes_one_write(linked: SlackHarness) -> None:
    card = _first(linked, "Take it")
    form_id = _model_item(linked, card)["form_id"]
    for _ in range(2):  # Slack retrying the same payload (same action_ts)
        click(linked, card, Action.ALERT_TAKE, user=USER, action_ts="1764500000.000100")
    # The replay finds the first click's claim: done already, or still in flight.
    told = linked.wait_until(lambda: [e["text"] for e in linked.fake_slack.ephemerals(user=USER)])
    assert "You already did that" in told[0] or "is doing that right now" in told[0]
    linked.wait_until(lambda: "Taken by" in card_of(linked, JOB, card.key, card.message["ts"]).line)
    assert len(_patches(linked, form_id)) == 1


def test_a_coperniq_refusal_leaves_the_card_as_it_was_and_says_what_failed(
    linked: SlackHarness,
) -> None:
    card = _first(linked, "Take it")
    form_id = _model_item(linked, card)["form_id"]
    linked.sandbox.inject(path=f"/forms/{form_id}", method="PATCH", status=403, times=1)
    click(linked, card, Action.ALERT_TAKE, user=USER)
    text = _ephemeral(linked, USER, "I couldn't assign the form to you")
    assert "Nothing changed" in text
    assert card_of(linked, JOB, card.key, card.message["ts"]).line == card.line
    # Nothing is held: pressing again works.
    click(linked, card, Action.ALERT_TAKE, user=USER)
    linked.wait_until(lambda: len(_patches(linked, form_id)) == 2)


def test_nudge_mentions_the_assignee_in_a_project_note_and_dms_them(linked: SlackHarness) -> None:
    run_digest(linked, JOB)
    card = next(
        c
        for c in cards(linked, JOB)
        if "Nudge" in c.labels() and _model_item(linked, c)["assignee_id"] != 1004
    )
    item = _model_item(linked, card)
    uid = item["assignee_id"]
    user = linked.sandbox.get("users", uid)
    assignee_slack = "U0ASSIGNEE"
    linked.fake_slack.add_user(ROSA, email="rosa.elsewhere@example.net")
    linked.fake_slack.add_user(assignee_slack, email=user["email"])
    click(linked, card, Action.ALERT_NUDGE, user=USER)
    note = linked.wait_until(lambda: _notes(linked, item["project_id"]))[0]
    name = f"{user['firstName']} {user['lastName']}"
    assert note["body"].startswith(f"[{name}|~id:{uid}]")
    assert "Nudged from Slack by Tom Nguyen" in note["body"]
    dm = linked.wait_until(
        lambda: [
            m
            for m in linked.fake_slack.calls_to("chat.postMessage")
            if m.get("channel") == assignee_slack
        ]
    )[0]
    assert f"<@{USER}> nudged you" in dm["text"]
    after = linked.wait_until(
        lambda: (
            (c := card_of(linked, JOB, card.key, card.message["ts"]))
            and "nudged by" in c.line
            and c
        )
    )
    assert f"<@{assignee_slack}> nudged by <@{USER}>" in after.line
    # A second nudge soon after is held back, whoever asks.
    linked.fake_slack.add_user(ROSA, email=email("Rosa", "Delgado"))
    click(linked, after, Action.ALERT_NUDGE, user=ROSA)
    _ephemeral(linked, ROSA, "One nudge at a time")
    assert len(_notes(linked, item["project_id"])) == 1


def test_snooze_needs_no_link_hides_the_item_and_it_comes_back_when_the_snooze_ends(
    slack: SlackHarness,
) -> None:
    now = datetime.now(UTC)
    card = _first(slack, "Snooze…")
    click(slack, card, Action.ALERT_SNOOZE, user=USER, option="1d")
    slack.wait_until(lambda: "Snoozed by" in line_of(slack, JOB, card.key, card.message["ts"]))
    after = line_of(slack, JOB, card.key, card.message["ts"])
    assert f"Snoozed by <@{USER}> until <!date^" in after
    # Reminders are due daily (SLA_REALERT_HOURS=24): the run a day and a bit later would list it.
    posted = len(slack.fake_slack.messages(card.channel))
    run_digest(slack, JOB, now + timedelta(hours=20))
    assert all(
        c.key != card.key
        for c in cards(slack, JOB)[posted:]
        if c.message["ts"] != card.message["ts"]
    )
    run_digest(slack, JOB, now + timedelta(days=1, hours=1))
    later = [
        c for c in cards(slack, JOB) if c.key == card.key and c.message["ts"] != card.message["ts"]
    ]
    assert later and "Take it" in later[-1].labels()
