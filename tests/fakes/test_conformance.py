"""The conformance checker: clean traffic passes, wrong requests and wrong responses are caught."""

from __future__ import annotations

import httpx

from sandbox.coperniq import CoperniqSandbox
from sandbox.coperniq.conformance import get_checker
from tests.fakes.conftest import KEY, TODAY, call_body, client_for


def _validating() -> CoperniqSandbox:
    return CoperniqSandbox(api_key=KEY, projects=20, today=TODAY, validate=True).start()


def test_every_collection_read_conforms(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    p = next(p for p in checked.all("projects") if "phase" in p)
    legacy = next(p for p in checked.all("projects") if "stage" in p)
    opp, acc = checked.all("opportunities")[0]["id"], checked.all("accounts")[0]["id"]
    form = checked.all("forms")[0]
    wo = checked.all("work_orders")[0]["id"]
    inv = checked.all("invoices")[0]["id"]
    paths = [
        "/projects",
        f"/projects/{p['id']}",
        f"/projects/{legacy['id']}",
        "/projects/search?prop1=title&op1=contains&value1=Solar",
        "/opportunities",
        f"/opportunities/{opp}",
        "/opportunities/search?prop1=title&op1=contains&value1=Quote",
        "/accounts?include_contacts=true",
        f"/accounts/{acc}",
        "/accounts/search?prop1=accountType&op1=eq&value1=COMMERCIAL",
        "/work-orders",
        "/work-orders/templates",
        f"/work-orders/{wo}",
        f"/projects/{p['id']}/work-orders",
        f"/opportunities/{opp}/work-orders",
        f"/accounts/{acc}/work-orders",
        f"/projects/{p['id']}/line-items",
        f"/projects/{p['id']}/files",
        f"/opportunities/{opp}/files",
        "/workflows",
        f"/workflows/{p['workflowId']}",
        "/invoices",
        f"/invoices/{inv}",
        f"/projects/{p['id']}/invoices",
        f"/accounts/{acc}/invoices",
        f"/projects/{form['projectId']}/forms",
        f"/projects/{form['projectId']}/forms?status=COMPLETED",
        f"/forms/{form['id']}",
        f"/projects/{p['id']}/calls",
        f"/opportunities/{opp}/calls",
        f"/accounts/{acc}/calls",
        "/users",
        "/teams",
        "/roles",
        "/properties",
        "/properties?record_type=project",
        f"/projects/{p['id']}/notes",
        f"/opportunities/{opp}/notes",
        f"/accounts/{acc}/notes",
        f"/opportunities/{opp}/forms",
        "/catalog-items",
    ]
    for path in paths:
        assert capi.get(path).status_code == 200, path
    for f in checked.all("forms"):
        assert capi.get(f"/forms/{f['id']}").status_code == 200


def test_error_answers_conform(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    assert capi.get("/projects/999999").status_code == 404
    assert capi.get("/invoices/999999").status_code == 404
    checked.inject(path="/projects", status=429, retry_after=1, times=1)
    assert capi.get("/projects").status_code == 429


def test_a_wrong_request_is_caught() -> None:
    s = _validating()
    try:
        with client_for(s) as c:
            r = c.post("/projects/40001/calls", json=call_body(reason="CHAT"))
        assert r.status_code == 400
        errors = s.conformance_errors
        assert (
            len(errors) == 1
            and "POST /v1/projects/40001/calls: request" in errors[0]
            and "CHAT" in errors[0]
        )
    finally:
        s.close()


def test_a_missing_key_header_is_caught() -> None:
    s = _validating()
    try:
        with client_for(s, key=None) as c:
            c.get("/roles")
        assert any("x-api-key" in e for e in s.conformance_errors)
    finally:
        s.close()


def test_a_wrong_response_is_caught() -> None:
    s = _validating()
    try:
        p = s.all("projects")[0]
        s.put("projects", {**p, "status": "ARCHIVED", "trades": "Solar"})
        with client_for(s) as c:
            assert c.get(f"/projects/{p['id']}").status_code == 200
        errors = s.conformance_errors
        assert errors and all(f"GET /v1/projects/{p['id']}: response 200" in e for e in errors)
        assert "ARCHIVED" in errors[0]
    finally:
        s.close()


def test_an_undeclared_status_with_a_wrong_body_is_caught() -> None:
    s = _validating()
    try:
        s.inject(path="/roles", status=503, times=1)  # injected answers are not checked...
        with client_for(s) as c:
            c.get("/roles")
        assert s.conformance_errors == []
    finally:
        s.close()
    checker = get_checker()

    class Resp:
        status, body, raw, headers = 503, {"error": "down"}, None, {}

    errs = checker.check(
        method="GET",
        path="/v1/roles",
        query=[],
        headers={"x-api-key": "k"},
        body=b"",
        content_type="",
        response=Resp(),
    )
    assert (
        errs and "error body" in errs[0]
    )  # ...but the checker itself rejects a malformed error body


def test_unknown_operations_are_reported() -> None:
    errs = get_checker().check(
        method="GET",
        path="/v1/bananas",
        query=[],
        headers={},
        body=b"",
        content_type="",
        response=None,
    )
    assert errs == ["GET /v1/bananas: no such operation in the spec"]


def test_literal_paths_win_over_templates() -> None:
    checker = get_checker()
    assert checker.find_template("/v1/projects/search") == "/projects/search"
    assert checker.find_template("/v1/work-orders/templates") == "/work-orders/templates"
    assert checker.find_template("/v1/projects/12") == "/projects/{projectId}"


def test_writes_on_opportunities_and_accounts_conform(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    opp, acc = checked.all("opportunities")[0]["id"], checked.all("accounts")[0]["id"]
    for kind, rid in (("opportunities", opp), ("accounts", acc)):
        note = capi.post(f"/{kind}/{rid}/notes", json={"body": "Called back, left voicemail"})
        assert note.status_code == 201
        assert capi.get(f"/{kind}/{rid}/notes").json()["totalCount"] == 1
        wo = capi.post(f"/{kind}/{rid}/work-orders", json={"templateId": 804})
        assert wo.status_code == 201
        wid = wo.json()["id"]
        upd = capi.patch(f"/{kind}/{rid}/work-orders/{wid}", json={"title": "AC tune-up (2 units)"})
        assert upd.status_code == 200 and upd.json()["title"] == "AC tune-up (2 units)"
        assert [w["id"] for w in capi.get(f"/{kind}/{rid}/work-orders").json()] == [wid]
        assert capi.delete(f"/{kind}/{rid}/work-orders/{wid}").status_code == 200
    upd = capi.patch(f"/accounts/{acc}", json={"accountType": "COMMERCIAL", "primaryPhone": None})
    assert upd.status_code == 200 and upd.json()["accountType"] == "COMMERCIAL"
    assert capi.delete(f"/opportunities/{opp}").status_code == 200


def test_an_undeclared_query_parameter_is_caught() -> None:
    s = _validating()
    try:
        with client_for(s) as c:
            assert c.get("/invoices", params={"status": "OVERDUE"}).status_code == 200
        assert s.conformance_errors == [
            "GET /v1/invoices: request: query parameter 'status' is not in the spec"
        ]
    finally:
        s.close()


def test_a_body_field_the_spec_does_not_list_is_a_warning() -> None:
    s = _validating()
    try:
        pid = s.all("projects")[0]["id"]
        body = {
            "recordId": pid,
            "calculationMethod": "PERCENTAGE",
            "percentage": 30,
            "title": "Deposit",
        }
        with client_for(s) as c:
            assert c.post("/invoices", json=body).status_code == 201
        assert s.conformance_errors == []
        assert s.conformance_warnings == [
            "POST /v1/invoices: request: body field 'title' is not in the spec"
        ]
    finally:
        s.close()
