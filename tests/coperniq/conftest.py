"""Coperniq client test fixtures: a client on the sandbox, a recording sleep, a hand clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.coperniq import CoperniqClient
from bot.store import Store
from tests.conftest import SANDBOX_KEY


class Sleeper:
    """Records each requested sleep instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    @property
    def total(self) -> float:
        return sum(self.calls)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sb(request: pytest.FixtureRequest) -> Any:
    """The shared validating sandbox (skips while the sandbox package is not in the tree)."""
    try:
        from sandbox.coperniq import CoperniqSandbox  # noqa: F401
    except ImportError:
        pytest.skip("the Coperniq sandbox has not landed yet")
    return request.getfixturevalue("coperniq_sandbox")


@pytest.fixture
def client(sb: Any, store: Store, sleeper: Sleeper, clock: Clock) -> Iterator[CoperniqClient]:
    c = CoperniqClient(
        SANDBOX_KEY, sb.base_url, store=store, sleep=sleeper, clock=clock, timeout=5.0
    )
    try:
        yield c
    finally:
        c.close()


def norm_path(path: str) -> str:
    """Path as the API spec writes it (without the /v1 base)."""
    return path[3:] if path.startswith("/v1/") else path


def norm_query(query: dict[str, Any]) -> dict[str, Any]:
    """Single-valued query params as plain strings."""
    out = {}
    for k, v in query.items():
        out[k] = v[0] if isinstance(v, list | tuple) and len(v) == 1 else v
    return out


def sent(sb: Any, n: int = 1) -> list[tuple[str, str, dict[str, Any], Any]]:
    """The last `n` requests the sandbox received as (method, path, query, body)."""
    if n <= 0:
        return []
    return [(r.method, norm_path(r.path), norm_query(r.query), r.body) for r in sb.requests[-n:]]


def last(sb: Any) -> tuple[str, str, dict[str, Any], Any]:
    return sent(sb, 1)[0]


def to(sb: Any, path: str) -> list[tuple[str, str, dict[str, Any], Any]]:
    """Every request the sandbox received on `path`, oldest first."""
    return [r for r in sent(sb, len(sb.requests)) if r[1] == path]
