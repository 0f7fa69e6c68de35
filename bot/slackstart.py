"""Slack at start-up: a refused token stops the process with one line; an outage is waited out.

`serve` and `clock` call Slack once before they start (auth.test, and in Socket Mode
apps.connections.open). A refused token will not get better by retrying: SlackRefused carries one
sentence saying what is wrong and what to do, and the command exits 1. Slack being unreachable
(connection refused, DNS, timeout, HTTP 5xx) usually does get better: each try logs one line and
the next one waits 1, 2, 4 … seconds, at most MAX_RETRY_DELAY, until it works or SIGTERM.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Callable
from typing import TypeVar
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 60.0

# Slack's error code -> what it means and what to do (also `check`'s FAIL line).
AUTH_HINTS: dict[str, str] = {
    "invalid_auth": "the bot token was rejected; copy it again from OAuth & Permissions",
    "not_authed": "no token was sent; set SLACK_BOT_TOKEN",
    "account_inactive": "the app was uninstalled or the workspace is inactive; reinstall the app",
    "token_revoked": "the token was revoked; reinstall the app",
}
APP_TOKEN_HINTS: dict[str, str] = {
    "invalid_auth": "the app-level token was rejected; create one under Basic Information > "
    "App-Level Tokens with connections:write",
    "not_allowed_token_type": "this is not an app-level token; use the xapp- token",
    "missing_scope": "the app-level token lacks connections:write; create one that has it",
}
# Answers that say Slack is having trouble, not that the token is wrong.
_TRANSIENT_ERRORS = {
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
}


def describe_refusal(error: str, hints: dict[str, str] = AUTH_HINTS) -> str:
    """Slack's error code as what is wrong and what to do, with the code."""
    return f"{hints.get(error, AUTH_HINTS.get(error, 'Slack refused the call'))} ({error})"


class SlackRefused(Exception):
    """Slack refused a token at start-up; retrying will not help. The message is one line."""

    def __init__(self, variable: str, error: str, hints: dict[str, str] = AUTH_HINTS) -> None:
        self.error = error
        super().__init__(f"Slack refused {variable}: {describe_refusal(error, hints)}")


def _error_code(exc: SlackApiError) -> str:
    response = exc.response
    code = response.get("error") if response is not None else None
    return code if isinstance(code, str) and code else "unknown_error"


def transient_reason(exc: BaseException) -> str | None:
    """A short reason when `exc` means Slack could not be reached or had trouble; else None."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        if status >= 500 or status == 429:
            return f"HTTP {status}"
        code = _error_code(exc)
        return code if code in _TRANSIENT_ERRORS else None
    if isinstance(exc, URLError):
        return f"{type(exc).__name__}: {exc.reason}"
    if isinstance(exc, OSError | http.client.HTTPException):
        return type(exc).__name__ + (f": {exc.strerror}" if getattr(exc, "strerror", None) else "")
    return None


def call_slack_at_start(
    attempt: Callable[[], T],
    *,
    stop: threading.Event,
    where: str,
    variable: str = "SLACK_BOT_TOKEN",
    hints: dict[str, str] = AUTH_HINTS,
    sleep: Callable[[float], object] | None = None,
) -> T | None:
    """`attempt()` until it works (its result), SIGTERM (`stop` set: None) or a refusal (raised).

    `sleep` waits between tries (tests pass their own); by default it is `stop.wait`, so a
    SIGTERM during the wait ends it at once.
    """
    wait = sleep or stop.wait
    delay = FIRST_RETRY_DELAY
    tries = 0
    while not stop.is_set():
        tries += 1
        try:
            return attempt()
        except SlackApiError as exc:
            if transient_reason(exc) is None:
                raise SlackRefused(variable, _error_code(exc), hints) from None
            reason = transient_reason(exc)
        except Exception as exc:
            reason = transient_reason(exc)
            if reason is None:
                raise
        log.warning(
            "Slack is not answering at %s (%s); try %d failed, next in %g s",
            where,
            reason,
            tries,
            delay,
        )
        wait(delay)
        delay = min(delay * 2, MAX_RETRY_DELAY)
    return None
