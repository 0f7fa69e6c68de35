"""Which forms are past their phase SLA: thresholds, phase matching, stage vs phase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobs.sla import select as fs

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def project(
    days: int,
    *,
    yellow: int | None = 7,
    red: int | None = 14,
    pid: int = 10,
    status: str = "ACTIVE",
    legacy: bool = False,
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "id": pid,
        "number": 1200 + pid,
        "title": f"Lee Residence {pid}",
        "status": status,
    }
    ph = {"name": "Permitting", "timeInStageDays": days, "yellowSla": yellow, "redSla": red}
    if legacy:
        p["stage"] = {"id": 501, "scope": "PROJECT", **ph}
    else:
        p["phase"] = {"instanceId": 9000 + pid, "templateId": 501, **ph}
    return p


def form(
    fid: int = 1,
    *,
    phase_id: int | None = 501,
    status: str = "ASSIGNED",
    phase_name: str | None = "Permitting",
    pid: int = 10,
) -> dict[str, Any]:
    return {
        "id": fid,
        "name": f"Permit packet {fid}",
        "status": status,
        "projectId": pid,
        "phaseId": phase_id,
        "phaseName": phase_name,
        "isCompleted": status == "COMPLETED",
        "assignee": {"id": 5, "firstName": "Ana", "lastName": "Ruiz"},
    }


def levels(projects: list[dict[str, Any]], forms: dict[int, list[dict[str, Any]]]) -> list[str]:
    return [a.level for a in fs.select(projects, forms, NOW, CHICAGO)]


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, []), (6, []), (7, ["yellow"]), (13, ["yellow"]), (14, ["red"]), (40, ["red"])],
)
def test_thresholds_at_and_either_side_of_yellow_and_red(days: int, expected: list[str]) -> None:
    assert levels([project(days)], {10: [form()]}) == expected


@pytest.mark.parametrize("legacy", [False, True])
def test_stage_on_older_workflows_works_like_phase(legacy: bool) -> None:
    p = project(14, legacy=legacy)
    assert levels([p], {10: [form()]}) == ["red"]
    assert levels([project(6, legacy=legacy)], {10: [form()]}) == []


@pytest.mark.parametrize(("yellow", "red"), [(None, None), (0, 0)])
def test_a_phase_without_an_sla_never_alerts(yellow: int | None, red: int | None) -> None:
    assert levels([project(400, yellow=yellow, red=red)], {10: [form()]}) == []


def test_only_a_red_sla_alerts_at_red_and_never_yellow() -> None:
    assert levels([project(13, yellow=None, red=14)], {10: [form()]}) == []
    assert levels([project(14, yellow=None, red=14)], {10: [form()]}) == ["red"]


def test_only_a_yellow_sla_never_turns_red() -> None:
    assert levels([project(99, yellow=7, red=None)], {10: [form()]}) == ["yellow"]


def test_forms_of_another_phase_do_not_alert() -> None:
    assert levels([project(20)], {10: [form(phase_id=777, phase_name="Install")]}) == []


def test_a_form_without_phase_id_matches_by_phase_name() -> None:
    assert levels([project(20)], {10: [form(phase_id=None, phase_name="permitting")]}) == ["red"]
    assert levels([project(20)], {10: [form(phase_id=None, phase_name="Install")]}) == []
    assert levels([project(20)], {10: [form(phase_id=None, phase_name=None)]}) == []


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
def test_completed_and_cancelled_forms_do_not_alert(status: str) -> None:
    assert levels([project(20)], {10: [form(status=status)]}) == []


@pytest.mark.parametrize("status", ["UNASSIGNED", "ASSIGNED", "REVIEW", "CHANGES_REQUESTED"])
def test_open_form_statuses_alert(status: str) -> None:
    assert levels([project(20)], {10: [form(status=status)]}) == ["red"]


@pytest.mark.parametrize("status", ["ON_HOLD", "CANCELLED", "COMPLETED"])
def test_projects_that_are_not_active_do_not_alert(status: str) -> None:
    assert levels([project(20, status=status)], {10: [form()]}) == []


def test_projects_whose_forms_are_unknown_are_skipped() -> None:
    assert levels([project(20)], {}) == []


def test_red_first_then_longest_in_phase() -> None:
    projects = [project(8, pid=1), project(30, pid=2), project(15, pid=3), project(10, pid=4)]
    forms = {pid: [form(pid * 10, pid=pid)] for pid in (1, 2, 3, 4)}
    got = [(a.level, a.days) for a in fs.select(projects, forms, NOW, CHICAGO)]
    assert got == [("red", 30), ("red", 15), ("yellow", 10), ("yellow", 8)]


def test_at_risk_lists_only_active_projects_at_or_past_yellow() -> None:
    projects = [
        project(6, pid=1),
        project(7, pid=2),
        project(14, pid=3),
        project(30, pid=4, status="ON_HOLD"),
    ]
    assert [(p["id"], lv) for p, lv in fs.at_risk(projects)] == [(3, "red"), (2, "yellow")]


def test_alert_carries_what_the_line_shows() -> None:
    [a] = fs.select([project(9)], {10: [form(3)]}, NOW, CHICAGO)
    assert (a.project_number, a.phase, a.days, a.yellow_sla, a.red_sla) == (
        "1210",
        "Permitting",
        9,
        7,
        14,
    )
    assert (a.form_name, a.assignee, a.status, a.key) == (
        "Permit packet 3",
        "Ana Ruiz",
        "ASSIGNED",
        "form:3",
    )


def test_phase_key_changes_with_the_phase_instance() -> None:
    a, b = project(9), project(9)
    b["phase"]["instanceId"] += 1
    assert fs.phase_key(a) != fs.phase_key(b)
    assert fs.phase_key(project(9, legacy=True)) == "stage:501"


def test_a_malformed_form_is_skipped_and_the_others_still_alert() -> None:
    broken = {"status": "ASSIGNED", "phaseId": 501}  # no id
    assert levels([project(20)], {10: [broken, form(2)]}) == ["red"]
