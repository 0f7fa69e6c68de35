"""Buttons on overdue-invoice alerts end to end: Record payment and Log collection call.

A digest is posted to the fake Slack; signed clicks on its cards open modals, signed submissions
of those write to the Coperniq sandbox (which checks every request against the spec), and the
cards change in place.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.ids import Action, Block, Callback
from jobs import state
from jobs.times import local_today
from tests.modals.e2e import submit as submit_call
from tests.slack.alerting import (
    Card,
    card_of,
    cards,
    click,
    email,
    line_of,
    run_digest,
    view_state,
)
from tests.slack.harness import USER, SlackHarness, running_harness

JOB = "overdue-invoices"
ROSA = "U0ROSA"  # Rosa Delgado (1006), a Field Technician
PAYMENT_ROLES = ("Office Staff",)  # Priya Raman (1010) has it


@pytest.fixture
def clerk(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[SlackHarness]:
    """PAYMENT_ROLES is Office Staff; USER is Priya Raman (Office Staff), ROSA a technician."""
    with running_harness(
        fake_slack, coperniq_sandbox, tmp_path, payment_roles=PAYMENT_ROLES
    ) as slack:
        slack.fake_slack.add_user(USER, email=email("Priya", "Raman"), real_name="Priya Raman")
        slack.fake_slack.add_user(ROSA, email=email("Rosa", "Delgado"), real_name="Rosa Delgado")
        yield slack


def _item(slack: SlackHarness, card: Card) -> dict[str, Any]:
    model = state.load_model(slack.store.db, card.channel, card.message["ts"])
    assert model is not None
    return next(i for i in model["items"] if i["key"] == card.key)


def _first(slack: SlackHarness) -> Card:
    run_digest(slack, JOB)
    return next(c for c in cards(slack, JOB) if "Record payment" in c.labels())


def _payments(slack: SlackHarness, invoice_id: int) -> list[dict[str, Any]]:
    return [
        r.body
        for r in slack.sandbox.requests
        if r.method == "POST" and r.path == f"/invoices/{invoice_id}/payments"
    ]


def _ephemeral(slack: SlackHarness, user: str, words: str) -> str:
    found = slack.wait_until(
        lambda: [e for e in slack.fake_slack.ephemerals(user=user) if words in e["text"]]
    )
    return str(found[0]["text"])


def _open_payment(slack: SlackHarness, card: Card, user: str = USER) -> dict[str, Any]:
    before = len(slack.fake_slack.calls_to("views.open"))
    click(slack, card, Action.ALERT_PAY, user=user)
    slack.wait_for("views.open", before + 1)
    view = slack.fake_slack.view(slack.last_view_id())
    assert view["callback_id"] == Callback.PAYMENT_MODAL
    return view


def _submit(
    slack: SlackHarness, view: dict[str, Any], user: str = USER, **values: Any
) -> dict[str, Any] | None:
    """Submit the payment modal: amount, method, date, reference by their Block names."""
    by_block = {getattr(Block, f"PAYMENT_{k.upper()}").value: v for k, v in values.items()}
    by_block.setdefault(Block.PAYMENT_METHOD.value, "CHECK")
    # The view as it was opened, as Slack sends it (also when it resends a submission).
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEST"},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "trigger_id": slack.fake_slack.new_trigger_id(view_id=view["id"]),
        "view": {**view, "state": {"values": view_state(view, by_block)}},
        "response_urls": [],
        "is_enterprise_install": False,
    }
    reply = slack.interactive(payload)
    assert reply.status == 200, reply.text
    return reply.json()


def _input(view: dict[str, Any], block: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block)


def _today(slack: SlackHarness) -> str:
    return local_today(datetime.now(UTC), slack.settings.timezone).isoformat()


def _card_line(slack: SlackHarness, card: Card, words: str) -> str:
    return slack.wait_until(
        lambda: (
            (line := line_of(slack, JOB, card.key, card.message["ts"])) and words in line and line
        )
    )


# --- Record payment -------------------------------------------------------------------------


def test_record_payment_opens_a_modal_prefilled_with_the_balance_and_today(
    clerk: SlackHarness,
) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    amount = _input(view, Block.PAYMENT_AMOUNT)["element"]
    assert amount["initial_value"] == f"{item['balance']:.2f}"
    assert _input(view, Block.PAYMENT_DATE)["element"]["initial_date"] == _today(clerk)
    methods = [o["value"] for o in _input(view, Block.PAYMENT_METHOD)["element"]["options"]]
    assert methods == ["CASH", "ACH", "CREDIT_CARD", "KLARNA", "AFFIRM", "CHECK"]
    assert _input(view, Block.PAYMENT_REFERENCE)["optional"] is True
    assert len(view["title"]["text"]) <= 24
    assert f"#{item['uid']}" in view["blocks"][0]["text"]["text"]


def test_paying_the_full_balance_records_it_once_and_resolves_the_invoice(
    clerk: SlackHarness,
) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    answer = _submit(clerk, view, reference="CHK 4417")
    assert answer and answer["response_action"] == "update"
    sent = clerk.wait_until(lambda: _payments(clerk, item["id"]))
    assert len(sent) == 1
    assert sent[0]["amount"] == item["balance"]
    assert sent[0]["paymentMethod"] == "CHECK"
    assert sent[0]["paymentReference"] == "CHK 4417"
    assert sent[0]["notes"] == "Recorded from Slack by Priya Raman"
    line = _card_line(clerk, card, "recorded by")
    assert f"${item['balance']:,.2f} recorded by <@{USER}> · <!date^" in line
    assert "resolved" in line
    assert card_of(clerk, JOB, card.key, card.message["ts"]) is None  # its buttons are gone
    assert clerk.sandbox.get("invoices", item["id"])["status"] == "PAID"
    row = clerk.store.db.execute(
        "select slack_user, record_type, record_id, outcome, coperniq_user_id from audit_log "
        "where action = 'record_payment'"
    ).fetchone()
    assert row == (USER, "invoice", str(item["id"]), "created", 1010)
    # Its alert rows are resolved: the next digest neither lists it nor edits the card again.
    open_keys = {r.item_key for r in state.open_alerts(clerk.store.db, JOB)}
    assert card.key not in open_keys
    posted = len(clerk.fake_slack.messages(card.channel))
    run_digest(clerk, JOB, datetime.now(UTC) + timedelta(days=8))
    later = clerk.fake_slack.messages(card.channel)[posted:]
    assert later, "the later digest posted"
    assert all(card.key not in str(m.get("blocks")) for m in later)


def test_a_partial_payment_keeps_the_buttons_and_says_what_is_still_owed(
    clerk: SlackHarness,
) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    _submit(clerk, view, amount="1,000.50", method="ACH")
    clerk.wait_until(lambda: _payments(clerk, item["id"]))
    left = round(item["balance"] - 1000.50, 2)
    line = _card_line(clerk, card, "recorded by")
    assert f"$1,000.50 recorded by <@{USER}>" in line and f"${left:,.2f} still owed" in line
    after = card_of(clerk, JOB, card.key, card.message["ts"])
    assert after is not None and "Record payment" in after.labels()
    assert card.key in {r.item_key for r in state.open_alerts(clerk.store.db, JOB)}
    # The next payment's modal starts from what is owed now.
    again = _open_payment(clerk, after)
    assert _input(again, Block.PAYMENT_AMOUNT)["element"]["initial_value"] == f"{left:.2f}"
    # A later digest lists it with the new balance, and the payment under it.
    posted = len(clerk.fake_slack.messages(card.channel))
    run_digest(clerk, JOB, datetime.now(UTC) + timedelta(days=8))
    later = [
        c for c in cards(clerk, JOB) if c.key == card.key and c.message["ts"] != card.message["ts"]
    ]
    assert later and len(clerk.fake_slack.messages(card.channel)) > posted
    assert f"${left:,.2f}" in later[-1].line and "$1,000.50 recorded by" in later[-1].line


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "more than $0.00"),
        ("-25", "more than $0.00"),
        ("abc", "Enter the amount in dollars"),
        ("12.345", "two decimal places"),
        (None, "more than the"),  # the balance plus a cent
    ],
)
def test_a_bad_amount_is_an_error_on_its_input_and_nothing_is_written(
    clerk: SlackHarness, amount: str | None, words: str
) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    typed = amount if amount is not None else f"{item['balance'] + 0.01:.2f}"
    answer = _submit(clerk, view, amount=typed)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [Block.PAYMENT_AMOUNT]
    assert words in answer["errors"][Block.PAYMENT_AMOUNT]
    # An errors answer leaves the modal as it is: what was typed stays for the clerk to fix.
    assert "view" not in answer
    assert not _payments(clerk, item["id"])


def test_a_payment_dated_in_the_future_is_refused_on_the_date(clerk: SlackHarness) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    tomorrow = local_today(datetime.now(UTC), clerk.settings.timezone) + timedelta(days=1)
    answer = _submit(clerk, view, date=tomorrow.isoformat())
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {Block.PAYMENT_DATE: "The payment date can't be in the future."}
    assert not _payments(clerk, item["id"])


def test_a_payment_dated_earlier_is_sent_on_that_day(clerk: SlackHarness) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    day = local_today(datetime.now(UTC), clerk.settings.timezone) - timedelta(days=10)
    _submit(clerk, view, amount="100", method="CASH", date=day.isoformat())
    sent = clerk.wait_until(lambda: _payments(clerk, item["id"]))[0]
    paid = datetime.fromisoformat(sent["paymentDate"].replace("Z", "+00:00"))
    assert paid.astimezone(clerk.settings.timezone).date() == day
    assert "reference" not in sent and "paymentReference" not in sent


def test_the_same_payment_submitted_twice_makes_one_post(clerk: SlackHarness) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    clerk.sandbox.inject(
        path=f"/invoices/{item['id']}/payments", method="POST", latency=0.3, times=2
    )
    start = threading.Barrier(2)

    def press() -> None:
        start.wait()
        _submit(clerk, view, amount="250.00")

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _card_line(clerk, card, "recorded by")
    # And once more after it was recorded (Slack resending the submission).
    _submit(clerk, view, amount="250.00")
    clerk.wait_until(
        lambda: any(
            "already recorded" in str(c["view"]) for c in clerk.fake_slack.calls_to("views.update")
        )
    )
    assert len(_payments(clerk, item["id"])) == 1


def test_an_unlinked_clicker_is_told_why_and_no_modal_opens(clerk: SlackHarness) -> None:
    card = _first(clerk)
    clerk.fake_slack.add_user("U0NOBODY", email="someone@elsewhere.example")
    click(clerk, card, Action.ALERT_PAY, user="U0NOBODY")
    text = _ephemeral(clerk, "U0NOBODY", "You can't record payments")
    assert "not linked" in text
    assert not clerk.fake_slack.calls_to("views.open")


def test_a_clicker_without_a_payment_role_is_told_which_roles_may(clerk: SlackHarness) -> None:
    card = _first(clerk)
    click(clerk, card, Action.ALERT_PAY, user=ROSA)
    text = _ephemeral(clerk, ROSA, "You can't record payments")
    assert "Office Staff" in text and "Field Technician" in text
    assert not clerk.fake_slack.calls_to("views.open")


def test_without_payment_roles_nobody_may_record_payments(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(USER, email=email("Priya", "Raman"))
    card = _first(slack)
    click(slack, card, Action.ALERT_PAY, user=USER)
    text = _ephemeral(slack, USER, "You can't record payments")
    assert "PAYMENT_ROLES" in text
    assert not slack.fake_slack.calls_to("views.open")


def _updates(slack: SlackHarness, words: str) -> list[dict[str, Any]]:
    """The views.update calls whose view mentions `words`, oldest first."""
    out = []
    for call in slack.fake_slack.calls_to("views.update"):
        view = call["view"]
        view = json.loads(view) if isinstance(view, str) else view
        if words in json.dumps(view):
            out.append(view)
    return out


def test_a_coperniq_refusal_shows_on_its_input_and_leaves_the_card(clerk: SlackHarness) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    clerk.sandbox.inject(
        path=f"/invoices/{item['id']}/payments", method="POST", status=400, times=1,
        body={"message": "Bad reference", "code": "VALIDATION_ERROR",
              "field": "paymentReference"},
    )  # fmt: skip
    _submit(clerk, view, amount="10", reference="x")
    shown = clerk.wait_until(lambda: _updates(clerk, "not recorded"))[0]
    blocks = shown["blocks"]
    ref = next(i for i, b in enumerate(blocks) if b.get("block_id") == Block.PAYMENT_REFERENCE)
    assert ":warning:" in json.dumps(blocks[ref + 1])  # the error, under the reference
    assert _input(shown, Block.PAYMENT_AMOUNT)["element"]["initial_value"] == "10"
    assert _input(shown, Block.PAYMENT_REFERENCE)["element"]["initial_value"] == "x"
    assert line_of(clerk, JOB, card.key, card.message["ts"]) == card.line


def test_a_payment_above_what_coperniq_says_is_owed_now_is_refused_before_writing(
    clerk: SlackHarness,
) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    clerk.sandbox.pay_invoice(item["id"], 500)  # recorded in Coperniq since the card was posted
    _submit(clerk, view)  # the balance the card shows
    shown = clerk.wait_until(lambda: _updates(clerk, "owed now"))[0]
    left = round(item["balance"] - 500, 2)
    assert f"${left:,.2f} owed now" in json.dumps(shown)
    assert _input(shown, Block.PAYMENT_AMOUNT)["element"]["initial_value"] == (
        f"{item['balance']:.2f}"
    )
    assert not _payments(clerk, item["id"])
    assert line_of(clerk, JOB, card.key, card.message["ts"]) == card.line


def test_an_unknown_outcome_is_looked_up_before_trying_again(clerk: SlackHarness) -> None:
    card = _first(clerk)
    item = _item(clerk, card)
    view = _open_payment(clerk, card)
    # Coperniq saves the payment, then the connection drops before its answer.
    clerk.sandbox.inject(
        path=f"/invoices/{item['id']}/payments", method="POST", drop=True, apply_first=True,
        times=1,
    )  # fmt: skip
    _submit(clerk, view, amount="300")
    clerk.wait_until(lambda: _updates(clerk, "may or may not be recorded"))
    assert "recorded by" not in line_of(clerk, JOB, card.key, card.message["ts"])
    _submit(clerk, view, amount="300")  # Record, pressed again
    _card_line(clerk, card, "$300.00 recorded by")
    assert len(_payments(clerk, item["id"])) == 1
    assert len(clerk.sandbox.payments(item["id"])) == 1


def test_two_clerks_recording_different_payments_at_once_make_one_write_at_a_time(
    clerk: SlackHarness,
) -> None:
    amy = "U0AMY"  # Amy Carter (1012), Office Staff too
    clerk.fake_slack.add_user(amy, email=email("Amy", "Carter"), real_name="Amy Carter")
    card = _first(clerk)
    item = _item(clerk, card)
    views = {u: _open_payment(clerk, card, user=u) for u in (USER, amy)}
    # The first to claim holds it while Coperniq is slow: the other comes while it is held.
    clerk.sandbox.inject(path=f"/invoices/{item['id']}", method="GET", latency=1.0, times=1)
    start = threading.Barrier(2)

    def press(user: str, amount: str) -> None:
        start.wait()
        _submit(clerk, views[user], user=user, amount=amount)

    threads = [
        threading.Thread(target=press, args=(USER, "700")),
        threading.Thread(target=press, args=(amy, "800")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clerk.wait_until(lambda: _updates(clerk, "another payment on this invoice"))
    clerk.wait_until(lambda: _payments(clerk, item["id"]))
    assert len(_payments(clerk, item["id"])) == 1


# --- Log collection call ----------------------------------------------------------------------


def _calls(slack: SlackHarness, path: str) -> list[dict[str, Any]]:
    return [r.body for r in slack.sandbox.requests if r.method == "POST" and r.path == path]


def test_log_collection_call_opens_the_call_modal_on_the_client_and_updates_the_card(
    slack: SlackHarness,
) -> None:
    clerk = slack  # USER is linked to nobody: anyone may log calls
    card = _first(clerk)
    item = _item(clerk, card)
    click(clerk, card, Action.ALERT_CALL, user=USER)
    clerk.wait_for("views.update")  # the record is looked up after the modal opens
    view = clerk.fake_slack.view(clerk.last_view_id())
    assert view["callback_id"] == Callback.CALL_MODAL
    record = _input(view, Block.CALL_RECORD)["element"]["initial_option"]
    assert record["value"] == f"account:{item['account_id']}"
    reason = _input(view, Block.CALL_REASON)["element"]["initial_option"]
    assert reason["value"] == "ACCOUNTING"
    answer = submit_call(
        clerk,
        view,
        {
            Block.CALL_FROM: "(512) 555-0177",
            Block.CALL_DURATION: "4",
            Block.CALL_DISPOSITION: "FOLLOW_UP",
        },
    )
    assert answer["response_action"] == "update"
    path = f"/accounts/{item['account_id']}/calls"
    sent = clerk.wait_until(lambda: _calls(clerk, path))[0]
    assert sent["reason"] == "ACCOUNTING"
    line = _card_line(clerk, card, "Collection call logged")
    assert f"Collection call logged by <@{USER}> · <!date^" in line
    after = card_of(clerk, JOB, card.key, card.message["ts"])
    assert after is not None and "Record payment" in after.labels()


def test_an_invoice_without_a_client_logs_the_call_on_its_project(clerk: SlackHarness) -> None:
    card = _first(clerk)
    item = _item(clerk, card)

    def no_client(model: dict[str, Any]) -> None:
        for i in model["items"]:
            if i["key"] == card.key:
                i["account_id"] = None

    state.change_model(
        clerk.store.db, card.channel, card.message["ts"], no_client, datetime.now(UTC)
    )
    click(clerk, card, Action.ALERT_CALL, user=ROSA)
    clerk.wait_for("views.update")
    view = clerk.fake_slack.view(clerk.last_view_id())
    record = _input(view, Block.CALL_RECORD)["element"]["initial_option"]
    assert record["value"] == f"project:{item['record_id']}"
