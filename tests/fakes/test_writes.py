"""Creates, updates and deletes persist; validation answers 400 with the offending field.

The sandbox in most of these tests checks every exchange against the spec (fixture `checked`)."""

from __future__ import annotations

import httpx

from sandbox.coperniq import CoperniqSandbox
from tests.fakes.conftest import call_body


def _project(s: CoperniqSandbox) -> dict:
    return next(p for p in s.all("projects") if p["status"] == "ACTIVE" and "phase" in p)


def test_project_create_get_patch_delete(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    body = {
        "title": "Okafor Residence - 9.6 kW Solar",
        "address": ["410 Live Oak St, Austin, TX 78704"],
        "trades": ["Solar", "Electrical"],
        "workflowId": 11,
        "accountId": 20001,
        "primaryPhone": "+15125550142",
        "primaryEmail": "ben@example.com",
        "value": 28800.0,
    }
    created = capi.post("/projects", json=body)
    assert created.status_code == 200
    p = created.json()
    assert (
        p["title"] == body["title"]
        and p["workflowId"] == 11
        and p["phase"]["name"] == "Welcome Call"
    )
    assert capi.get(f"/projects/{p['id']}").json()["primaryPhone"] == "+15125550142"
    patched = capi.patch(f"/projects/{p['id']}", json={"status": "ON_HOLD"}).json()
    assert patched["status"] == "ON_HOLD" and patched["updatedAt"] > p["updatedAt"]
    assert checked.get("projects", p["id"])["status"] == "ON_HOLD"
    assert capi.delete(f"/projects/{p['id']}").status_code == 200
    assert capi.get(f"/projects/{p['id']}").status_code == 404
    assert capi.delete(f"/projects/{p['id']}").status_code == 404


def test_create_missing_required_field_is_400_with_field(api: httpx.Client) -> None:
    r = api.post("/opportunities", json={"title": "AC quote", "address": ["1 Main St"]})
    assert r.status_code == 400 and r.json()["field"] == "trades"


def test_match_by_skip_returns_the_existing_record(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    acc = checked.all("accounts")[0]
    r = capi.post(
        "/accounts",
        params={"match_by": "primaryEmail", "match_found_strategy": "skip"},
        json={"title": "Someone else", "address": ["x"], "primaryEmail": acc["primaryEmail"]},
    )
    assert (
        r.status_code == 200 and r.json()["id"] == acc["id"] and r.json()["title"] == acc["title"]
    )
    before = len(checked.all("accounts"))
    capi.post("/accounts", json={"title": acc["title"], "address": ["x"]})
    assert len(checked.all("accounts")) == before + 1  # no matching unless asked for


def test_opportunity_patch_is_partial(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    opp = checked.all("opportunities")[0]
    r = capi.patch(f"/opportunities/{opp['id']}", json={"value": 12345.5})
    assert (
        r.status_code == 200 and r.json()["value"] == 12345.5 and r.json()["title"] == opp["title"]
    )


def test_calls_create_list_and_validate(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    made = capi.post(f"/projects/{pid}/calls", json=call_body())
    assert made.status_code == 201 and made.json()["reason"] == "SERVICE"
    assert made.json()["id"] in [c["id"] for c in capi.get(f"/projects/{pid}/calls").json()]
    acc = checked.all("accounts")[0]["id"]
    assert capi.post(f"/accounts/{acc}/calls", json=call_body(isInbound=False)).status_code == 201


def test_call_validation_names_the_field(sb: CoperniqSandbox) -> None:
    from tests.fakes.conftest import client_for

    pid = _project(sb)["id"]
    with client_for(sb) as c:
        for bad, field in (
            (call_body(reason="CHAT"), "reason"),
            (call_body(disposition=None), "disposition"),
            ({k: v for k, v in call_body().items() if k != "startTime"}, "startTime"),
            (call_body(isInbound="yes"), "isInbound"),
            (call_body(outcome="BUSY"), "outcome"),
            (call_body(endTime="2026-01-14T14:00:00Z"), "endTime"),
        ):
            r = c.post(f"/projects/{pid}/calls", json=bad)
            assert r.status_code == 400, field
            assert r.json()["field"] == field and r.json()["message"]


def test_notes_are_created_with_mentions(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    r = capi.post(f"/projects/{pid}/notes", json={"body": "Photos in [Dana Whitfield|~id:1001]"})
    assert r.status_code == 201 and set(r.json()) == {"id", "note", "createdAt", "updatedAt"}
    assert checked.find("notes", id=r.json()["id"])[0]["mentions"] == [1001]
    assert capi.post(f"/projects/{pid}/notes", json={"body": " "}).status_code == 400


def test_file_upload_download_and_delete(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    content = b"\xff\xd8\xff\xe0 fake jpeg bytes"
    r = capi.post(
        f"/projects/{pid}/files/upload", files={"file": ("roof.jpg", content, "image/jpeg")}
    )
    assert r.status_code == 200
    up = r.json()
    assert up["name"] == "roof.jpg" and up["metaData"]["size"] == len(content)
    assert up["downloadUrl"].startswith(checked.origin + "/_sandbox/files/")
    assert httpx.get(up["downloadUrl"]).content == content
    assert (
        capi.get(f"/projects/{pid}/files/{up['id']}").json()["metaData"]["mimeType"] == "image/jpeg"
    )
    assert up["id"] in [f["id"] for f in capi.get(f"/projects/{pid}/files").json()]
    assert capi.delete(f"/projects/{pid}/files/{up['id']}").status_code == 200
    assert capi.get(f"/projects/{pid}/files/{up['id']}").status_code == 404


def test_upload_over_6_mb_is_413(sb: CoperniqSandbox, api: httpx.Client) -> None:
    pid = _project(sb)["id"]
    r = api.post(
        f"/projects/{pid}/files/upload", files={"file": ("big.jpg", b"x" * (6 * 1024 * 1024 + 1))}
    )
    assert r.status_code == 413 and r.json()["code"]


def test_file_from_url_on_records(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    r = capi.post(f"/projects/{pid}/files", json={"url": "https://files.example.com/permit.pdf"})
    assert r.status_code == 200 and r.json()["name"] == "permit.pdf"
    opp = checked.all("opportunities")[0]["id"]
    up = capi.post(
        f"/opportunities/{opp}/files/upload", files={"file": ("site.png", b"png", "image/png")}
    )
    assert up.status_code == 200
    assert [f["id"] for f in capi.get(f"/opportunities/{opp}/files").json()] == [up.json()["id"]]
    assert capi.delete(f"/opportunities/{opp}/files/{up.json()['id']}").status_code == 200


def test_work_orders_create_update_delete(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    tpl = capi.get("/work-orders/templates").json()[0]["id"]
    made = capi.post(f"/projects/{pid}/work-orders", json={"templateId": tpl})
    assert made.status_code == 201 and made.json()["projectId"] == pid
    wid = made.json()["id"]
    upd = capi.patch(
        f"/projects/{pid}/work-orders/{wid}",
        json={"status": "SCHEDULED", "assigneeId": 1005, "startDate": "2026-01-20T14:00:00Z"},
    )
    assert upd.status_code == 200 and upd.json()["assignee"]["id"] == 1005
    assert capi.get(f"/work-orders/{wid}").json()["status"]["id"] == "SCHEDULED"
    assert wid in [w["id"] for w in capi.get(f"/projects/{pid}/work-orders").json()]
    assert capi.delete(f"/projects/{pid}/work-orders/{wid}").status_code == 200
    assert capi.get(f"/work-orders/{wid}").status_code == 404
    assert (
        capi.post(f"/projects/{pid}/work-orders", json={"templateId": 1}).json()["field"]
        == "templateId"
    )


def test_line_items_replace(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    items = [{"catalogItemId": 1501, "quantity": 24, "unitCost": 215.0, "unitPrice": 320.0}]
    r = capi.put(f"/projects/{pid}/line-items", json={"lineItems": items})
    assert r.status_code == 200 and r.json()[0]["totalPrice"] == 7680.0
    assert [i["catalogItem"]["id"] for i in capi.get(f"/projects/{pid}/line-items").json()] == [
        1501
    ]
    bad = capi.put(
        f"/projects/{pid}/line-items", json={"lineItems": [{**items[0], "catalogItemId": 9}]}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "lineItems[0].catalogItemId"


def test_invoice_create_update_delete(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    body = {
        "recordId": pid,
        "calculationMethod": "LINE_ITEMS",
        "dueDate": "2026-02-15T00:00:00Z",
        "lineItems": [
            {"catalogItemId": 1506, "quantity": 8, "unitCost": 350.0, "unitPrice": 600.0}
        ],
    }
    made = capi.post("/invoices", json=body)
    assert made.status_code == 201
    inv = made.json()
    assert inv["amount"] == 4800.0 and inv["status"] == "DRAFT" and inv["record"]["id"] == pid
    upd = capi.patch(f"/invoices/{inv['id']}", json={"status": "SENT"}).json()
    assert upd["status"] == "SENT" and upd["updatedAt"] > inv["updatedAt"]
    listed = capi.get(
        "/invoices", params={"updated_after": inv["createdAt"], "page_size": 100}
    ).json()
    assert inv["id"] in [i["id"] for i in listed["items"]]
    assert capi.delete(f"/invoices/{inv['id']}").status_code == 200
    assert capi.get(f"/invoices/{inv['id']}").status_code == 404
    r = capi.post("/invoices", json={"recordId": pid, "calculationMethod": "PERCENTAGE"})
    assert r.status_code == 400 and r.json()["field"] == "percentage"


def test_forms_list_filter_patch_and_attach(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    form = checked.all("forms")[0]
    pid = form["projectId"]
    listed = capi.get(f"/projects/{pid}/forms", params={"status": form["status"]}).json()
    assert form["id"] in [f["id"] for f in listed] and {f["status"] for f in listed} == {
        form["status"]
    }
    fields = form["formLayouts"][0]["properties"]
    file_col = next(p["columnId"] for p in fields if p["type"] == "FILE")
    text_col = next(p["columnId"] for p in fields if p["type"] != "FILE")
    r = capi.patch(
        f"/forms/{form['id']}",
        json={"status": "REVIEW", "properties": [{"columnId": text_col, "value": "checked"}]},
    )
    assert r.status_code == 200 and r.json()["status"] == "REVIEW"
    attach = capi.post(
        f"/forms/{form['id']}/fields/file-from-url",
        json={"columnId": file_col, "url": "https://files.example.com/p1.jpg", "name": "p1.jpg"},
    )
    assert attach.status_code == 200 and attach.json()["success"] is True
    detail = capi.get(f"/forms/{form['id']}").json()
    value = next(
        p["value"] for p in detail["formLayouts"][0]["properties"] if p["columnId"] == file_col
    )
    assert value[-1]["name"] == "p1.jpg" and value[-1]["id"] == attach.json()["fileId"]
    again = capi.post(
        f"/forms/{form['id']}/fields/file-from-url",
        json={"columnId": file_col, "url": "https://files.example.com/p2.jpg", "action": "replace"},
    )
    assert again.status_code == 200
    detail = capi.get(f"/forms/{form['id']}").json()
    value = next(
        p["value"] for p in detail["formLayouts"][0]["properties"] if p["columnId"] == file_col
    )
    assert [v["name"] for v in value] == ["p2.jpg"]
    bad = capi.post(
        f"/forms/{form['id']}/fields/file-from-url",
        json={"columnId": text_col, "url": "https://files.example.com/p3.jpg"},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "columnId"


def test_completing_a_form_sets_completion(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    form = next(f for f in checked.all("forms") if f["status"] == "ASSIGNED")
    r = capi.patch(f"/forms/{form['id']}", json={"status": "COMPLETED"}).json()
    assert r["isCompleted"] is True and r["completedAt"] and r["updatedAt"] > form["updatedAt"]


def test_users_invite(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    r = capi.post(
        "/users",
        json={
            "email": "new.tech@example.com",
            "firstName": "New",
            "lastName": "Tech",
            "roleIds": [3],
        },
    )
    assert r.status_code == 201 and r.json()["email"] == "new.tech@example.com"
    assert (
        capi.get("/users", params={"email": "new.tech@example.com"}).json()[0]["lastName"] == "Tech"
    )
    dup = capi.post(
        "/users",
        json={"email": "new.tech@example.com", "firstName": "N", "lastName": "T", "roleIds": [3]},
    )
    assert dup.status_code == 400 and dup.json()["field"] == "email"


def test_search_with_two_conditions(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    r = capi.get(
        "/projects/search",
        params={
            "prop1": "status",
            "op1": "eq",
            "value1": "ACTIVE",
            "prop2": "value",
            "op2": "gt",
            "value2": "20000",
            "logic": "and",
            "page_size": 100,
        },
    )
    got = r.json()
    assert got and all(p["status"] == "ACTIVE" and p["value"] > 20000 for p in got)
    expected = [
        p["id"] for p in checked.all("projects") if p["status"] == "ACTIVE" and p["value"] > 20000
    ]
    assert [p["id"] for p in got] == expected


def test_list_filters(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    p = checked.all("projects")[3]
    assert p["id"] in [
        x["id"]
        for x in capi.get("/projects", params={"primaryPhone": p["primaryPhone"][-10:]}).json()
    ]
    assert p["id"] in [
        x["id"] for x in capi.get("/projects", params={"q": p["title"].split()[0]}).json()
    ]
    assert all(
        "Residence" in x["title"]
        for x in capi.get("/projects", params={"title": "residence"}).json()
    )


def test_helpers_bump_updated_at(checked: CoperniqSandbox) -> None:
    p = _project(checked)
    moved = checked.set_phase(p["id"], time_in_stage_days=30)
    assert moved["phase"]["timeInStageDays"] == 30 and moved["updatedAt"] > p["updatedAt"]
    inv = next(i for i in checked.all("invoices") if i["status"] == "SENT")
    paid = checked.pay_invoice(inv["id"])
    assert (
        paid["status"] == "PAID"
        and paid["amountPaid"] == paid["amount"]
        and paid["updatedAt"] > inv["updatedAt"]
    )
    form = next(f for f in checked.all("forms") if f["status"] != "COMPLETED")
    assert checked.complete_form(form["id"])["isCompleted"] is True


def test_chunked_upload_is_read(checked: CoperniqSandbox, capi: httpx.Client) -> None:
    pid = _project(checked)["id"]
    boundary = "sandboxboundary"
    payload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="meter.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"JPEGDATA"
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks():
        yield payload[:40]
        yield payload[40:]

    r = capi.post(
        f"/projects/{pid}/files/upload",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 200 and r.json()["metaData"]["size"] == 8
    assert checked.file_content(r.json()["id"]) == b"JPEGDATA"


def test_primary_name_filter_on_opportunities_and_accounts(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    acc = checked.all("accounts")[0]
    name = acc["contacts"][0]["name"]
    found = capi.get("/accounts", params={"primaryName": name, "page_size": 100}).json()
    assert acc["id"] in [a["id"] for a in found]
    opp = checked.raw("opportunities", checked.all("opportunities")[0]["id"])
    got = capi.get("/opportunities", params={"primaryName": opp["_primaryName"], "page_size": 100})
    assert opp["id"] in [o["id"] for o in got.json()]
