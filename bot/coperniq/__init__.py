"""Coperniq REST API client: `CoperniqClient(api_key, base_url, ...)`, its errors and helpers.

    client = CoperniqClient(settings.coperniq_api_key, settings.coperniq_base_url, store=store)
    client.interactive.projects.get(123)        # a person waits: quick retries, never refused
    for inv in client.background.invoices.list():  # a job: patient retries, asks the budget first
        ...

The bare client behaves like `.background`. Records are plain dicts as the API returns them;
lists that page are lazy iterators, the others are lists. Every failure is a `CoperniqError`
subclass with `.user_message` for Slack and `.outcome_unknown` for writes that may have happened.
"""

from bot.coperniq.budget import Budget
from bot.coperniq.client import (
    BACKGROUND_POLICY,
    INTERACTIVE_POLICY,
    CoperniqClient,
    RetryPolicy,
)
from bot.coperniq.errors import (
    AuthenticationError,
    BudgetExceeded,
    ConnectionFailed,
    CoperniqError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    ValidationError,
)
from bot.coperniq.paths import RECORD_TYPES, check_id, record_collection, record_path
from bot.coperniq.resources import mention

__all__ = [
    "BACKGROUND_POLICY",
    "INTERACTIVE_POLICY",
    "RECORD_TYPES",
    "AuthenticationError",
    "Budget",
    "BudgetExceeded",
    "ConnectionFailed",
    "CoperniqClient",
    "CoperniqError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Timeout",
    "ValidationError",
    "check_id",
    "mention",
    "record_collection",
    "record_path",
]
