"""Start-up calls to Slack: a refused token is one sentence; an outage is retried with backoff."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slackstart import AUTH_HINTS, SlackRefused, call_slack_at_start, describe_refusal


def _api_error(error: str, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://127.0.0.1:9/api/auth.test",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=status,
    )
    return SlackApiError("The request to the Slack API failed.", response)


class Flaky:
    """Fails with each of `errors` in turn, then answers "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_an_outage_is_retried_with_doubling_waits_capped_at_a_minute(caplog) -> None:
    attempt = Flaky(*[URLError(ConnectionRefusedError(111, "Connection refused"))] * 8)
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="bot.slackstart"):
        result = call_slack_at_start(
            attempt, stop=threading.Event(), where="http://127.0.0.1:9/api/", sleep=waits.append
        )
    assert result == "ok" and attempt.calls == 9
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 8 and all("\n" not in line for line in lines)
    assert "http://127.0.0.1:9/api/" in lines[0] and "Connection refused" in lines[0]


@pytest.mark.parametrize(
    "error",
    [
        _api_error("internal_error", status=503),
        _api_error("service_unavailable"),
        TimeoutError("timed out"),
        socket.gaierror(-2, "Name or service not known"),
        http.client.RemoteDisconnected("Remote end closed connection"),
    ],
)
def test_slack_trouble_and_network_failures_are_retried(error) -> None:
    attempt = Flaky(error)
    waits: list[float] = []
    assert call_slack_at_start(attempt, stop=threading.Event(), where="x", sleep=waits.append)
    assert waits == [1]


@pytest.mark.parametrize(
    "code", ["invalid_auth", "token_revoked", "account_inactive", "not_authed"]
)
def test_a_refused_token_is_one_sentence_and_not_retried(code) -> None:
    attempt = Flaky(_api_error(code))
    waits: list[float] = []
    with pytest.raises(SlackRefused) as info:
        call_slack_at_start(attempt, stop=threading.Event(), where="x", sleep=waits.append)
    message = str(info.value)
    assert message == f"Slack refused SLACK_BOT_TOKEN: {describe_refusal(code)}"
    assert code in message and "\n" not in message
    assert attempt.calls == 1 and waits == []
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_sigterm_while_waiting_ends_the_tries() -> None:
    stop = threading.Event()
    attempt = Flaky(*[URLError("refused")] * 100)
    assert call_slack_at_start(attempt, stop=stop, where="x", sleep=lambda _: stop.set()) is None
    assert attempt.calls == 1


def test_a_bug_is_not_mistaken_for_an_outage() -> None:
    with pytest.raises(KeyError):
        call_slack_at_start(Flaky(KeyError("x")), stop=threading.Event(), where="x")


def test_every_auth_hint_says_what_is_wrong_and_what_to_do() -> None:
    for code, hint in AUTH_HINTS.items():
        wrong, todo = hint.split("; ")
        assert wrong and todo and describe_refusal(code) == f"{hint} ({code})"
    assert describe_refusal("something_new") == "Slack refused the call (something_new)"
