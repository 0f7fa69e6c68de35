"""Fault injection: statuses (with Retry-After), latency, held-then-dropped connections, `times`,
method and path globs, and a prompt stop() even while a connection is held."""

from __future__ import annotations

import threading

import httpx
import pytest

from sandbox.coperniq import CoperniqSandbox
from tests.fakes.conftest import KEY, TODAY, client_for


def test_status_fault_answers_the_status_with_an_error_body(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    sb.inject(path="/projects*", status=503)
    r = api.get("/projects")
    assert r.status_code == 503 and r.json()["code"] == "SERVICE_UNAVAILABLE"
    assert r.headers["X-RateLimit-Limit"] and "X-RateLimit-Remaining" in r.headers
    assert api.get("/projects/40001/files").status_code == 503  # glob covers sub-paths
    assert api.get("/roles").status_code == 200


def test_429_fault_with_retry_after(sb: CoperniqSandbox, api: httpx.Client) -> None:
    sb.inject(path="/invoices", status=429, retry_after=2, times=1)
    r = api.get("/invoices")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["code"] == "RATE_LIMIT_EXCEEDED"
    assert api.get("/invoices").status_code == 200


def test_times_limits_the_fault_then_requests_pass(sb: CoperniqSandbox, api: httpx.Client) -> None:
    sb.inject(path="/workflows", status=500, times=2)
    assert [api.get("/workflows").status_code for _ in range(3)] == [500, 500, 200]


def test_method_filter_and_custom_body(sb: CoperniqSandbox, api: httpx.Client) -> None:
    sb.inject(
        path="/projects/*",
        method="PATCH",
        status=502,
        body={"message": "upstream", "code": "BAD_GATEWAY"},
    )
    before = api.get("/projects/40001").json()
    r = api.patch("/projects/40001", json={"description": "never stored"})
    assert r.status_code == 502 and r.json() == {"message": "upstream", "code": "BAD_GATEWAY"}
    assert sb.get("projects", 40001)["description"] == before["description"]


def test_clear_faults(sb: CoperniqSandbox, api: httpx.Client) -> None:
    sb.inject(status=500)
    assert api.get("/roles").status_code == 500
    sb.clear_faults()
    assert api.get("/roles").status_code == 200


def test_latency_fault_outlasts_a_short_client_timeout(sb: CoperniqSandbox) -> None:
    sb.inject(path="/teams", latency=1.0, times=1)
    with client_for(sb, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get("/teams")
        assert c.get("/teams").status_code == 200


def test_timeout_fault_holds_then_drops_the_connection(sb: CoperniqSandbox) -> None:
    sb.inject(path="/projects", method="POST", timeout=0.5, times=1)
    with client_for(sb, timeout=5.0) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/projects", json={"title": "x", "address": ["y"]})
        assert c.get("/projects").status_code == 200
    assert sb.requests[0].status == 0 and sb.requests[0].path == "/projects"


def test_timeout_fault_times_out_a_client(sb: CoperniqSandbox) -> None:
    sb.inject(path="/roles", timeout=True)
    with client_for(sb, timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/roles")


def test_stop_is_prompt_while_a_connection_is_held() -> None:
    s = CoperniqSandbox(api_key=KEY, projects=5, today=TODAY).start()
    s.inject(timeout=True)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with client_for(s, timeout=30.0) as c:
                c.get("/roles")
        except httpx.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    for _ in range(200):
        if s.requests:
            break
        threading.Event().wait(0.02)
    stopper = threading.Thread(target=s.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=10)
    t.join(timeout=10)
    assert not stopper.is_alive() and not t.is_alive()
    assert errors, "the held request ends with a connection error"


def test_global_latency_applies_to_every_request() -> None:
    with CoperniqSandbox(api_key=KEY, projects=5, today=TODAY, latency=1.0) as s:
        with client_for(s, timeout=0.2) as c, pytest.raises(httpx.ReadTimeout):
            c.get("/roles")


def test_many_concurrent_requests_are_served() -> None:
    with CoperniqSandbox(api_key=KEY, projects=40, today=TODAY) as s:
        results: list[int] = []
        lock = threading.Lock()

        def call(n: int) -> None:
            with client_for(s) as c:
                code = c.get("/projects", params={"page": n % 3 + 1}).status_code
            with lock:
                results.append(code)

        threads = [threading.Thread(target=call, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert results == [200] * 40


def test_apply_first_saves_the_write_then_answers_the_status(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    checked.inject(path="/projects/*", method="PATCH", status=500, apply_first=True, times=1)
    r = capi.patch("/projects/40001", json={"description": "saved, answer lost"})
    assert r.status_code == 500 and r.json()["code"] == "INTERNAL_SERVER_ERROR"
    assert checked.get("projects", 40001)["description"] == "saved, answer lost"
    [rec] = checked.requests
    assert (rec.status, rec.applied) == (500, 200)


def test_apply_first_create_exists_once_after_the_500(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    before = len(sb.find("opportunities"))
    sb.inject(path="/opportunities", method="POST", status=500, apply_first=True, times=1)
    body = {"title": "Lost answer", "address": ["1 Main St"], "trades": ["HVAC"]}
    assert api.post("/opportunities", json=body).status_code == 500
    made = [o for o in sb.find("opportunities") if o["title"] == "Lost answer"]
    assert len(made) == 1 and len(sb.find("opportunities")) == before + 1


def test_apply_first_drop_saves_the_write_and_closes_without_an_answer(
    sb: CoperniqSandbox,
) -> None:
    sb.inject(path="/projects/*", method="PATCH", drop=True, apply_first=True, times=1)
    with client_for(sb) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.patch("/projects/40001", json={"description": "saved, then dropped"})
        assert c.get("/projects/40001").json()["description"] == "saved, then dropped"
    assert (sb.requests[0].status, sb.requests[0].applied) == (0, 200)


def test_apply_first_timeout_holds_after_saving_then_drops(sb: CoperniqSandbox) -> None:
    sb.inject(path="/projects/*", method="PATCH", timeout=0.3, apply_first=True, times=1)
    with client_for(sb, timeout=5.0) as c, pytest.raises(httpx.RemoteProtocolError):
        c.patch("/projects/40001", json={"description": "saved, then held"})
    assert sb.get("projects", 40001)["description"] == "saved, then held"


def test_apply_first_without_an_answer_to_give_is_refused(sb: CoperniqSandbox) -> None:
    with pytest.raises(ValueError, match="apply_first"):
        sb.inject(path="/projects", apply_first=True)


def test_drop_without_apply_first_saves_nothing(sb: CoperniqSandbox) -> None:
    sb.inject(path="/projects/*", method="PATCH", drop=True, times=1)
    before = sb.get("projects", 40001)["description"]
    with client_for(sb) as c, pytest.raises(httpx.RemoteProtocolError):
        c.patch("/projects/40001", json={"description": "never stored"})
    assert sb.get("projects", 40001)["description"] == before
    assert (sb.requests[0].status, sb.requests[0].applied) == (0, None)


def test_page_fault_only_hits_that_page(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    checked.inject(path="/projects", method="GET", status=500, page=2)
    assert capi.get("/projects", params={"page": 1, "page_size": 10}).status_code == 200
    assert capi.get("/projects", params={"page_size": 10}).status_code == 200  # page 1 implied
    assert capi.get("/projects", params={"page": 2, "page_size": 10}).status_code == 500
    assert capi.get("/projects", params={"page": 3, "page_size": 10}).status_code == 200
    assert capi.get("/projects", params={"page": 2, "page_size": 10}).status_code == 500


def test_page_one_fault_matches_a_listing_without_a_page_parameter(
    sb: CoperniqSandbox, api: httpx.Client
) -> None:
    sb.inject(path="/invoices", status=503, page=1, times=1)
    assert api.get("/invoices").status_code == 503
    assert api.get("/invoices").status_code == 200
