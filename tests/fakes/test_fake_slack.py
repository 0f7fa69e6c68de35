"""The fake Slack Web API answers like Slack: shapes, auth, limits, triggers, faults, files."""

from __future__ import annotations

import json
import urllib.request

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import FakeSlack


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)


def _modal(title: str = "Log a call", blocks: list | None = None) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks or []}


def _section(i: int) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"line {i}"}}


def _error(call) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


def test_auth_test_names_the_bot(client: WebClient, fake_slack: FakeSlack) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == fake_slack.bot_user_id
    assert answer["team_id"] == fake_slack.team_id


def test_a_wrong_token_is_invalid_auth(fake_slack: FakeSlack) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=fake_slack.base_url)
    assert _error(bad.auth_test) == "invalid_auth"


def test_messages_post_update_and_keep_their_state(client: WebClient, fake_slack) -> None:
    posted = client.chat_postMessage(channel="C1", text="first", blocks=[_section(1)])
    client.chat_update(channel="C1", ts=posted["ts"], text="second")
    assert [m["text"] for m in fake_slack.messages("C1")] == ["second"]
    assert _error(lambda: client.chat_update(channel="C1", ts="9.9", text="x")) == (
        "message_not_found"
    )


def test_form_encoded_and_json_bodies_are_both_understood(fake_slack: FakeSlack) -> None:
    headers = {"Authorization": f"Bearer {fake_slack.bot_token}"}
    blocks = [_section(1)]
    httpx.post(
        fake_slack.base_url + "chat.postMessage",
        data={"channel": "C2", "text": "form", "blocks": json.dumps(blocks)},
        headers=headers,
    )
    httpx.post(
        fake_slack.base_url + "chat.postMessage",
        json={"channel": "C2", "text": "json", "blocks": blocks},
        headers=headers,
    )
    assert [(m["text"], m["blocks"]) for m in fake_slack.messages("C2")] == [
        ("form", blocks),
        ("json", blocks),
    ]


def test_too_many_blocks_are_refused(client: WebClient) -> None:
    blocks = [_section(i) for i in range(51)]
    error = _error(lambda: client.chat_postMessage(channel="C1", text="x", blocks=blocks))
    assert error == "invalid_blocks"
    view = _modal(blocks=[_section(i) for i in range(101)])
    assert _error(lambda: client.views_publish(user_id="U1", view={**view, "type": "home"})) == (
        "invalid_arguments"
    )


def test_a_long_modal_title_is_invalid_arguments(client: WebClient, fake_slack) -> None:
    trigger = fake_slack.new_trigger_id()
    error = _error(lambda: client.views_open(trigger_id=trigger, view=_modal("x" * 25)))
    assert error == "invalid_arguments"


def test_blocks_without_text_fallback_are_accepted_with_a_warning(client, fake_slack) -> None:
    with pytest.warns(UserWarning):  # slack-sdk warns too
        client.chat_postMessage(channel="C1", blocks=[_section(1)])
    assert fake_slack.warnings


def test_trigger_ids_expire_after_three_seconds_and_work_once(client, fake_slack) -> None:
    fresh = fake_slack.new_trigger_id()
    view = client.views_open(trigger_id=fresh, view=_modal())["view"]
    assert fake_slack.view(view["id"])["title"]["text"] == "Log a call"
    assert _error(lambda: client.views_open(trigger_id=fresh, view=_modal())) == (
        "exchanged_trigger_id"
    )
    old = fake_slack.new_trigger_id()
    fake_slack.advance(3.5)
    assert _error(lambda: client.views_open(trigger_id=old, view=_modal())) == "expired_trigger_id"
    assert _error(lambda: client.views_open(trigger_id="made-up", view=_modal())) == (
        "expired_trigger_id"
    )


def test_views_update_checks_the_hash(client: WebClient, fake_slack: FakeSlack) -> None:
    view = client.views_open(trigger_id=fake_slack.new_trigger_id(), view=_modal())["view"]
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=_modal("Two"))
    assert updated["view"]["id"] == view["id"]
    stale = lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=_modal())  # noqa: E731
    assert _error(stale) == "hash_conflict"


def test_ratelimited_answers_429_with_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", "ratelimited", retry_after=7)
    response = httpx.post(
        fake_slack.base_url + "chat.postMessage",
        json={"channel": "C1", "text": "x"},
        headers={"Authorization": f"Bearer {fake_slack.bot_token}"},
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"ok": False, "error": "ratelimited"}


def test_other_faults_answer_ok_false_then_clear(client: WebClient, fake_slack) -> None:
    fake_slack.fail("chat.postMessage", "not_in_channel", times=1)
    assert _error(lambda: client.chat_postMessage(channel="C1", text="x")) == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_file_downloads_need_the_bot_token(fake_slack: FakeSlack) -> None:
    info = fake_slack.add_file(b"\xff\xd8\xff jpeg bytes")
    url = info["url_private_download"]
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {fake_slack.bot_token}"}
    )
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"\xff\xd8\xff jpeg bytes"
        assert response.headers["Content-Type"] == "image/jpeg"
    with urllib.request.urlopen(url) as response:  # no token: Slack's 200 login page
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"<html" in response.read()


def test_response_urls_record_what_is_posted(fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    assert httpx.post(url, json={"text": "hi", "response_type": "ephemeral"}).status_code == 200
    assert fake_slack.responses(url)[0]["text"] == "hi"


def test_every_call_is_recorded_with_a_monotonic_time(client: WebClient, fake_slack) -> None:
    client.auth_test()
    client.users_info(user="U1")
    calls = fake_slack.calls
    assert [c.method for c in calls] == ["auth.test", "users.info"]
    assert calls[0].at <= calls[1].at
