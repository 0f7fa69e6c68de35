"""Shared fixtures: SQLite under tmp_path, the Coperniq sandbox, the fake Slack on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from sandbox.wiring import SANDBOX_KEY

__all__ = ["SANDBOX_KEY"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "bot.db")
    yield s
    s.close()


@pytest.fixture
def coperniq_sandbox() -> Iterator[object]:
    """A seeded Coperniq sandbox on loopback checking each request and response against the spec."""
    from sandbox.coperniq import CoperniqSandbox

    sb = CoperniqSandbox(api_key=SANDBOX_KEY, projects=60, validate=True)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()
    assert sb.conformance_errors == [], "\n".join(sb.conformance_errors)


@pytest.fixture
def fake_slack() -> Iterator[object]:
    """A recording fake of Slack's Web API on 127.0.0.1."""
    from sandbox.slack import FakeSlack

    fs = FakeSlack()
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()
