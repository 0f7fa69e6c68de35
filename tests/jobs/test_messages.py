"""Message builders: Block Kit within limits, text fallback, money, thread overflow, resolution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from jobs.blocks import money
from jobs.invoices import render as oi
from jobs.invoices import select as oi_select
from jobs.sla import render as fs
from jobs.sla import select as fs_select

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
APP = "https://app.coperniq.io/388"


def valid(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for b in blocks:
        Block.parse(b).validate_json()  # raises on a Block Kit limit violation


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (12345.67, "$12,345.67"),
        (0, "$0.00"),
        (1234567.5, "$1,234,567.50"),
        (0.1 + 0.2, "$0.30"),
        (-12, "-$12.00"),
    ],
)
def test_money_format(amount: float, text: str) -> None:
    assert money(amount) == text


def invoices(n: int) -> list[oi_select.OverdueInvoice]:
    raw = [
        {
            "id": i,
            "uid": 1000 + i,
            "status": "SENT",
            "dueDate": "2026-10-01",
            "amount": 100.0 + i,
            "amountPaid": 0.0,
            "account": {"id": 1, "title": f"Client <{i}> & Co"},
            "record": {"id": 500 + i, "uid": 4000 + i, "title": "Job"},
        }
        for i in range(1, n + 1)
    ]
    return oi_select.select(raw, NOW, CHICAGO)


def test_small_digest_fits_one_message_with_totals_buckets_and_links() -> None:
    overdue = invoices(3)
    models = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    assert len(models) == 1
    text, blocks = oi.render(models[0])
    valid(blocks)
    assert "$306.00" in text and "3 invoice" in text
    flat = str(blocks)
    assert "1–30 days" in flat and "31–60 days" in flat and "90+ days" in flat
    assert f"{APP}/project/503" in flat
    assert "&lt;3&gt; &amp; Co" in flat  # mrkdwn control characters escaped
    # Largest balance first.
    first_item = next(b for b in blocks if b.get("accessory"))
    assert "#1003" in first_item["text"]["text"]


def test_a_large_digest_never_exceeds_50_blocks_and_puts_the_rest_in_thread_replies() -> None:
    overdue = invoices(450)
    models = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    assert [m["kind"] for m in models] == ["main"] + ["thread"] * 5
    listed = [i["key"] for m in models for i in m["items"]]
    assert len(listed) == len(set(listed)) == 450
    for m in models:
        text, blocks = oi.render(m)
        valid(blocks)
        assert text
    main_text, main_blocks = oi.render(models[0])
    assert "435 more in the thread" in str(main_blocks)


def test_only_announced_invoices_are_listed_but_totals_cover_all() -> None:
    overdue = invoices(5)
    [main] = oi.build_models(overdue, {overdue[0].key}, NOW, CHICAGO, APP)
    assert main["count"] == 5 and main["listed"] == 1 and len(main["items"]) == 1
    assert "4 other(s) were listed in earlier digests" in str(oi.render(main)[1])


def test_a_resolved_invoice_is_struck_through_without_a_button() -> None:
    overdue = invoices(2)
    [main] = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    main["resolved"] = [overdue[0].key]
    _, blocks = oi.render(main)
    valid(blocks)
    items = [
        b for b in blocks if b["type"] == "section" and "#100" in b.get("text", {}).get("text", "")
    ]
    assert items[0]["text"]["text"].startswith("✅ ~") and "accessory" not in items[0]
    assert "accessory" in items[1]
    assert "1 of the invoices listed here were resolved" in str(blocks)


def test_an_invoice_listed_again_later_is_marked_so_in_the_earlier_message() -> None:
    overdue = invoices(2)
    [main] = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    main["moved"] = [overdue[1].key]
    _, blocks = oi.render(main)
    valid(blocks)
    moved = [b for b in blocks if "listed again" in b.get("text", {}).get("text", "")]
    assert len(moved) == 1 and "accessory" not in moved[0]


def test_digest_text_for_dry_run_lists_every_item() -> None:
    overdue = invoices(30)
    models = oi.build_models(
        overdue, {i.key for i in overdue}, NOW, CHICAGO, APP, notes=["budget note"]
    )
    text = oi.to_text(models)
    assert (
        text.count("d overdue") == 30 and "-- thread reply --" in text and "! budget note" in text
    )


def alerts(n: int) -> list[fs_select.FormAlert]:
    projects, forms = [], {}
    for i in range(1, n + 1):
        projects.append(
            {
                "id": i,
                "number": 100 + i,
                "title": f"Job {i}",
                "status": "ACTIVE",
                "phase": {
                    "instanceId": i,
                    "templateId": 5,
                    "name": "Install",
                    "timeInStageDays": 5 + i % 20,
                    "yellowSla": 7,
                    "redSla": 14,
                },
            }
        )
        forms[i] = [
            {
                "id": 10 * i,
                "name": "Install checklist",
                "status": "ASSIGNED",
                "phaseId": 5,
                "assignee": None,
            }
        ]
    return fs_select.select(projects, forms, NOW, CHICAGO)


def test_sla_message_red_first_with_days_against_sla_form_assignee_status_link() -> None:
    found = alerts(30)
    models = fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP)
    text, blocks = fs.render(models[0])
    valid(blocks)
    items = [b["text"]["text"] for b in blocks if b.get("accessory")]
    assert items[0].startswith("🔴") and items[-1].startswith("🟡")
    assert "24 days in phase (red SLA 14 d)" in items[0]
    assert "Install checklist" in items[0] and "unassigned" in items[0] and "ASSIGNED" in items[0]
    assert "red" in text and "yellow" in text


def test_sla_message_overflow_goes_to_thread_and_stays_valid() -> None:
    found = alerts(400)
    models = fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP, notes=["x" * 4000])
    assert models[0]["kind"] == "main" and all(m["kind"] == "thread" for m in models[1:])
    for m in models:
        valid(fs.render(m)[1])
    models[1]["resolved"] = [models[1]["items"][0]["key"]]
    assert "✅ ~#" in str(fs.render(models[1])[1])


def test_every_alert_button_uses_the_link_action_the_app_acks() -> None:
    # A button whose action_id no listener handles makes Slack show an error on click.
    from bot.ids import Action

    found = alerts(5)
    overdue = invoices(5)
    rendered = [
        fs.render(fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP)[0])[1],
        oi.render(oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)[0])[1],
    ]
    for blocks in rendered:
        buttons = [b["accessory"] for b in blocks if b.get("accessory", {}).get("url")]
        assert buttons
        assert {b["action_id"] for b in buttons} == {Action.OPEN_IN_COPERNIQ.value}
