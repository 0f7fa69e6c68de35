"""One error hierarchy for every way a Coperniq call can fail.

Each error carries `.status`, `.code`, `.field` (the API's 400 field), `.user_message` (a sentence a
dispatcher can act on) and `.outcome_unknown` (a write may have happened). Messages are built by the
transport, which redacts the API key from anything the server echoes back.
"""

from __future__ import annotations


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
