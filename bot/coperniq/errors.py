"""One error hierarchy for every way a Coperniq call can fail.

Each error carries `.status`, `.code`, `.field` (the API's 400 field), `.user_message` (a sentence a
dispatcher can act on) and `.outcome_unknown` (a write may have happened). Every message is built
here, by the constructors at the end (`from_response`, `not_connected`, `timed_out`, `dropped`,
`not_json`, `file_too_large`); the transport only decides whether to retry, and hands each
constructor its `redact` so nothing the server or the network echoes back can carry the API key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Redact = Callable[[str], str]


class CoperniqError(Exception):
    """Base class: a Coperniq call failed."""

    default_user_message = (
        "Coperniq could not do that just now; try again, or tell an admin if it keeps happening."
    )

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        method: str | None = None,
        path: str | None = None,
        outcome_unknown: bool = False,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field
        self.method = method
        self.path = path
        self.outcome_unknown = outcome_unknown
        self.user_message = user_message or self._default_user_message()

    def _default_user_message(self) -> str:
        return self.default_user_message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"field={self.field!r}, "
            f"method={self.method!r}, path={self.path!r}, outcome_unknown={self.outcome_unknown!r})"
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keep keyword state when pickled (e.g. across a process pool).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[CoperniqError], message: str, state: dict) -> CoperniqError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ValidationError(CoperniqError):
    """400: Coperniq rejected the request's content (see `.field`)."""

    def _default_user_message(self) -> str:
        if self.field:
            return f"Coperniq did not accept the value for '{self.field}'; check it and try again."
        return "Coperniq did not accept that request; check the values and try again."


class PayloadTooLarge(ValidationError):
    """413: the request body (usually a file) is larger than Coperniq takes."""

    default_user_message = (
        "That file is too large for Coperniq (about 6 MB is the most that goes through); "
        "send a smaller one."
    )

    def _default_user_message(self) -> str:
        return self.default_user_message


class AuthenticationError(CoperniqError):
    """401: the API key is missing, wrong or revoked."""

    default_user_message = (
        "The bot's Coperniq API key was refused; an admin needs to check COPERNIQ_API_KEY."
    )


class PermissionDenied(CoperniqError):
    """403: the key's user may not do this."""

    default_user_message = (
        "The bot's Coperniq user is not allowed to do that; an admin can grant it the permission."
    )


class NotFound(CoperniqError):
    """404: no such record, or it is outside the key user's scope."""

    default_user_message = (
        "Coperniq could not find that record; it may have been deleted, or it is outside what the "
        "bot's Coperniq user can see."
    )


class RateLimited(CoperniqError):
    """429: Coperniq's rate limit (per second or per 24 h) was hit; see `.retry_after`."""

    default_user_message = "Coperniq is busy right now (rate limit); try again in a minute."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", retry_after={self.retry_after!r})"


class ServerError(CoperniqError):
    """5xx: Coperniq failed on its side."""

    def _default_user_message(self) -> str:
        if self.outcome_unknown:
            return (
                "Coperniq had a problem while saving; the change may or may not have been made. "
                "Check the record in Coperniq before trying again."
            )
        return "Coperniq is having problems right now; try again in a few minutes."


class Timeout(CoperniqError):
    """Coperniq did not answer in time."""

    def _default_user_message(self) -> str:
        if self.outcome_unknown:
            return (
                "Coperniq did not answer in time; the change may or may not have been made. "
                "Check the record in Coperniq before trying again."
            )
        return "Coperniq did not answer in time; try again in a minute."


class ConnectionFailed(CoperniqError):
    """The connection to Coperniq could not be made or dropped mid-request."""

    def _default_user_message(self) -> str:
        if self.outcome_unknown:
            return (
                "The connection to Coperniq dropped while saving; the change may or may not have "
                "been made. Check the record in Coperniq before trying again."
            )
        return "The bot could not reach Coperniq; try again in a minute."


class BudgetExceeded(CoperniqError):
    """The bot's own refusal: background work would eat into the daily budget kept for people."""

    default_user_message = (
        "The bot has used today's Coperniq allowance for background work and keeps the rest for "
        "people in Slack; background checks resume as the 24-hour window frees up."
    )


# --- constructors: every message the transport raises is worded here ---------------------------

_MAYBE_MADE = " The change may or may not have been made."


def from_response(
    status: int,
    body: Any,
    retry_after: float | None,
    *,
    method: str,
    path: str,
    is_read: bool,
    redact: Redact,
) -> CoperniqError:
    """The error for an HTTP answer of 400 or more; `body` is its decoded JSON (or None)."""
    api_message = code = field = None
    if isinstance(body, dict):
        api_message = body.get("message")
        code = body.get("code")
        field = body.get("field")
        if isinstance(api_message, list):  # some validators answer a list of messages
            api_message = "; ".join(str(m) for m in api_message)
    api_message = redact(str(api_message)) if api_message else None
    code = str(code) if code is not None else None
    field = str(field) if field is not None else None
    said = f": {api_message}" if api_message else ""
    where = f"{method} {path}"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "field": field,
        "method": method,
        "path": path,
    }
    if status == 400 or status == 422:
        on = f" (field '{field}')" if field else ""
        return ValidationError(
            f"Coperniq rejected {where}{on}{said}. Fix the request and try again.", **common
        )
    if status == 413:
        return PayloadTooLarge(
            f"Coperniq refused {where}: the body is too large (about 6 MB goes through).",
            **common,
        )
    if status == 401:
        return AuthenticationError(
            f"Coperniq refused the API key on {where}{said}. Check COPERNIQ_API_KEY.", **common
        )
    if status == 403:
        return PermissionDenied(
            f"Coperniq denied {where}{said}: the key's user lacks permission for this.", **common
        )
    if status == 404:
        return NotFound(
            f"Coperniq found nothing at {where}{said}. The record may not exist or may be "
            "outside the API key user's scope.",
            **common,
        )
    if status == 429:
        wait = (
            f" Retry after {retry_after:g}s." if retry_after is not None else " Try again shortly."
        )
        return RateLimited(
            f"Coperniq rate limit hit on {where}{said}.{wait}", retry_after=retry_after, **common
        )
    if status >= 500:
        unknown = not is_read
        return ServerError(
            f"Coperniq failed with {status} on {where}{said}."
            + (_MAYBE_MADE if unknown else " Try again later."),
            outcome_unknown=unknown,
            **common,
        )
    return CoperniqError(f"Coperniq answered {status} to {where}{said}.", **common)


def not_connected(
    method: str, path: str, reason: str, *, timed_out: bool, redact: Redact
) -> CoperniqError:
    """No connection was made (refused, or connect/pool timeout): nothing reached Coperniq."""
    cls = Timeout if timed_out else ConnectionFailed
    return cls(
        f"Could not connect to Coperniq for {method} {path}: {redact(reason)}. "
        "Check the network and COPERNIQ_BASE_URL.",
        method=method,
        path=path,
        outcome_unknown=False,
    )


def timed_out(method: str, path: str, timeout: float, *, is_read: bool) -> Timeout:
    """Sent, but no answer within `timeout` seconds: a write may have happened."""
    return Timeout(
        f"Coperniq did not answer {method} {path} within {timeout:g}s."
        + ("" if is_read else _MAYBE_MADE),
        method=method,
        path=path,
        outcome_unknown=not is_read,
    )


def dropped(method: str, path: str, failure: str, *, is_read: bool) -> ConnectionFailed:
    """The connection broke mid-request (`failure` names how): a write may have happened."""
    return ConnectionFailed(
        f"The connection to Coperniq failed during {method} {path} ({failure})."
        + ("" if is_read else _MAYBE_MADE),
        method=method,
        path=path,
        outcome_unknown=not is_read,
    )


def not_json(status: int, method: str, path: str) -> CoperniqError:
    """A successful answer whose body could not be decoded."""
    return CoperniqError(
        f"Coperniq answered {method} {path} with a body that is not JSON.",
        status=status,
        method=method,
        path=path,
    )


def file_too_large(filename: str, size: int, path: str) -> PayloadTooLarge:
    """Refused before sending: Coperniq takes at most 10 MB per request."""
    return PayloadTooLarge(
        f"{filename!r} is {size / 1_000_000:.1f} MB; Coperniq takes at most 10 MB "
        "per request (about 6 MB goes through in practice).",
        status=413,
        method="POST",
        path=path,
    )


__all__ = [
    "AuthenticationError",
    "BudgetExceeded",
    "ConnectionFailed",
    "CoperniqError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "Timeout",
    "ValidationError",
]
