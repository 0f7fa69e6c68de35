"""The request guard on the real server: what strangers can send to /slack/events, and the log."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

from tests.slack.harness import SlackHarness


def _no_traceback(caplog) -> None:
    assert "Traceback" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_an_unsigned_oversized_body_is_413_and_never_logged(bare_slack: SlackHarness, caplog):
    body = "text=" + "A" * 1_200_000
    with caplog.at_level(logging.DEBUG):
        response = bare_slack.http.post(
            bare_slack.url,
            content=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert "AAAAAAAAAA" not in caplog.text
    _no_traceback(caplog)


def test_an_unsigned_body_is_401_and_not_echoed_or_logged(bare_slack: SlackHarness, caplog):
    body = urlencode({"command": "/coperniq", "text": "B" * 50_000})
    with caplog.at_level(logging.DEBUG):
        reply = bare_slack.post(
            body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64
        )
    assert reply.status == 401
    assert "BBBBBBBBBB" not in reply.text and "BBBBBBBBBB" not in caplog.text
    assert bare_slack.fake_slack.calls_to("views.open") == []


def test_an_unsigned_malformed_body_is_401_not_a_500(bare_slack: SlackHarness, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        reply = bare_slack.post(
            "payload=%7Bbroken", "application/x-www-form-urlencoded", signature="v0=x"
        )
        broken_json = bare_slack.post('{"type": ', "application/json", signature="v0=x")
    assert (reply.status, broken_json.status) == (401, 401)
    _no_traceback(caplog)


def test_signed_malformed_bodies_are_400_without_a_traceback(bare_slack: SlackHarness, caplog):
    cases = [
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback", ', "application/json"),
        ("command=%2Fcoperniq&text=help", "application/json"),
        ("command=%2Fcoperniq&text=help", "text/plain"),
        ("[1, 2]", "application/json"),
    ]
    with caplog.at_level(logging.DEBUG):
        statuses = [bare_slack.post(body, content_type).status for body, content_type in cases]
    assert statuses == [400] * len(cases)
    _no_traceback(caplog)


def test_waitress_refuses_an_oversized_chunked_body_itself(bare_slack: SlackHarness) -> None:
    def chunks():
        for _ in range(40):
            yield b"C" * 65_536

    response = bare_slack.http.post(
        bare_slack.url,
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_other_paths_and_methods_are_refused_without_bolt(bare_slack: SlackHarness) -> None:
    assert bare_slack.get("/slack/events").status_code == 405
    assert (
        bare_slack.http.post(bare_slack.server.url + "/elsewhere", content=b"x").status_code == 404
    )


def test_signed_requests_still_work_end_to_end(bare_slack: SlackHarness) -> None:
    reply = bare_slack.command("help")
    assert reply.status == 200 and "/coperniq find" in reply.json()["text"]
    event = bare_slack.event({"type": "app_home_opened", "user": "U0USER", "tab": "home"})
    assert event.status == 200


def test_slacks_ssl_check_is_answered(bare_slack: SlackHarness) -> None:
    response = bare_slack.http.post(
        bare_slack.url,
        content=b"ssl_check=1&token=legacy",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200


def test_the_refusal_names_no_more_than_method_path_and_size(bare_slack: SlackHarness, caplog):
    with caplog.at_level(logging.INFO, logger="bot.httpguard"):
        bare_slack.post(json.dumps({"secret": "DDDD"}), "application/json", signature="v0=1")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.httpguard"]
    assert lines and "POST /slack/events" in lines[0] and "DDDD" not in lines[0]
