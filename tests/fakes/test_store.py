"""The sandbox's data: a SQLite file survives a restart; direct put/update/find for tests."""

from __future__ import annotations

from pathlib import Path

from sandbox.coperniq import CoperniqSandbox
from tests.fakes.conftest import KEY, TODAY, client_for


def test_a_db_file_keeps_data_and_id_sequences_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with CoperniqSandbox(api_key=KEY, projects=6, today=TODAY, db_path=db) as s, client_for(s) as c:
        made = c.post(
            "/projects", json={"title": "Persisted", "address": ["1 Elm St, Waco, TX 76701"]}
        )
        pid = made.json()["id"]
        assert c.delete(f"/projects/{pid}").status_code == 200
        kept = c.post(
            "/projects", json={"title": "Kept", "address": ["2 Elm St, Waco, TX 76701"]}
        ).json()
    s.close()
    with CoperniqSandbox(api_key=KEY, projects=50, today=TODAY, db_path=db) as again:
        assert len(again.all("projects")) == 7  # reused, not reseeded with the new size
        assert again.get("projects", kept["id"])["title"] == "Kept"
        with client_for(again) as c:
            newer = c.post("/projects", json={"title": "Newer", "address": ["3 Elm St"]}).json()
    again.close()
    assert newer["id"] > kept["id"] > pid


def test_put_turns_days_in_phase_into_a_phase_start(sb: CoperniqSandbox) -> None:
    template = next(p for p in sb.all("projects") if "phase" in p)
    copy = {**template, "id": 49999, "title": "Stuck Residence"}
    copy["phase"] = {**template["phase"], "timeInStageDays": 40, "yellowSla": 7, "redSla": 14}
    copy.pop("phaseInstances")
    put = sb.put("projects", copy)
    assert put["phase"]["timeInStageDays"] == 40 and put["phase"]["slaStatus"] == "VIOLATED"
    with client_for(sb) as c:
        assert c.get("/projects/49999").json()["phase"]["timeInStageDays"] == 40


def test_put_without_id_assigns_one_and_links_children(sb: CoperniqSandbox) -> None:
    form = {**sb.all("forms")[0]}
    form.pop("id")
    form["projectId"] = 40002
    made = sb.put("forms", form)
    assert made["id"] > 0
    with client_for(sb) as c:
        assert made["id"] in [f["id"] for f in c.get("/projects/40002/forms").json()]


def test_find_matches_nested_fields(sb: CoperniqSandbox) -> None:
    violated = sb.find("projects", phase__slaStatus="VIOLATED")
    assert violated and all(p["phase"]["slaStatus"] == "VIOLATED" for p in violated)
    assert sb.find("work-orders") == sb.find("work_orders")


def test_update_bumps_updated_at(sb: CoperniqSandbox) -> None:
    inv = sb.all("invoices")[0]
    changed = sb.update("invoices", inv["id"], status="OVERDUE")
    assert changed["status"] == "OVERDUE" and changed["updatedAt"] > inv["updatedAt"]


def test_set_phase_moves_to_another_phase(sb: CoperniqSandbox) -> None:
    p = next(p for p in sb.all("projects") if "phase" in p and p["status"] == "ACTIVE")
    phases = sb.get("workflows", p["workflowId"])["phases"]
    other = next(ph for ph in phases if ph["id"] != p["phase"]["templateId"])
    moved = sb.set_phase(p["id"], template_id=other["id"])
    assert moved["phase"]["templateId"] == other["id"] and moved["phase"]["timeInStageDays"] == 0
    current = [i for i in moved["phaseInstances"] if i["status"] == "IN_PROGRESS"]
    assert [i["phaseTemplateId"] for i in current] == [other["id"]]
    assert current[0]["id"] == moved["phase"]["instanceId"]
