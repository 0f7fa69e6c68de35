"""Seeded data: deterministic, sized as asked, and realistic enough for the alert jobs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from sandbox.coperniq import CoperniqSandbox
from sandbox.coperniq.seed import FORM_STATUSES, INVOICE_STATUSES, TRADES
from tests.fakes.conftest import KEY, TODAY


@pytest.fixture(scope="module")
def big() -> CoperniqSandbox:
    """The default size (300 projects, 900 invoices), not started: data only."""
    s = CoperniqSandbox(api_key=KEY, today=TODAY)
    yield s
    s.close()


def test_same_seed_sizes_and_today_give_the_same_data() -> None:
    a = CoperniqSandbox(api_key=KEY, projects=25, today=TODAY)
    b = CoperniqSandbox(api_key=KEY, projects=25, today=TODAY)
    for coll in (
        "projects",
        "accounts",
        "opportunities",
        "invoices",
        "forms",
        "files",
        "work_orders",
    ):
        assert a.all(coll) == b.all(coll), coll


def test_another_seed_gives_other_data() -> None:
    a = CoperniqSandbox(api_key=KEY, projects=25, today=TODAY)
    b = CoperniqSandbox(api_key=KEY, projects=25, today=TODAY, seed=7)
    assert [p["title"] for p in a.all("projects")] != [p["title"] for p in b.all("projects")]


def test_dates_derive_from_today() -> None:
    a = CoperniqSandbox(api_key=KEY, projects=10, today=date(2026, 1, 15))
    b = CoperniqSandbox(api_key=KEY, projects=10, today=date(2026, 3, 1))
    shift = (date(2026, 3, 1) - date(2026, 1, 15)).days
    da = date.fromisoformat(a.all("invoices")[0]["dueDate"][:10])
    db = date.fromisoformat(b.all("invoices")[0]["dueDate"][:10])
    assert (db - da).days == shift
    assert [p["phase"]["timeInStageDays"] for p in a.all("projects") if "phase" in p] == [
        p["phase"]["timeInStageDays"] for p in b.all("projects") if "phase" in p
    ]


def test_sizes(big: CoperniqSandbox) -> None:
    assert len(big.all("projects")) == 300
    assert len(big.all("invoices")) == 900
    small = CoperniqSandbox(api_key=KEY, projects=12, invoices=5, today=TODAY)
    assert (len(small.all("projects")), len(small.all("invoices"))) == (12, 5)


def test_benchmark_size_seeds_2000_projects_and_10000_invoices() -> None:
    s = CoperniqSandbox(api_key=KEY, projects=2000, invoices=10000, today=TODAY)
    assert s.db.count("projects") == 2000 and s.db.count("invoices") == 10000
    s.close()


def test_projects_look_like_a_texas_solar_and_hvac_contractor(big: CoperniqSandbox) -> None:
    projects = big.all("projects")
    for p in projects:
        assert set(p["trades"]) <= set(TRADES) and p["trades"]
        assert re.fullmatch(r"\+1\d{10}", p["primaryPhone"])
        assert re.search(r", TX \d{5}$", p["address"][0])
        assert p["status"] in ("ACTIVE", "ON_HOLD", "CANCELLED", "COMPLETED")
    trades = Counter(t for p in projects for t in p["trades"])
    assert trades["Solar"] and trades["HVAC"] and trades["Battery Storage"] and trades["Roofing"]


def test_active_projects_spread_across_sla_bands(big: CoperniqSandbox) -> None:
    active = [p for p in big.all("projects") if p["status"] == "ACTIVE"]
    cur = [p.get("phase") or p["stage"] for p in active]
    red = [c for c in cur if c["redSla"] is not None and c["timeInStageDays"] > c["redSla"]]
    yellow = [
        c
        for c in cur
        if c["yellowSla"] is not None and c not in red and c["timeInStageDays"] > c["yellowSla"]
    ]
    assert 0.03 * len(active) <= len(yellow) <= 0.08 * len(active)
    assert 1 <= len(red) < len(yellow)
    assert all(c["slaStatus"] == "VIOLATED" for c in red)
    assert all(c["slaStatus"] == "NON_VIOLATED" for c in cur if c not in red)
    assert not [c for c in cur if c["timeInStageDays"] in (c["yellowSla"], c["redSla"])], "no ties"
    assert any(c["redSla"] is None for c in cur), "some phases have no SLA"
    assert any("stage" in p and "phase" not in p for p in active), (
        "some projects use the older stage"
    )


def test_project_detail_has_phase_instances(big: CoperniqSandbox) -> None:
    p = next(p for p in big.all("projects") if "phase" in p and p["status"] == "ACTIVE")
    current = [i for i in p["phaseInstances"] if i["status"] == "IN_PROGRESS"]
    assert [i["id"] for i in current] == [p["phase"]["instanceId"]]
    assert current[0]["phaseTemplateId"] == p["phase"]["templateId"] and current[0]["startedAt"]


def test_workflow_phases_carry_red_and_yellow_slas(big: CoperniqSandbox) -> None:
    phases = [ph for w in big.all("workflows") for ph in w["phases"]]
    assert any(ph["redSla"] and ph["yellowSla"] and ph["yellowSla"] < ph["redSla"] for ph in phases)
    assert any(ph["redSla"] is None for ph in phases)


def test_invoices_in_every_status_with_past_and_future_due_dates(big: CoperniqSandbox) -> None:
    invoices = big.all("invoices")
    assert set(Counter(i["status"] for i in invoices)) == set(INVOICE_STATUSES)
    due = [date.fromisoformat(i["dueDate"][:10]) for i in invoices]
    assert any(d < TODAY for d in due) and any(d > TODAY for d in due)
    partial = [i for i in invoices if i["status"] == "PARTIALLY_PAID"]
    assert partial and all(0 < i["amountPaid"] < i["amount"] for i in partial)
    assert all(i["amountPaid"] == i["amount"] for i in invoices if i["status"] == "PAID")
    assert any(
        i["status"] == "SENT" and date.fromisoformat(i["dueDate"][:10]) < TODAY for i in invoices
    )
    for i in invoices:
        assert i["record"]["id"] and i["account"]["id"] and i["uid"]


def test_forms_in_every_status_each_with_a_file_field(big: CoperniqSandbox) -> None:
    forms = big.all("forms")
    assert set(f["status"] for f in forms) == set(FORM_STATUSES)
    for f in forms:
        fields = [p for g in f["formLayouts"] for p in g["properties"]]
        assert any(p["type"] == "FILE" and isinstance(p["columnId"], int) for p in fields)
        assert f["isCompleted"] == (f["status"] == "COMPLETED")


def test_forms_attach_to_the_current_phase_and_to_others(big: CoperniqSandbox) -> None:
    projects = {p["id"]: p for p in big.all("projects")}
    current, other = 0, 0
    for f in big.all("forms"):
        p = projects[f["projectId"]]
        cur = (p.get("phase") or {}).get("templateId") or (p.get("stage") or {}).get("id")
        if f["phaseId"] == cur:
            current += 1
        else:
            other += 1
    assert current > 10 and other > 10


def test_accounts_have_contacts_with_phone_numbers(big: CoperniqSandbox) -> None:
    for a in big.all("accounts"):
        assert a["contacts"] and all(
            re.fullmatch(r"\+1\d{10}", ph) for c in a["contacts"] for ph in c["phones"]
        )
    assert {a["accountType"] for a in big.all("accounts")} == {"RESIDENTIAL", "COMMERCIAL"}


def test_people_and_reference_data(big: CoperniqSandbox) -> None:
    assert len(big.all("users")) >= 10 and len(big.all("teams")) >= 3 and len(big.all("roles")) >= 4
    assert big.all("work_order_templates") and big.all("work_orders") and big.all("opportunities")
    assert big.get("properties", 1)["project"]


DIGEST = """
import hashlib, json, sys
from datetime import date
from sandbox.coperniq import CoperniqSandbox
s = CoperniqSandbox(api_key="k", projects=15, today=date(2026, 1, 15))
data = {c: s.all(c) for c in ("projects", "invoices", "forms", "accounts", "opportunities")}
print(hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest())
"""


def test_seeding_is_the_same_in_another_process() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    digests = set()
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(root)}
        out = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", DIGEST],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
