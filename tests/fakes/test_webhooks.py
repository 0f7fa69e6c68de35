"""The sandbox sends Coperniq webhooks (bodies, triggers, retries, twins) to a loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sandbox.coperniq import CoperniqSandbox
from tests.fakes.conftest import KEY, TODAY, client_for

SECRET = "s3cr3t-path-segment-for-tests-0123"


class Receiver:
    """A loopback HTTP server that records JSON bodies and answers from a script of statuses."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self.script: list[int] = []  # statuses to answer first, then 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                with receiver._lock:
                    receiver.bodies.append(body)
                    receiver.paths.append(self.path)
                    receiver.content_types.append(self.headers.get("Content-Type", ""))
                    status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/coperniq/webhooks/{SECRET}"

    def events(self, trigger: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [b["event"] for b in self.bodies if trigger in (None, b["event"]["triggerKey"])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def sandbox(receiver: Receiver | None, **kw: Any) -> CoperniqSandbox:
    url = receiver.url if receiver is not None else None
    return CoperniqSandbox(api_key=KEY, projects=30, today=TODAY, webhook_url=url, **kw).start()


@pytest.fixture
def hooked(receiver: Receiver) -> Iterator[CoperniqSandbox]:
    s = sandbox(receiver)
    try:
        yield s
    finally:
        s.close()


def phased_project(sb: CoperniqSandbox, with_sla: bool = True) -> tuple[dict[str, Any], list]:
    """A project on a phase workflow with a later phase to move to (with SLAs when asked)."""
    from sandbox.coperniq import seed as seeddata

    for p in sb.all("projects"):
        if not p.get("phase"):
            continue
        phases = seeddata.WORKFLOWS[p["workflowId"]][3]
        ids = [ph[0] for ph in phases]
        idx = ids.index(p["phase"]["templateId"])
        later = [
            ph for ph in phases[idx + 1 :] if not with_sla or (ph[3] and ph[4] and ph[4] > ph[3])
        ]
        if later:
            return p, later
    raise AssertionError("no seeded project with a later phase")


def test_a_phase_move_sends_completed_then_started(
    hooked: CoperniqSandbox, receiver: Receiver
) -> None:
    project, later = phased_project(hooked)
    old = project["phase"]
    moved = hooked.set_phase(project["id"], template_id=later[0][0])
    assert hooked.wait_webhooks_idle(5)

    assert receiver.paths == [f"/coperniq/webhooks/{SECRET}"] * 2
    assert receiver.content_types == ["application/json"] * 2
    completed, started = receiver.bodies
    assert completed["event"]["triggerKey"] == "PROJECT_PHASE_COMPLETED"
    assert started["event"]["triggerKey"] == "PROJECT_PHASE_STARTED"
    assert {k: completed["event"][k] for k in ("recordId", "phaseTemplateId", "phaseType")} == {
        "recordId": project["id"],
        "phaseTemplateId": old["templateId"],
        "phaseType": old["type"],
    }
    assert completed["event"]["phaseInstanceId"] == old["instanceId"]
    assert completed["event"]["status"] == "COMPLETED"
    new = moved["phase"]
    assert started["event"]["phaseInstanceId"] == new["instanceId"]
    assert started["event"]["phaseTemplateId"] == later[0][0] == new["templateId"]
    assert started["event"]["status"] == "IN_PROGRESS"
    for body in (completed, started):
        ev = body["event"]
        assert isinstance(ev["eventId"], int)
        assert ev["triggerName"]
        assert ev["firedAt"].startswith(TODAY.isoformat()) and ev["firedAt"].endswith("Z")
        rec = body["record"]
        assert rec["id"] == project["id"] and rec["uid"] == project["number"]
        assert rec["type"] == "PROJECT" and rec["title"] == project["title"]
        assert rec["stage"]["templateId"] == new["templateId"]
        assert set(rec) >= {"status", "address", "owner", "primaryContact", "createdAt"}
        assert "workOrder" not in body
    assert completed["event"]["eventId"] < started["event"]["eventId"]


def test_time_in_phase_reaching_yellow_then_red_sends_one_violation_each(
    hooked: CoperniqSandbox, receiver: Receiver
) -> None:
    project, later = phased_project(hooked)
    target = later[0]
    yellow, red = target[3], target[4]
    hooked.set_phase(project["id"], template_id=target[0])
    hooked.set_phase(project["id"], time_in_stage_days=yellow)
    hooked.set_phase(project["id"], time_in_stage_days=yellow)  # still yellow: nothing new
    hooked.set_phase(project["id"], time_in_stage_days=red)
    hooked.set_phase(project["id"], time_in_stage_days=0)
    hooked.set_phase(project["id"], time_in_stage_days=red + 3)  # same stay: not again
    assert hooked.wait_webhooks_idle(5)

    violations = receiver.events("PROJECT_PHASE_SLA_VIOLATION")
    assert [v["slaType"] for v in violations] == ["YELLOW", "RED"]
    assert all(v["phaseTemplateId"] == target[0] for v in violations)
    assert all(v["recordId"] == project["id"] for v in violations)
    # Each was reached on the day it was sent: the phase started that many days before today.
    assert [v["overdueAt"] for v in violations] == [f"{TODAY.isoformat()}T00:00:00.000Z"] * 2


def test_advancing_the_clock_crosses_slas_and_a_new_stay_can_be_overdue_again(
    hooked: CoperniqSandbox, receiver: Receiver
) -> None:
    project, later = phased_project(hooked)
    target = later[0]
    yellow, red = target[3], target[4]
    hooked.set_phase(project["id"], template_id=target[0])
    hooked.advance_days(yellow)
    assert hooked.wait_webhooks_idle(5)
    mine = [
        v for v in receiver.events("PROJECT_PHASE_SLA_VIOLATION") if v["recordId"] == project["id"]
    ]
    assert [v["slaType"] for v in mine] == ["YELLOW"]
    hooked.advance_days(red - yellow)
    assert hooked.wait_webhooks_idle(5)
    mine = [
        v for v in receiver.events("PROJECT_PHASE_SLA_VIOLATION") if v["recordId"] == project["id"]
    ]
    assert [v["slaType"] for v in mine] == ["YELLOW", "RED"]
    assert hooked.get("projects", project["id"])["phase"]["timeInStageDays"] == red

    # Moved on and straight past both SLAs of the new phase: both, yellow first.
    if len(later) > 1 and later[1][3] and later[1][4]:
        hooked.set_phase(project["id"], template_id=later[1][0], time_in_stage_days=later[1][4])
        assert hooked.wait_webhooks_idle(5)
        mine = [
            v
            for v in receiver.events("PROJECT_PHASE_SLA_VIOLATION")
            if v["recordId"] == project["id"]
        ]
        assert [v["slaType"] for v in mine] == ["YELLOW", "RED", "YELLOW", "RED"]


def test_a_work_order_status_patch_sends_movement_then_completed(
    hooked: CoperniqSandbox, receiver: Receiver
) -> None:
    wo = next(w for w in hooked.all("work_orders") if w["status"]["id"] != "COMPLETED")
    pid, previous = wo["project"]["id"], wo["status"]["id"]
    with client_for(hooked) as api:
        path = f"/projects/{pid}/work-orders/{wo['id']}"
        assert api.patch(path, json={"status": "IN_PROGRESS"}).status_code == 200
        assert api.patch(path, json={"title": "Renamed"}).status_code == 200  # no status change
        assert api.patch(path, json={"status": "COMPLETED"}).status_code == 200
    assert hooked.wait_webhooks_idle(5)

    keys = [e["triggerKey"] for e in receiver.events()]
    assert keys == ["TASK_STATUS_MOVEMENT", "TASK_STATUS_MOVEMENT", "TASK_COMPLETED"]
    first, second, done = receiver.bodies
    assert first["event"] | {"eventId": 0, "firedAt": ""} == {
        "eventId": 0,
        "firedAt": "",
        "recordId": pid,
        "triggerKey": "TASK_STATUS_MOVEMENT",
        "triggerName": first["event"]["triggerName"],
        "workOrderId": wo["id"],
        "currentStatus": "IN_PROGRESS",
        "previousStatus": previous,
    }
    assert second["event"]["previousStatus"] == "IN_PROGRESS"
    assert second["event"]["currentStatus"] == "COMPLETED"
    assert done["event"]["workOrderId"] == wo["id"]
    work_order = done["workOrder"]
    assert work_order["id"] == wo["id"] and work_order["uid"] == wo["uid"]
    assert work_order["status"] == "COMPLETED" and work_order["title"] == "Renamed"
    assert work_order["completionDate"] is not None
    assert set(work_order) >= {"priority", "assigneeId", "isField", "startDate", "endDate"}
    assert "record" not in done


def test_a_refused_delivery_is_retried_until_accepted(
    hooked: CoperniqSandbox, receiver: Receiver
) -> None:
    receiver.script = [500, 503]
    project, later = phased_project(hooked, with_sla=False)
    hooked.set_phase(project["id"], template_id=later[0][0])
    assert hooked.wait_webhooks_idle(5)

    statuses = [status for _, status in hooked.webhook_deliveries]
    assert statuses == [500, 503, 200, 200]
    ids = [body["event"]["eventId"] for body, _ in hooked.webhook_deliveries]
    assert ids[0] == ids[1] == ids[2] != ids[3]


def test_an_unreachable_receiver_is_given_up_after_a_few_tries(receiver: Receiver) -> None:
    url = receiver.url
    receiver.close()  # nothing listens there any more
    sb = CoperniqSandbox(api_key=KEY, projects=30, today=TODAY).start()
    try:
        sb.send_webhooks_to(url, tries=3)
        project, later = phased_project(sb, with_sla=False)
        sb.set_phase(project["id"], template_id=later[0][0])
        assert sb.wait_webhooks_idle(5)
        assert [status for _, status in sb.webhook_deliveries] == [0] * 6
    finally:
        sb.close()


def test_duplicate_delivers_every_event_twice_with_the_same_event_id(receiver: Receiver) -> None:
    sb = sandbox(receiver, webhook_duplicate=True)
    try:
        project, later = phased_project(sb, with_sla=False)
        sb.set_phase(project["id"], template_id=later[0][0])
        assert sb.wait_webhooks_idle(5)
    finally:
        sb.close()
    ids = [e["eventId"] for e in receiver.events()]
    assert len(ids) == 4
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert receiver.bodies[0] == receiver.bodies[1]


def test_event_ids_are_unique_and_increasing(hooked: CoperniqSandbox, receiver: Receiver) -> None:
    # Several projects far past their SLAs, in one go: violations from many records interleave.
    for p in [p for p in hooked.all("projects") if p.get("phase")][:8]:
        hooked.set_phase(p["id"], time_in_stage_days=60)
    project, later = phased_project(hooked, with_sla=False)
    hooked.set_phase(project["id"], template_id=later[0][0])
    assert hooked.wait_webhooks_idle(5)
    ids = [e["eventId"] for e in receiver.events()]
    assert len(ids) >= 4
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_without_a_webhook_url_nothing_is_sent(receiver: Receiver) -> None:
    sb = sandbox(None)
    try:
        project, later = phased_project(sb)
        sb.set_phase(project["id"], template_id=later[0][0], time_in_stage_days=later[0][4])
        sb.advance_days(3)
        wo = next(w for w in sb.all("work_orders") if w["status"]["id"] != "COMPLETED")
        with client_for(sb) as api:
            path = f"/projects/{wo['project']['id']}/work-orders/{wo['id']}"
            assert api.patch(path, json={"status": "COMPLETED"}).status_code == 200
        assert sb.wait_webhooks_idle(1)
        assert sb.webhook_deliveries == []
        assert "_webhookSla" not in sb.raw("projects", project["id"])
    finally:
        sb.close()
    assert receiver.bodies == []


def test_the_api_answer_does_not_wait_for_a_slow_receiver(receiver: Receiver) -> None:
    gate = threading.Event()
    original = receiver.server.RequestHandlerClass.do_POST

    def slow(handler: BaseHTTPRequestHandler) -> None:
        gate.wait(5)
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = slow  # type: ignore[method-assign]
    sb = sandbox(receiver)
    try:
        wo = next(w for w in sb.all("work_orders") if w["status"]["id"] != "COMPLETED")
        with client_for(sb, timeout=2) as api:
            path = f"/projects/{wo['project']['id']}/work-orders/{wo['id']}"
            assert api.patch(path, json={"status": "COMPLETED"}).status_code == 200
        assert receiver.bodies == []  # answered while the receiver still holds the delivery
        gate.set()
        assert sb.wait_webhooks_idle(5)
        assert len(receiver.bodies) == 2
    finally:
        gate.set()
        sb.close()
