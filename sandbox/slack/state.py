"""What the fake Slack keeps: recorded calls, faults, triggers, views, messages, files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TRIGGER_TTL_SECONDS = 3.0

_LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Slack</title></head>"
    b"<body><h1>Sign in to your workspace</h1></body></html>"
)


@dataclass
class SlackCall:
    """One recorded request to the fake."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None
    response: dict[str, Any] | None = None


@dataclass
class _Fault:
    error: str
    times: int | None
    retry_after: float | None
    status: int = 200  # the HTTP status of the error answer (ratelimited is always 429)


@dataclass
class _Trigger:
    minted_at: float
    view_id: str | None = None
    used: bool = False


@dataclass
class _State:
    calls: list[SlackCall] = field(default_factory=list)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    triggers: dict[str, _Trigger] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    login_only: set[str] = field(default_factory=set)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class SlackApiError(Exception):
    """An error answer: {"ok": false, "error": code} (with details for invalid_arguments)."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
