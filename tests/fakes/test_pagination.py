"""Pagination exactly as the spec: page from 1, page_size default 20 (max 100), plain arrays and the
invoice envelope {items, page, page_size, has_more}, stable order by id."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.coperniq import CoperniqSandbox
from tests.fakes.conftest import KEY, TODAY, client_for


@pytest.fixture(scope="module")
def forty() -> Iterator[tuple[CoperniqSandbox, httpx.Client]]:
    """40 projects and 40 invoices: exact multiples of the default page size."""
    with (
        CoperniqSandbox(api_key=KEY, projects=40, invoices=40, today=TODAY) as s,
        client_for(s) as c,
    ):
        yield s, c


def test_plain_array_default_page_size_is_20(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    _, c = forty
    page = c.get("/projects").json()
    assert isinstance(page, list) and len(page) == 20
    assert [p["id"] for p in page] == sorted(p["id"] for p in page)


def test_exact_multiple_ends_with_an_empty_page(
    forty: tuple[CoperniqSandbox, httpx.Client],
) -> None:
    _, c = forty
    sizes = [len(c.get("/projects", params={"page": n}).json()) for n in (1, 2, 3)]
    assert sizes == [20, 20, 0]


def test_short_last_page(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    _, c = forty
    sizes = [len(c.get("/projects", params={"page": n, "page_size": 15}).json()) for n in (1, 2, 3)]
    assert sizes == [15, 15, 10]


def test_pages_cover_every_record_once_in_id_order(
    forty: tuple[CoperniqSandbox, httpx.Client],
) -> None:
    s, c = forty
    ids = [
        p["id"]
        for n in (1, 2, 3, 4, 5)
        for p in c.get("/projects", params={"page": n, "page_size": 9}).json()
    ]
    assert ids == sorted(p["id"] for p in s.all("projects"))


def test_order_by_desc_reverses(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    _, c = forty
    asc = [p["id"] for p in c.get("/projects", params={"page_size": 100}).json()]
    desc = [
        p["id"] for p in c.get("/projects", params={"page_size": 100, "order_by": "desc"}).json()
    ]
    assert desc == list(reversed(asc))


def test_page_size_above_100_is_capped_at_100() -> None:
    with (
        CoperniqSandbox(api_key=KEY, projects=120, invoices=130, today=TODAY) as s,
        client_for(s) as c,
    ):
        assert len(c.get("/projects", params={"page_size": 500}).json()) == 100
        env = c.get("/invoices", params={"page_size": 500}).json()
    assert len(env["items"]) == 100 and env["page_size"] == 100 and env["has_more"] is True


def test_empty_list_is_an_empty_array(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    _, c = forty
    assert c.get("/projects", params={"title": "no such title anywhere"}).json() == []


def test_invoice_envelope_exact_multiple(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    _, c = forty
    p1 = c.get("/invoices").json()
    p2 = c.get("/invoices", params={"page": 2}).json()
    p3 = c.get("/invoices", params={"page": 3}).json()
    assert (len(p1["items"]), p1["page"], p1["page_size"], p1["has_more"]) == (20, 1, 20, True)
    assert (len(p2["items"]), p2["page"], p2["has_more"]) == (20, 2, False)
    assert p3 == {"items": [], "page": 3, "page_size": 20, "has_more": False}


def test_invoice_envelope_short_last_page(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    _, c = forty
    pages = [c.get("/invoices", params={"page": n, "page_size": 30}).json() for n in (1, 2)]
    assert [(len(p["items"]), p["has_more"]) for p in pages] == [(30, True), (10, False)]


def test_invoices_updated_after_and_before(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    s, c = forty
    stamps = sorted(i["updatedAt"] for i in s.all("invoices"))
    middle = stamps[len(stamps) // 2]
    after = c.get("/invoices", params={"updated_after": middle, "page_size": 100}).json()["items"]
    before = c.get("/invoices", params={"updated_before": middle, "page_size": 100}).json()["items"]
    assert after and all(i["updatedAt"] > middle for i in after)
    assert before and all(i["updatedAt"] < middle for i in before)
    assert len(after) + len(before) + stamps.count(middle) == 40


def test_project_invoices_use_the_envelope(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    s, c = forty
    inv = s.all("invoices")[0]
    env = c.get(f"/projects/{inv['record']['id']}/invoices").json()
    assert set(env) == {"items", "page", "page_size", "has_more"}
    assert inv["id"] in [i["id"] for i in env["items"]]
    acc = c.get(f"/accounts/{inv['account']['id']}/invoices").json()
    assert inv["id"] in [i["id"] for i in acc["items"]]


def test_projects_updated_after_sees_an_edit(forty: tuple[CoperniqSandbox, httpx.Client]) -> None:
    s, c = forty
    newest = max(p["updatedAt"] for p in s.all("projects"))
    assert c.get("/projects", params={"updated_after": newest}).json() == []
    s.update("projects", 40007, description="changed")
    assert [p["id"] for p in c.get("/projects", params={"updated_after": newest}).json()] == [40007]
