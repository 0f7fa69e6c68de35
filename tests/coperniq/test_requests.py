"""Every client method sends the request the spec describes: method, path, query and body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.coperniq import CoperniqClient, mention
from tests.conftest import SANDBOX_KEY
from tests.coperniq.conftest import last, to

COLLECTIONS = [("projects", "project"), ("opportunities", "opportunity"), ("accounts", "account")]


def first_id(sb: Any, collection: str, **match: Any) -> int:
    found = sb.find(collection, **match)
    assert found, f"the sandbox has no {collection} matching {match}"
    return int(found[0]["id"])


# --- projects, opportunities, accounts ------------------------------------------------------


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_list_sends_filters_and_pages(
    client: CoperniqClient, sb: Any, collection: str, kind: str
) -> None:
    resource = getattr(client, collection)
    after = datetime(2020, 1, 1, tzinfo=UTC)
    got = list(
        resource.list(
            q="a", updated_after=after, order_by="desc", include_archived=True, page_size=100
        )
    )
    assert isinstance(got, list)
    method, path, query, body = to(sb, f"/{collection}")[0]
    assert method == "GET"
    assert query["q"] == "a"
    assert query["updated_after"] == "2020-01-01T00:00:00Z"
    assert query["order_by"] == "desc"
    assert query["include_archived"] == "true"
    assert query["page_size"] == "100"
    assert query["page"] == "1"
    assert body in (None, b"", "")


def test_list_rejects_unknown_filters(client: CoperniqClient) -> None:
    with pytest.raises(TypeError):
        client.projects.list(status="ACTIVE")
    with pytest.raises(ValueError):
        client.projects.list(order_by="newest")
    with pytest.raises(ValueError):
        client.projects.list(page_size=500)


def test_search_sends_both_filters(client: CoperniqClient, sb: Any) -> None:
    list(
        client.projects.search(
            "status",
            "in",
            ["ACTIVE", "ON_HOLD"],
            logic="and",
            prop2="title",
            op2="contains",
            value2="a",
            page_size=50,
        )
    )
    method, _, query, _ = to(sb, "/projects/search")[0]
    assert method == "GET"
    assert query == {
        "prop1": "status",
        "op1": "in",
        "value1": "ACTIVE,ON_HOLD",
        "logic": "and",
        "prop2": "title",
        "op2": "contains",
        "value2": "a",
        "page": "1",
        "page_size": "50",
    }


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_get_sends_get_on_the_record(
    client: CoperniqClient, sb: Any, collection: str, kind: str
) -> None:
    rid = first_id(sb, collection)
    rec = getattr(client, collection).get(rid)
    assert rec["id"] == rid
    assert last(sb)[:3] == ("GET", f"/{collection}/{rid}", {})


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_create_update_delete(client: CoperniqClient, sb: Any, collection: str, kind: str) -> None:
    resource = getattr(client, collection)
    body: dict[str, Any] = {
        "title": "Client test record",
        "address": ["1 Main St, Austin, TX 78701"],
    }
    if collection == "opportunities":
        body["trades"] = ["Solar"]
    created = resource.create(body, match_by="title", match_found_strategy="skip")
    assert last(sb) == (
        "POST",
        f"/{collection}",
        {"match_by": "title", "match_found_strategy": "skip"},
        body,
    )
    rid = created["id"]

    patch = {"title": "Client test record (renamed)"}
    if collection == "opportunities":
        # The spec marks title, address and trades required on this PATCH (see resources.update).
        patch = {**body, **patch}
    updated = resource.update(rid, patch)
    assert last(sb) == ("PATCH", f"/{collection}/{rid}", {}, patch)
    assert updated["title"] == "Client test record (renamed)"

    resource.delete(rid)
    assert last(sb)[:2] == ("DELETE", f"/{collection}/{rid}")


def test_aliases_use_the_spec_paths(client: CoperniqClient, sb: Any) -> None:
    assert client.requests is client.opportunities
    assert client.clients is client.accounts
    next(client.requests.list(page_size=1))
    assert last(sb)[1] == "/opportunities"
    next(client.clients.list(page_size=1))
    assert last(sb)[1] == "/accounts"


# --- work orders ----------------------------------------------------------------------------


def test_work_orders_list_all_and_templates(client: CoperniqClient, sb: Any) -> None:
    list(client.work_orders.list(page_size=100, order_by="asc"))
    method, _, query, _ = to(sb, "/work-orders")[0]
    assert (method, query["page"], query["page_size"], query["order_by"]) == (
        "GET",
        "1",
        "100",
        "asc",
    )
    client.work_orders.templates()
    assert last(sb)[:3] == ("GET", "/work-orders/templates", {})


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_work_orders_under_each_record(
    client: CoperniqClient, sb: Any, collection: str, kind: str
) -> None:
    rid = first_id(sb, collection)
    templates = client.work_orders.templates()
    assert templates, "the sandbox has no work order templates"
    tid = templates[0]["id"]

    created = client.work_orders.create(kind, rid, {"templateId": tid})
    assert last(sb) == ("POST", f"/{collection}/{rid}/work-orders", {}, {"templateId": tid})
    wid = created["id"]

    listed = client.work_orders.list_for(kind, rid)
    assert last(sb)[:2] == ("GET", f"/{collection}/{rid}/work-orders")
    assert wid in [w["id"] for w in listed]

    got = client.work_orders.get(wid)
    assert got["id"] == wid
    assert last(sb)[:2] == ("GET", f"/work-orders/{wid}")

    client.work_orders.update(kind, rid, wid, {"title": "Replace inverter", "priority": 1})
    assert last(sb) == (
        "PATCH",
        f"/{collection}/{rid}/work-orders/{wid}",
        {},
        {"title": "Replace inverter", "priority": 1},
    )

    client.work_orders.delete(kind, rid, wid)
    assert last(sb)[:2] == ("DELETE", f"/{collection}/{rid}/work-orders/{wid}")


# --- line items -----------------------------------------------------------------------------


def test_line_items_get_and_replace(client: CoperniqClient, sb: Any) -> None:
    pid = first_id(sb, "projects")
    client.line_items.get(pid)
    assert last(sb)[:3] == ("GET", f"/projects/{pid}/line-items", {})
    catalog = sb.find("catalog_items") or sb.find("catalogItems") or [{"id": 1}]
    items = [
        {
            "catalogItemId": catalog[0]["id"],
            "quantity": 2,
            "unitCost": 100.0,
            "unitPrice": 150.0,
            "description": "Panel",
        }
    ]
    client.line_items.replace(pid, items)
    assert last(sb) == ("PUT", f"/projects/{pid}/line-items", {}, {"lineItems": items})


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("collection,kind", COLLECTIONS[:2])
def test_files_upload_list_get_delete(
    client: CoperniqClient, sb: Any, collection: str, kind: str
) -> None:
    rid = first_id(sb, collection)
    content = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    uploaded = client.files.upload(kind, rid, content, "roof.png", "image/png", name="Roof photo")
    method, path, query, _ = last(sb)
    assert (method, path) == ("POST", f"/{collection}/{rid}/files/upload")
    assert query == {"name": "Roof photo", "content_type": "image/png"}
    headers = {k.lower(): v for k, v in sb.requests[-1].headers.items()}
    assert headers["content-type"].startswith("multipart/form-data")
    assert uploaded["downloadUrl"]
    fid = uploaded["id"]
    assert sb.file_content(fid) == content

    assert fid in [f["id"] for f in client.files.list(kind, rid)]
    assert last(sb)[:3] == ("GET", f"/{collection}/{rid}/files", {})
    assert client.files.get(kind, rid, fid)["id"] == fid
    assert last(sb)[:2] == ("GET", f"/{collection}/{rid}/files/{fid}")
    client.files.delete(kind, rid, fid)
    assert last(sb)[:2] == ("DELETE", f"/{collection}/{rid}/files/{fid}")


def test_upload_from_url_posts_json_to_files(client: CoperniqClient, sb: Any) -> None:
    pid = first_id(sb, "projects")
    out = client.files.upload_from_url(pid, "https://example.com/a.jpg", name="a.jpg")
    assert last(sb) == (
        "POST",
        f"/projects/{pid}/files",
        {},
        {"url": "https://example.com/a.jpg", "name": "a.jpg"},
    )
    assert out["id"]


# --- workflows, invoices --------------------------------------------------------------------


def test_workflows_list_and_get(client: CoperniqClient, sb: Any) -> None:
    flows = client.workflows.list()
    assert last(sb)[:3] == ("GET", "/workflows", {})
    wid = flows[0]["id"]
    assert client.workflows.get(wid)["id"] == wid
    assert last(sb)[:2] == ("GET", f"/workflows/{wid}")


def test_invoices_every_verb(client: CoperniqClient, sb: Any) -> None:
    after = datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    all_invoices = list(client.invoices.list(updated_after=after, page_size=100))
    first = to(sb, "/invoices")[0]
    assert first[0] == "GET"
    assert first[2] == {"updated_after": "2021-05-06T07:08:09Z", "page": "1", "page_size": "100"}
    assert all_invoices

    pid = first_id(sb, "projects")
    list(client.invoices.list_for_project(pid, page_size=20))
    assert to(sb, f"/projects/{pid}/invoices")[0][2] == {"page": "1", "page_size": "20"}
    aid = first_id(sb, "accounts")
    list(client.invoices.list_for_account(aid))
    assert to(sb, f"/accounts/{aid}/invoices")[0][2] == {"page": "1", "page_size": "100"}

    body = {
        "recordId": pid,
        "calculationMethod": "PERCENTAGE",
        "percentage": 25,
        "dueDate": "2026-12-01T00:00:00Z",
    }
    created = client.invoices.create(body)
    assert last(sb) == ("POST", "/invoices", {}, body)
    iid = created["id"]
    assert client.invoices.get(iid)["id"] == iid
    assert last(sb)[:2] == ("GET", f"/invoices/{iid}")
    client.invoices.update(iid, {"status": "SENT"})
    assert last(sb) == ("PATCH", f"/invoices/{iid}", {}, {"status": "SENT"})
    client.invoices.delete(iid)
    assert last(sb)[:2] == ("DELETE", f"/invoices/{iid}")


# --- forms ----------------------------------------------------------------------------------


def test_forms_list_get_update_attach(client: CoperniqClient, sb: Any) -> None:
    forms = sb.find("forms")
    assert forms, "the sandbox has no forms"
    form = forms[0]
    pid = form["projectId"]
    listed = client.forms.list_for_project(pid, status=form["status"])
    assert last(sb)[:3] == ("GET", f"/projects/{pid}/forms", {"status": form["status"]})
    assert form["id"] in [f["id"] for f in listed]

    detail = client.forms.get(form["id"])
    assert last(sb)[:2] == ("GET", f"/forms/{form['id']}")
    props = [p for layout in detail.get("formLayouts", []) for p in layout.get("properties", [])]
    file_fields = [p for p in props if p.get("type") == "FILE"]
    text_fields = [p for p in props if p.get("type") == "TEXT"]

    if text_fields:
        patch = {"properties": [{"columnId": text_fields[0]["columnId"], "value": "checked"}]}
    else:
        patch = {"status": "REVIEW"}
    client.forms.update(form["id"], patch)
    assert last(sb) == ("PATCH", f"/forms/{form['id']}", {}, patch)

    assert file_fields, "seeded forms have a FILE field"
    col = file_fields[0]["columnId"]
    out = client.forms.attach_file_from_url(
        form["id"], col, "https://example.com/p.jpg", name="p.jpg", project_id=pid
    )
    assert out["success"] is True
    assert last(sb) == (
        "POST",
        f"/forms/{form['id']}/fields/file-from-url",
        {},
        {
            "columnId": col,
            "url": "https://example.com/p.jpg",
            "name": "p.jpg",
            "projectId": pid,
            "action": "add",
        },
    )


def test_forms_status_filter_is_checked(client: CoperniqClient) -> None:
    with pytest.raises(ValueError):
        client.forms.list_for_project(1, status="DONE")


# --- calls, users, teams, roles, properties, notes ------------------------------------------

CALL = {
    "fromNumber": "+15125550100",
    "toNumber": "+15125550111",
    "isInbound": True,
    "startTime": "2026-03-02T15:00:00Z",
    "endTime": "2026-03-02T15:05:00Z",
    "reason": "SERVICE",
    "disposition": "ISSUE_RESOLVED",
    "outcome": "ANSWERED",
    "note": "Inverter fault",
}


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_calls_create_and_list(client: CoperniqClient, sb: Any, collection: str, kind: str) -> None:
    rid = first_id(sb, collection)
    created = client.calls.create(kind, rid, CALL)
    assert last(sb) == ("POST", f"/{collection}/{rid}/calls", {}, CALL)
    calls = client.calls.list(kind, rid)
    assert last(sb)[:3] == ("GET", f"/{collection}/{rid}/calls", {})
    assert created["id"] in [c["id"] for c in calls]


def test_users_list_and_invite(client: CoperniqClient, sb: Any) -> None:
    users = client.users.list()
    assert last(sb)[:3] == ("GET", "/users", {})
    assert users
    client.users.list(email=users[0]["email"])
    assert last(sb)[2] == {"email": users[0]["email"]}
    roles = client.roles.list()
    assert last(sb)[:3] == ("GET", "/roles", {})
    client.users.invite("new.tech@example.com", "New", "Tech", [roles[0]["id"]])
    assert last(sb) == (
        "POST",
        "/users",
        {},
        {
            "email": "new.tech@example.com",
            "firstName": "New",
            "lastName": "Tech",
            "roleIds": [int(roles[0]["id"])],
        },
    )


def test_teams_and_properties(client: CoperniqClient, sb: Any) -> None:
    client.teams.list()
    assert last(sb)[:3] == ("GET", "/teams", {})
    client.properties.list()
    assert last(sb)[:3] == ("GET", "/properties", {})
    client.properties.list("project")
    assert last(sb)[:3] == ("GET", "/properties", {"record_type": "project"})


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_notes_with_mentions(client: CoperniqClient, sb: Any, collection: str, kind: str) -> None:
    rid = first_id(sb, collection)
    text = f"{mention('Dana Lee', 7)} please check the inverter"
    note = client.notes.create(kind, rid, text)
    assert last(sb) == ("POST", f"/{collection}/{rid}/notes", {}, {"body": text})
    assert note["id"]


def test_every_request_carries_the_key_and_user_agent(client: CoperniqClient, sb: Any) -> None:
    client.workflows.list()
    headers = {k.lower(): v for k, v in sb.requests[-1].headers.items()}
    assert headers["x-api-key"] == SANDBOX_KEY
    assert headers["user-agent"].startswith("coperniq-slack-bot/")


def test_upload_from_url_on_an_opportunity(client: CoperniqClient, sb: Any) -> None:
    oid = first_id(sb, "opportunities")
    client.files.upload_from_url(
        oid, "https://example.com/b.pdf", phase_instance_id=None, record_type="opportunity"
    )
    assert last(sb) == (
        "POST",
        f"/opportunities/{oid}/files",
        {},
        {"url": "https://example.com/b.pdf"},
    )


def test_forms_of_an_opportunity(client: CoperniqClient, sb: Any) -> None:
    oid = first_id(sb, "opportunities")
    assert isinstance(client.forms.list_for_opportunity(oid, status="ASSIGNED"), list)
    assert last(sb)[:3] == ("GET", f"/opportunities/{oid}/forms", {"status": "ASSIGNED"})


@pytest.mark.parametrize("collection,kind", COLLECTIONS)
def test_notes_list(client: CoperniqClient, sb: Any, collection: str, kind: str) -> None:
    rid = first_id(sb, collection)
    note = client.notes.create(kind, rid, "first")
    notes = client.notes.list(kind, rid)
    assert last(sb)[:3] == ("GET", f"/{collection}/{rid}/notes", {})
    assert note["id"] in [n["id"] for n in notes]


@pytest.mark.parametrize("collection,kind", COLLECTIONS[1:])
def test_search_on_opportunities_and_accounts(
    client: CoperniqClient, sb: Any, collection: str, kind: str
) -> None:
    next(getattr(client, collection).search("title", "contains", "a", page_size=3), None)
    assert last(sb)[:3] == (
        "GET",
        f"/{collection}/search",
        {"prop1": "title", "op1": "contains", "value1": "a", "page": "1", "page_size": "3"},
    )
