"""Coperniq REST API client: `CoperniqClient(api_key, base_url, ...)`, its errors and helpers.

    client = CoperniqClient(settings.coperniq_api_key, settings.coperniq_base_url, store=store)
    client.interactive.projects.get(123)        # a person waits: quick retries, never refused
    for inv in client.background.invoices.list():  # a job: patient retries, asks the budget first
        ...
    api = client.with_policy(INTERACTIVE)          # a view of its own, counting its calls

The bare client behaves like `.background`. Records are plain dicts as the API returns them;
lists that page are lazy iterators, the others are lists. Every failure is a `CoperniqError`
subclass with `.user_message` for Slack and `.outcome_unknown` for writes that may have happened.

Modules: client (the views and resources), transport (retries, policies, ledger), resources/
(one class per resource), paths (ids and record paths), errors, pagination, budget, redact.
"""

from bot.coperniq.budget import BACKGROUND, INTERACTIVE, Budget
from bot.coperniq.client import CoperniqClient
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
from bot.coperniq.transport import BACKGROUND_POLICY, INTERACTIVE_POLICY, RetryPolicy

__all__ = [
    "BACKGROUND",
    "BACKGROUND_POLICY",
    "INTERACTIVE",
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
