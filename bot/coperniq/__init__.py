"""Coperniq REST API client: `CoperniqClient(api_key, base_url, ...)`, its errors and helpers."""

from bot.coperniq.budget import Budget
from bot.coperniq.client import (
    BACKGROUND_POLICY,
    INTERACTIVE_POLICY,
    CoperniqClient,
    RetryPolicy,
    check_id,
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
from bot.coperniq.resources import RECORD_TYPES, mention

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
]
