from __future__ import annotations

import pytest

from bot.ids import Action, Block
from tests.modals.e2e import open_modal, posts_to, submit, writes
from tests.modals.slackstate import check_message, check_options_response
from tests.slack.harness import CHANNEL, USER

GOOD = {
    Block.REQUEST_TITLE: "AC not cooling",
    Block.REQUEST_ADDRESS: "12 Oak St, Austin, TX 78701",
    Block.REQUEST_TRADES: ["HVAC"],
    Block.REQUEST_CONTACT: "Dana Smith",
    Block.REQUEST_PHONE: "(512) 555-0134",
    Block.REQUEST_EMAIL: "dana@example.com",
    Block.REQUEST_DESCRIPTION: "Blowing warm air since Monday",
}


def _audit(slack):
    return list(slack.store.db.query("select * from audit_log order by id"))


def test_request_opens_at_once_then_shows_coperniq_trades(slack):
    view = open_modal(slack, "request", updates=1)
    opened = slack.fake_slack.calls_to("views.open")[0]["view"]
    assert "Loading" in str(opened["blocks"])  # the loading state went out before any Coperniq call
    trades = next(b for b in view["blocks"] if b.get("block_id") == Block.REQUEST_TRADES)
    assert [o["value"] for o in trades["element"]["options"]][:2] == ["Solar", "HVAC"]
    # Cached: the second open needs no Coperniq call and no update.
    calls_before = len(slack.sandbox.requests)
    open_modal(slack, "request")
    assert len(slack.sandbox.requests) == calls_before


def test_client_search_suggests_accounts(slack):
    view = open_modal(slack, "request", updates=1)
    account = slack.sandbox.find("accounts")[0]
    word = account["title"].split()[0]
    reply = slack.block_suggestion(
        Action.REQUEST_CLIENT, word, block_id=Block.REQUEST_CLIENT, view_id=view["id"]
    )
    payload = reply.json()
    check_options_response(payload)
    assert f"account:{account['id']}" in [o["value"] for o in payload["options"]]


def test_a_valid_request_creates_one_opportunity_and_confirms_in_the_channel(slack):
    view = open_modal(slack, "request", updates=1)
    account = slack.sandbox.find("accounts")[0]
    answer = submit(slack, view, {**GOOD, Block.REQUEST_CLIENT: f"account:{account['id']}"})
    assert answer["response_action"] == "update"
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    posts = writes(slack, "POST", "/opportunities")
    assert len(posts) == 1 and posts[0].status in (200, 201)
    body = posts[0].body
    assert body["title"] == "AC not cooling"
    assert body["address"] == ["12 Oak St, Austin, TX 78701"]
    assert body["trades"] == ["HVAC"]
    assert body["primaryPhone"] == "+15125550134"
    assert body["primaryEmail"] == "dana@example.com"
    assert body["accountId"] == account["id"]
    created = [o for o in slack.sandbox.find("opportunities") if o.get("title") == "AC not cooling"]
    assert len(created) == 1
    message = posts_to(slack, CHANNEL)[0]
    check_message({"text": message["text"], "blocks": message["blocks"]})
    number = created[0].get("number")
    assert f"#{number}" in message["text"]
    assert f"/request/{created[0]['id']}" in str(message["blocks"])
    rows = _audit(slack)
    assert [(r["slack_user"], r["action"], r["record_type"], r["record_id"]) for r in rows] == [
        (USER, "create_request", "opportunity", str(created[0]["id"]))
    ]


def test_invalid_input_shows_every_error_inline_and_sends_nothing(slack):
    view = open_modal(slack, "request", updates=1)
    before = len(writes(slack, "POST", "/opportunities"))
    answer = submit(
        slack,
        view,
        {
            **GOOD,
            Block.REQUEST_PHONE: "555-01",
            Block.REQUEST_TITLE: "",
            Block.REQUEST_EMAIL: "dana@",
        },
    )
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {Block.REQUEST_PHONE, Block.REQUEST_TITLE, Block.REQUEST_EMAIL}
    assert len(writes(slack, "POST", "/opportunities")) == before
    assert _audit(slack) == []


def test_a_repeated_submission_creates_one_record(slack):
    view = open_modal(slack, "request", updates=1)
    submit(slack, view, GOOD)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    view2 = open_modal(slack, "request")
    answer = submit(slack, view2, {**GOOD, Block.REQUEST_TITLE: "ac not  cooling"})
    assert answer["response_action"] == "update"
    assert "already created" in str(answer["view"]["blocks"])
    assert len(writes(slack, "POST", "/opportunities")) == 1


def test_after_a_timeout_the_retry_looks_the_record_up_before_creating(slack):
    sb = slack.sandbox
    view = open_modal(slack, "request", updates=1)
    sb.inject(path="/opportunities", method="POST", timeout=1.0, times=1)
    submit(slack, view, GOOD)
    # The modal comes back with the form and a note that the request may exist.
    slack.wait_until(
        lambda: any(
            "may or may not" in str(c["view"]["blocks"])
            for c in slack.fake_slack.calls_to("views.update")
        ),
        timeout=15,
    )
    assert [r.status for r in writes(slack, "POST", "/opportunities")] == [0]
    assert list(slack.store.db.query("select state from submissions")) == [{"state": "unknown"}]
    # Coperniq did create it before the connection dropped: the retry must find it, not create.
    template = {
        k: v for k, v in sb.find("opportunities")[0].items() if k not in ("createdAt", "updatedAt")
    }
    sb.put(
        "opportunities",
        {
            **template,
            "id": 990001,
            "number": 99001,
            "title": "AC not cooling",
            "primaryPhone": "+15125550134",
        },
    )
    view2 = open_modal(slack, "request")
    submit(slack, view2, GOOD)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    assert [r.status for r in writes(slack, "POST", "/opportunities")] == [0]
    lookups = [r for r in writes(slack, "GET", "/opportunities") if r.query.get("title")]
    assert lookups, "the retry must look the record up first"
    assert "#99001" in posts_to(slack, CHANNEL)[0]["text"]
    assert _audit(slack)[0]["outcome"] == "found_after_unknown_outcome"


def test_after_a_timeout_with_nothing_created_the_retry_creates_once(slack):
    view = open_modal(slack, "request", updates=1)
    slack.sandbox.inject(path="/opportunities", method="POST", timeout=1.0, times=1)
    submit(slack, view, GOOD)
    slack.wait_until(
        lambda: list(slack.store.db.query("select 1 from submissions where state = 'unknown'")),
        timeout=15,
    )
    view2 = open_modal(slack, "request")
    submit(slack, view2, GOOD)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    assert [r.status for r in writes(slack, "POST", "/opportunities")][1:] in ([200], [201])


@pytest.mark.parametrize("field", ["primaryEmail", "body.primaryEmail", "primaryEmail[0]"])
def test_a_field_coperniq_rejects_is_shown_on_that_field(slack, field):
    view = open_modal(slack, "request", updates=1)
    slack.sandbox.inject(
        path="/opportunities",
        method="POST",
        status=400,
        times=1,
        body={
            "message": "primaryEmail is not deliverable",
            "code": "VALIDATION_ERROR",
            "field": field,
        },
    )
    submit(slack, view, GOOD)
    update = slack.wait_until(
        lambda: [
            c
            for c in slack.fake_slack.calls_to("views.update")
            if "not created" in str(c["view"]["blocks"])
        ]
    )
    blocks = update[-1]["view"]["blocks"]
    ids = [b.get("block_id") for b in blocks]
    email_at = ids.index(Block.REQUEST_EMAIL)
    assert blocks[email_at + 1]["type"] == "context"  # the error sits under the email field
    title = next(b for b in blocks if b.get("block_id") == Block.REQUEST_TITLE)
    assert title["element"]["initial_value"] == "AC not cooling"  # what was typed is kept
    assert list(slack.store.db.query("select state from submissions")) == [{"state": "failed"}]
    # Failed for sure: the same submission may be sent again and is created.
    view2 = open_modal(slack, "request")
    submit(slack, view2, GOOD)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))


@pytest.mark.parametrize("error", ["expired_trigger_id", "exchanged_trigger_id"])
def test_an_expired_trigger_tells_the_person_to_try_again(slack, error):
    slack.fake_slack.fail("views.open", error, times=1)
    slack.command("request")
    slack.wait_until(lambda: slack.fake_slack.calls_to("chat.postEphemeral"))
    text = slack.fake_slack.calls_to("chat.postEphemeral")[0]["text"]
    assert "again" in text and "too long" in text


def test_when_coperniq_cannot_list_trades_the_fallback_list_is_offered(slack):
    slack.sandbox.inject(path="/properties", status=503)
    view = open_modal(slack, "request", updates=1)
    trades = next(b for b in view["blocks"] if b.get("block_id") == Block.REQUEST_TRADES)
    assert len(trades["element"]["options"]) >= 5  # the configured list, so the form still works
    assert list(slack.store.db.query("select * from kv where key like 'modals.%'")) == []


def test_typed_text_cannot_ping_the_channel_or_break_the_confirmation(slack):
    view = open_modal(slack, "request", updates=1)
    title = "Unit <!channel> & garage <http://evil.example|click>"
    submit(slack, view, {**GOOD, Block.REQUEST_TITLE: title})
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    assert writes(slack, "POST", "/opportunities")[0].body["title"] == title  # stored as typed
    message = posts_to(slack, CHANNEL)[0]
    shown = str(message["blocks"]) + message["text"]
    assert "<!channel>" not in shown and "<http://evil" not in shown
    assert "&lt;!channel&gt; &amp; garage" in str(message["blocks"])


def test_an_answer_the_bot_cannot_read_keeps_the_typed_form_and_an_unknown_outcome(slack):
    view = open_modal(slack, "request", updates=1)
    slack.sandbox.inject(path="/opportunities", method="POST", status=201, body={}, times=1)
    before = len(slack.fake_slack.calls_to("views.update"))
    submit(slack, view, GOOD)
    slack.wait_for("views.update", before + 1, timeout=10)
    shown = slack.fake_slack.calls_to("views.update")[-1]["view"]
    title = next(b for b in shown["blocks"] if b.get("block_id") == Block.REQUEST_TITLE)
    assert title["element"]["initial_value"] == GOOD[Block.REQUEST_TITLE]
    assert "may or may not" in str(shown["blocks"])
    assert [r["state"] for r in slack.store.db.query("select state from submissions")] == [
        "unknown"
    ]


def test_the_same_request_a_day_later_is_a_new_one(slack):
    """Repeats are caught for a day; after that the same text is a customer calling again."""
    view = open_modal(slack, "request", updates=1)
    submit(slack, view, GOOD)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    slack.store.db.execute(
        "update submissions set created_at = '2020-01-01T00:00:00.000000+00:00', "
        "updated_at = '2020-01-01T00:00:00.000000+00:00'"
    )
    view2 = open_modal(slack, "request")
    assert "already created" not in str(submit(slack, view2, GOOD)["view"]["blocks"])
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2)
    assert len(writes(slack, "POST", "/opportunities")) == 2


def test_configured_trades_are_offered_without_asking_coperniq(
    fake_slack, coperniq_sandbox, tmp_path
):
    from tests.slack.harness import running_harness

    trades = ("Solar", "Heat Pumps", "Generators")
    with running_harness(fake_slack, coperniq_sandbox, tmp_path, request_trades=trades) as slack:
        view = open_modal(slack, "request")  # opens complete: no loading state, no update
        block = next(b for b in view["blocks"] if b.get("block_id") == Block.REQUEST_TRADES)
        assert [o["value"] for o in block["element"]["options"]] == list(trades)
        assert slack.fake_slack.calls_to("views.update") == []
        assert [r.path for r in slack.sandbox.requests if r.path == "/properties"] == []
