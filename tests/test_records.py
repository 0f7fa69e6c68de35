"""Record types and the one record search: kinds, links, option values, errors, the deadline."""

from __future__ import annotations

import threading

import pytest

from bot.coperniq.errors import ServerError
from bot.records import (
    KINDS,
    option_value,
    parse_value,
    record_type,
    record_url,
    resource,
    search,
)


def test_each_kind_has_its_resource_label_and_web_page() -> None:
    assert KINDS == ("project", "opportunity", "account")
    assert [record_type(k).label for k in KINDS] == ["Project", "Request", "Client"]
    assert record_url("https://app.coperniq.io/388/", "opportunity", 12) == (
        "https://app.coperniq.io/388/request/12"
    )
    assert parse_value(option_value("account", 9)) == ("account", 9)
    assert parse_value("account:9", ("project",)) is None
    with pytest.raises(ValueError):
        record_type("invoice")


class _Resource:
    def __init__(self, rows=(), error=None, gate=None):
        self.rows, self.error, self.gate, self.asked = list(rows), error, gate, []

    def list(self, q, page_size):
        self.asked.append((q, page_size))
        if self.gate is not None:
            self.gate.wait(10)
        if self.error is not None:
            raise self.error
        yield from self.rows


class _Client:
    def __init__(self, **resources):
        self.projects = resources.get("projects", _Resource())
        self.opportunities = resources.get("opportunities", _Resource())
        self.accounts = resources.get("accounts", _Resource())


def test_search_asks_each_kind_once_and_reports_failures_by_kind() -> None:
    client = _Client(
        projects=_Resource([{"id": i} for i in range(30)]),
        accounts=_Resource(error=ServerError("down", status=503)),
    )
    found, errors = search(client, "smith", limit=5)  # type: ignore[arg-type]
    assert [r["id"] for r in found["project"]] == [0, 1, 2, 3, 4]
    assert found["opportunity"] == [] and "account" not in found
    assert set(errors) == {"account"}
    assert client.projects.asked == [("smith", 5)]
    assert resource(client, "opportunity") is client.opportunities  # type: ignore[arg-type]


def test_a_kind_still_searching_at_the_deadline_is_left_out() -> None:
    gate = threading.Event()
    client = _Client(projects=_Resource([{"id": 1}]), accounts=_Resource([{"id": 2}], gate=gate))
    try:
        found, errors = search(client, "smith", deadline=0.05)  # type: ignore[arg-type]
    finally:
        gate.set()
    assert found == {"project": [{"id": 1}], "opportunity": []} and errors == {}
