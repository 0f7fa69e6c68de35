"""The request guard alone, on a fixed clock: size, signature before parsing, body shape."""

from __future__ import annotations

import io
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.httpguard import SlackRequestGuard

SECRET = "guard-test-secret"
NOW = 1_700_000_000


class Inner:
    """Stands in for Bolt's adapter: records the bytes it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"inner"]


class Unreadable(io.RawIOBase):
    def read(self, *_: object) -> bytes:
        raise AssertionError("the body was read")


def _environ(
    body: bytes,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int | str | None = NOW,
    signature: str | None = None,
    sign: bool = True,
    method: str = "POST",
    length: str | None = None,
    stream: Any = None,
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
    }
    if timestamp is not None:
        environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = str(timestamp)
    if sign:
        environ["HTTP_X_SLACK_SIGNATURE"] = signature or SignatureVerifier(
            SECRET
        ).generate_signature(timestamp=str(timestamp), body=body)
    return environ


def _call(guard: SlackRequestGuard, environ: dict[str, Any]) -> tuple[int, bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])

    body = b"".join(guard(environ, start_response))
    return seen["status"], body


@pytest.fixture
def inner() -> Inner:
    return Inner()


@pytest.fixture
def guard(inner: Inner) -> SlackRequestGuard:
    return SlackRequestGuard(inner, SECRET, max_body_bytes=10_000, now=lambda: NOW)


def _command_body() -> bytes:
    return urlencode({"command": "/coperniq", "text": "help", "user_id": "U1"}).encode()


def test_a_signed_request_reaches_bolt_with_the_same_bytes(guard, inner) -> None:
    body = _command_body()
    assert _call(guard, _environ(body)) == (200, b"inner")
    assert inner.bodies == [body]


def test_a_json_event_reaches_bolt(guard, inner) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}).encode()
    status, _ = _call(guard, _environ(body, content_type="application/json; charset=utf-8"))
    assert status == 200 and inner.bodies == [body]


def test_the_window_is_five_minutes_on_the_injected_clock(guard, inner) -> None:
    body = _command_body()
    assert _call(guard, _environ(body, timestamp=NOW - 299))[0] == 200
    assert _call(guard, _environ(body, timestamp=NOW + 299))[0] == 200
    assert _call(guard, _environ(body, timestamp=NOW - 301))[0] == 401
    assert _call(guard, _environ(body, timestamp=NOW + 301))[0] == 401
    assert len(inner.bodies) == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"sign": False},
        {"timestamp": None},
        {"signature": "v0=" + "0" * 64},
        {"timestamp": "not-a-number", "signature": "v0=" + "0" * 64},
        {"signature": "v0=\xe9" + "0" * 63},  # SignatureVerifier raises TypeError on this
        {"signature": "v1=" + "0" * 64},
    ],
)
def test_unsigned_or_badly_signed_is_401_without_echo(guard, inner, caplog, overrides) -> None:
    body = b"text=" + b"Z" * 500
    with caplog.at_level(logging.DEBUG):
        status, answer = _call(guard, _environ(body, **overrides))
    assert status == 401
    assert b"ZZZ" not in answer and "ZZZ" not in caplog.text
    assert inner.bodies == []


def test_a_body_that_is_not_utf8_cannot_be_verified(guard, inner) -> None:
    body = b"text=\xff\xfe"
    environ = _environ(body, signature="v0=" + "a" * 64)
    assert _call(guard, environ)[0] == 401


def test_malformed_bodies_are_checked_only_after_the_signature(guard, inner) -> None:
    # Unsigned garbage is a 401 like any unsigned request: it is never parsed.
    env = _environ(b"payload=%7Bnot-json", sign=False)
    assert _call(guard, env)[0] == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),  # a list, not an object
        (b'{"type": "event_callback", ', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"command=%2Fcoperniq&text=help", "application/json"),  # a form labelled JSON
        (b'{"type": "event_callback"}', "application/x-www-form-urlencoded"),  # JSON as a form
        (b"command=%2Fcoperniq", "text/plain"),
        (b"command=%2Fcoperniq", ""),
        (b'{"type": "event_callback", "authorizations": "x"}', "application/json"),
    ],
)
def test_signed_malformed_bodies_are_400_without_a_traceback(
    guard, inner, caplog, body, content_type
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, answer = _call(guard, _environ(body, content_type=content_type))
    assert status == 400
    assert inner.bodies == []
    assert "Traceback" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records)
    assert json.loads(answer)["error"]


def test_an_oversized_body_is_413_without_being_read(guard, inner, caplog) -> None:
    environ = _environ(b"", length="10001", stream=Unreadable(), sign=False)
    with caplog.at_level(logging.DEBUG):
        assert _call(guard, environ)[0] == 413
    assert inner.bodies == []
    assert "10001" in caplog.text  # method, path and size are what the log says


def test_the_limit_itself_is_allowed(guard, inner) -> None:
    body = b"text=" + b"a" * (10_000 - 5)
    assert _call(guard, _environ(body))[0] == 200


def test_a_short_body_or_a_bad_length_is_400(guard, inner) -> None:
    body = _command_body()
    short = _environ(body, length=str(len(body) + 10))
    assert _call(guard, short)[0] == 400
    assert _call(guard, _environ(body, length="12abc"))[0] == 400


def test_only_post_is_served(guard, inner) -> None:
    assert _call(guard, _environ(b"", method="GET", sign=False))[0] == 405


def test_slacks_unsigned_ssl_check_is_answered_but_goes_no_further(guard, inner) -> None:
    status, answer = _call(guard, _environ(b"ssl_check=1&token=abc", sign=False))
    assert (status, answer) == (200, b"")
    smuggled = b"ssl_check=1&payload=%7B%22type%22%3A%22block_actions%22%7D"
    assert _call(guard, _environ(smuggled, sign=False))[0] == 401
    assert inner.bodies == []
