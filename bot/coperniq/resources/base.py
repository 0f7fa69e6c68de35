"""What every resource class shares: the client view it is bound to, and small argument checks.

A `Resource` sends through its client view (so the view's purpose, retry policy and call count
apply) and pages with the one `paginate`. `_choice`, `_time` and `_as_list` are the checks and
the list reading that several resources need.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.coperniq.pagination import MAX_PAGE_SIZE, paginate

if TYPE_CHECKING:
    from bot.coperniq.client import CoperniqClient


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}")
    return value


def _time(value: datetime | str | None) -> datetime | str | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("updated_after/updated_before need an aware datetime")
    return value


def _as_list(body: Any, key: str | None = None) -> list[dict[str, Any]]:
    """A list from a plain array or from `{key: [...]}`; [] for an empty answer."""
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if key is not None and isinstance(body, dict) and isinstance(body.get(key), list):
        return body[key]
    raise TypeError("Coperniq answered a list request with an unexpected shape")


class Resource:
    """Base: a resource bound to one client view (its purpose, policy and transport)."""

    def __init__(self, client: CoperniqClient) -> None:
        self._client = client

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._client.request("GET", path, params=params)

    def _send(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        return self._client.request(method, path, json=body, params=params)

    def _pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        envelope: bool = False,
    ) -> Iterator[dict[str, Any]]:
        return paginate(
            lambda p: self._get(path, p),
            params,
            page_size=page_size,
            envelope=envelope,
            path=path,
        )
