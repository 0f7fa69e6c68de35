"""Auth, error bodies, rate-limit headers and the daily budget."""

from __future__ import annotations

import httpx

from sandbox.coperniq import CoperniqSandbox
from tests.fakes.conftest import KEY, TODAY, client_for


def test_missing_key_is_401_with_the_error_body(sb: CoperniqSandbox) -> None:
    with client_for(sb, key=None) as c:
        r = c.get("/projects")
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHORIZED" and r.json()["message"]


def test_wrong_key_is_401_and_not_counted(sb: CoperniqSandbox) -> None:
    before = sb.budget_remaining()
    with client_for(sb, key="wrong") as c:
        r = c.get("/projects")
    assert r.status_code == 401
    assert sb.budget_remaining() == before


def test_unknown_id_is_404_with_the_error_body(api: httpx.Client) -> None:
    r = api.get("/projects/999999")
    assert r.status_code == 404
    assert r.json() == {"message": "Project 999999 not found", "code": "NOT_FOUND"}


def test_unknown_path_is_404(api: httpx.Client) -> None:
    assert api.get("/nothing-here").status_code == 404
    assert api.get("/projects/1/nothing").status_code == 404


def test_invalid_query_is_400_with_field(api: httpx.Client) -> None:
    for query, field in (
        ("page=0", "page"),
        ("page_size=x", "page_size"),
        ("order_by=up", "order_by"),
        ("updated_after=yesterday", "updated_after"),
    ):
        r = api.get(f"/projects?{query}")
        assert r.status_code == 400, query
        assert r.json()["field"] == field
        assert r.json()["code"] and r.json()["message"]


def test_non_integer_id_is_400_with_field(api: httpx.Client) -> None:
    r = api.get("/invoices/abc")
    assert r.status_code == 400 and r.json()["field"] == "invoiceId"


def test_malformed_json_is_400(api: httpx.Client) -> None:
    r = api.post("/projects", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["field"] == "body"


def test_every_response_carries_rate_limit_headers(sb: CoperniqSandbox, api: httpx.Client) -> None:
    first = api.get("/roles")
    second = api.get("/projects/999999")
    with client_for(sb, key=None) as anon:
        unauth = anon.get("/roles")
    for r in (first, second, unauth):
        assert r.headers["X-RateLimit-Limit"] == "5000"
    assert int(first.headers["X-RateLimit-Remaining"]) == 4999
    assert int(second.headers["X-RateLimit-Remaining"]) == 4998
    assert int(unauth.headers["X-RateLimit-Remaining"]) == 4998


def test_budget_exhausted_is_429_rate_limit_exceeded() -> None:
    with (
        CoperniqSandbox(api_key=KEY, projects=5, daily_budget=3, today=TODAY) as s,
        client_for(s) as c,
    ):
        statuses = [c.get("/roles") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in statuses] == ["2", "1", "0", "0"]
    assert statuses[-1].json()["code"] == "RATE_LIMIT_EXCEEDED"
    assert statuses[-1].headers["X-RateLimit-Limit"] == "3"


def test_consume_budget_lets_tests_start_near_the_limit(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    sb.consume_budget(4999)
    assert api.get("/roles").status_code == 200
    r = api.get("/roles")
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"


def test_requests_are_recorded_with_path_query_body_and_status(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    api.get("/projects", params={"page": 2, "page_size": 5})
    api.post("/projects/40001/notes", json={"body": "hello"})
    got = sb.requests
    assert [(r.method, r.path, r.status) for r in got] == [
        ("GET", "/projects", 200),
        ("POST", "/projects/40001/notes", 201),
    ]
    assert got[0].query == {"page": "2", "page_size": "5"}
    assert got[1].body == {"body": "hello"}
    assert got[1].headers["x-api-key"] == KEY
    assert KEY not in repr(got[1])
    sb.reset_requests()
    assert sb.requests == []


def test_per_second_limit_is_429_and_not_counted_against_the_day() -> None:
    with (
        CoperniqSandbox(api_key=KEY, projects=5, today=TODAY, per_second=2) as s,
        client_for(s) as c,
    ):
        now = [1000.0]
        s.budget.clock = lambda: now[0]
        codes = [c.get("/roles").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert s.budget_remaining() == 4998
        now[0] += 1.5
        assert c.get("/roles").status_code == 200


def test_the_budget_window_rolls_over_after_24_hours() -> None:
    with (
        CoperniqSandbox(api_key=KEY, projects=5, daily_budget=2, today=TODAY) as s,
        client_for(s) as c,
    ):
        now = [1000.0]
        s.budget.clock = lambda: now[0]
        assert [c.get("/roles").status_code for _ in range(3)] == [200, 200, 429]
        now[0] += 24 * 3600 + 1
        r = c.get("/roles")
        assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "1"
