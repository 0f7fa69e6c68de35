"""Fixtures for the sandbox's own tests: small seeded sandboxes on loopback and clients."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from sandbox.coperniq import CoperniqSandbox

KEY = "sandbox-test-key"
TODAY = date(2026, 1, 15)


@pytest.fixture
def sb() -> Iterator[CoperniqSandbox]:
    """A small sandbox that does not check the spec (tests that send wrong requests on purpose)."""
    s = CoperniqSandbox(api_key=KEY, projects=30, today=TODAY)
    s.start()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def checked() -> Iterator[CoperniqSandbox]:
    """A small sandbox checking every exchange against the spec; must end with no violations."""
    s = CoperniqSandbox(api_key=KEY, projects=30, today=TODAY, validate=True)
    s.start()
    try:
        yield s
    finally:
        s.close()
    assert s.conformance_errors == [], "\n".join(s.conformance_errors)


def client_for(s: CoperniqSandbox, key: str | None = KEY, timeout: float = 10.0) -> httpx.Client:
    """An httpx client on the sandbox's base URL sending the key."""
    headers = {"x-api-key": key} if key else {}
    return httpx.Client(base_url=s.base_url, headers=headers, timeout=timeout)


@pytest.fixture
def api(sb: CoperniqSandbox) -> Iterator[httpx.Client]:
    with client_for(sb) as c:
        yield c


@pytest.fixture
def capi(checked: CoperniqSandbox) -> Iterator[httpx.Client]:
    with client_for(checked) as c:
        yield c


def call_body(**over: Any) -> dict[str, Any]:
    """A valid call-log body."""
    body: dict[str, Any] = {
        "fromNumber": "+15125550123",
        "toNumber": "+15125550100",
        "isInbound": True,
        "startTime": "2026-01-14T15:00:00Z",
        "endTime": "2026-01-14T15:07:00Z",
        "reason": "SERVICE",
        "disposition": "VISIT_SCHEDULED",
        "outcome": "ANSWERED",
        "note": "AC blowing warm air; tech booked for Friday",
    }
    body.update(over)
    return body
