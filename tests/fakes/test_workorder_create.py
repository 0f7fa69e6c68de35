"""The sandbox's work-order create: the spec's body, and the phase rules it states."""

from __future__ import annotations

import httpx

from sandbox.coperniq import CoperniqSandbox


def _project_and_phases(s: CoperniqSandbox) -> tuple[dict, dict, dict]:
    for p in s.all("projects"):
        phases = p.get("phaseInstances") or []
        started = next((x for x in phases if x["status"] == "IN_PROGRESS"), None)
        other = next((x for x in phases if x["status"] != "IN_PROGRESS"), None)
        if started and other:
            return p, started, other
    raise AssertionError("no project with a phase in progress and another")


def test_a_work_order_is_created_in_a_started_phase(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    project, started, _ = _project_and_phases(checked)
    tid = checked.all("work_order_templates")[0]["id"]
    body = {"templateId": tid, "phaseInstanceId": started["id"]}
    answer = capi.post(f"/projects/{project['id']}/work-orders", json=body)
    assert answer.status_code == 201
    created = answer.json()
    assert created["phaseInstanceId"] == started["id"] and created["projectId"] == project["id"]
    assert capi.get(f"/work-orders/{created['id']}").json()["templateId"] == tid


def test_a_phase_not_started_or_completed_is_refused_on_its_field(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    project, _, other = _project_and_phases(checked)
    tid = checked.all("work_order_templates")[0]["id"]
    body = {"templateId": tid, "phaseInstanceId": other["id"]}
    answer = capi.post(f"/projects/{project['id']}/work-orders", json=body)
    assert answer.status_code == 400 and answer.json()["field"] == "phaseInstanceId"


def test_an_unknown_template_is_refused_on_its_field(
    checked: CoperniqSandbox, capi: httpx.Client
) -> None:
    account = checked.all("accounts")[0]
    answer = capi.post(f"/accounts/{account['id']}/work-orders", json={"templateId": 999})
    assert answer.status_code == 400 and answer.json()["field"] == "templateId"
    assert checked.conformance_warnings == []
