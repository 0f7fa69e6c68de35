"""Deps: the long-lived objects a process shares (settings, store, Coperniq and Slack clients)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.store import Store

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    store: Store
    coperniq: CoperniqClient
    slack: WebClient | None
    # What time it is for listeners that stamp or schedule (a snooze's end); tests fix it.
    clock: Callable[[], datetime] = field(default=utcnow)


def build_slack_client(settings: Settings) -> WebClient:
    """A Web API client at SLACK_API_URL that waits out `ratelimited` answers instead of failing."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    token = settings.slack_bot_token.reveal() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def build_deps(
    settings: Settings,
    *,
    store: Store | None = None,
    coperniq: CoperniqClient | None = None,
    slack: WebClient | None = None,
) -> Deps:
    """Wire the real objects from Settings; tests pass their own pieces."""
    from bot.coperniq import CoperniqClient

    store = store or Store(settings.db_path)
    if coperniq is None:
        settings.require("coperniq_api_key")
        coperniq = CoperniqClient(
            api_key=settings.coperniq_api_key,
            base_url=settings.coperniq_base_url,
            store=store,
            daily_budget=settings.coperniq_daily_budget,
        )
    if slack is None and settings.slack_bot_token:
        slack = build_slack_client(settings)
    return Deps(settings=settings, store=store, coperniq=coperniq, slack=slack)
