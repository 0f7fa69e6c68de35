"""Message builders: Block Kit within limits, text fallback, money, thread overflow, resolution."""

from __future__ import annotations

import json
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


def cards(blocks: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each item card: its line, and its row of buttons (empty when it has none)."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for n, b in enumerate(blocks):
        text = b.get("text", {}).get("text", "") if b["type"] == "section" else ""
        if not text.startswith(("*#", "🔴", "🟡", "✅", "↪")):
            continue
        after = blocks[n + 1] if n + 1 < len(blocks) else {}
        out.append((text, after.get("elements", []) if after.get("type") == "actions" else []))
    return out


def labels(elements: list[dict[str, Any]]) -> list[str]:
    return [(e.get("text") or e.get("placeholder") or {}).get("text", "") for e in elements]


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
    first_line, first_buttons = cards(blocks)[0]
    assert "#1003" in first_line
    assert labels(first_buttons) == [
        "Record payment",
        "Log collection call",
        "Snooze…",
        "Open in Coperniq",
    ]


def test_a_large_digest_never_exceeds_50_blocks_and_puts_the_rest_in_thread_replies() -> None:
    overdue = invoices(115)  # 15 in the main message, 100 in the thread: the most replies allowed
    models = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    # Each card is two blocks (its line, its buttons): 20 to a thread reply.
    assert [m["kind"] for m in models] == ["main"] + ["thread"] * 5
    listed = [i["key"] for m in models for i in m["items"]]
    assert len(listed) == len(set(listed)) == 115
    for m in models:
        text, blocks = oi.render(m)
        valid(blocks)
        assert text
    main_text, main_blocks = oi.render(models[0])
    assert "100 more in the thread" in str(main_blocks)
    assert "attachment" not in models[0] and "CSV" not in str(main_blocks)


def test_past_five_thread_replies_the_full_list_goes_to_the_thread_as_a_csv() -> None:
    overdue = invoices(450)
    models = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    main, attached = models
    assert (main["kind"], attached["kind"]) == ("main", "csv")  # no thread replies
    assert main["attachment"] == {"rows": 450, "filename": "overdue-invoices-2026-11-23.csv"}
    assert len(main["items"]) == 15 and main["more"] == 435
    # The csv model carries the rest, in digest order after the main message's items.
    keys = [i["key"] for i in main["items"] + attached["items"]]
    assert keys == [i.key for i in overdue]
    assert attached["rows"] == 450 and attached["filename"] == main["attachment"]["filename"]
    assert attached["title"] and attached["comment"]
    # The stored main model stays small: no trace of the 435 items only the CSV lists.
    stored = json.dumps(main)
    assert len(stored) < 20_000 and overdue[-1].key not in stored
    _, blocks = oi.render(main)
    valid(blocks)
    shown = str(blocks)
    assert "The full list of 450 invoices is attached in the thread as a CSV." in shown
    assert "more in the thread" not in shown


def test_one_item_past_a_hundred_in_the_thread_tips_it_into_a_csv() -> None:
    overdue = invoices(116)
    kinds = [
        m["kind"] for m in oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    ]
    assert kinds == ["main", "csv"]


def test_a_main_message_whose_csv_failed_says_the_rest_comes_next_time() -> None:
    overdue = invoices(300)
    main, _ = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    main["attachment"]["failed"] = True
    _, blocks = oi.render(main)
    valid(blocks)
    shown = str(blocks)
    assert "could not be attached" in shown and "285 not shown here" in shown
    assert "is attached in the thread" not in shown


def test_resolved_items_of_the_csv_are_counted_in_the_main_message() -> None:
    overdue = invoices(300)
    main, attached = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    # One shown in the main message, two only in the CSV: all three recorded against the main.
    main["resolved"] = [main["items"][0]["key"], *(i["key"] for i in attached["items"][:2])]
    _, blocks = oi.render(main)
    valid(blocks)
    assert cards(blocks)[0][0].startswith("✅ ~")
    assert "3 of the invoices in this digest and its CSV were resolved" in str(blocks)


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
    items = cards(blocks)
    assert items[0][0].startswith("✅ ~") and items[0][1] == []
    assert items[1][1] != []
    assert "1 of the invoices listed here were resolved" in str(blocks)


def test_an_invoice_listed_again_later_is_marked_so_in_the_earlier_message() -> None:
    overdue = invoices(2)
    [main] = oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)
    main["moved"] = [overdue[1].key]
    _, blocks = oi.render(main)
    valid(blocks)
    moved = [(line, row) for line, row in cards(blocks) if "listed again" in line]
    assert len(moved) == 1 and moved[0][1] == []


def test_digest_text_for_dry_run_lists_every_item() -> None:
    overdue = invoices(30)
    models = oi.build_models(
        overdue, {i.key for i in overdue}, NOW, CHICAGO, APP, notes=["budget note"]
    )
    text = oi.to_text(models)
    assert (
        text.count("d overdue") == 30 and "-- thread reply --" in text and "! budget note" in text
    )
    assert "CSV" not in text


def test_digest_text_of_a_long_digest_lists_every_item_and_says_a_csv_is_attached() -> None:
    overdue = invoices(250)
    text = oi.to_text(oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP))
    assert text.count("d overdue") == 250
    assert (
        "Full list: attached in the thread as a CSV of 250 rows "
        "(overdue-invoices-2026-11-23.csv)" in text
    )
    assert "-- in the CSV only --" in text and "-- thread reply --" not in text


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
    listed = cards(blocks)
    items = [line for line, _ in listed]
    assert items[0].startswith("🔴") and items[-1].startswith("🟡")
    # Nobody is assigned: Take it, but no one to nudge.
    assert labels(listed[0][1]) == [
        "Take it",
        "Create work order",
        "Snooze…",
        "Open in Coperniq",
    ]
    assert "24 days in phase (red SLA 14 d)" in items[0]
    assert "Install checklist" in items[0] and "unassigned" in items[0] and "ASSIGNED" in items[0]
    assert "red" in text and "yellow" in text


def test_sla_message_overflow_goes_to_thread_and_stays_valid() -> None:
    found = alerts(120)
    models = fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP, notes=["x" * 4000])
    assert models[0]["kind"] == "main" and all(m["kind"] == "thread" for m in models[1:])
    assert 1 < len(models) <= 6
    for m in models:
        valid(fs.render(m)[1])
    models[1]["resolved"] = [models[1]["items"][0]["key"]]
    assert "✅ ~#" in str(fs.render(models[1])[1])


def test_a_long_sla_digest_attaches_its_full_list_as_a_csv() -> None:
    found = alerts(400)
    main, attached = fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP)
    assert attached["kind"] == "csv"
    assert main["attachment"] == {"rows": len(found), "filename": "form-sla-2026-11-23-0800.csv"}
    _, blocks = fs.render(main)
    valid(blocks)
    assert f"The full list of {len(found)} forms is attached in the thread as a CSV." in str(blocks)


def test_every_alert_button_uses_the_link_action_the_app_acks() -> None:
    # A button whose action_id no listener handles makes Slack show an error on click.
    from bot.ids import Action

    found = alerts(5)
    overdue = invoices(5)
    rendered = [
        fs.render(fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP)[0])[1],
        oi.render(oi.build_models(overdue, {i.key for i in overdue}, NOW, CHICAGO, APP)[0])[1],
    ]
    handled = {
        Action.OPEN_IN_COPERNIQ.value,
        Action.ALERT_TAKE.value,
        Action.ALERT_NUDGE.value,
        Action.ALERT_SNOOZE.value,
        Action.ALERT_PAY.value,
        Action.ALERT_CALL.value,
        Action.OPEN_WORKORDER_MODAL.value,
    }
    for blocks in rendered:
        elements = [e for _, row in cards(blocks) for e in row]
        assert elements and {e["action_id"] for e in elements} <= handled
        links = [e for e in elements if e.get("url")]
        assert links and {e["action_id"] for e in links} == {Action.OPEN_IN_COPERNIQ.value}


def test_a_form_card_offers_nudge_when_assigned_and_shows_what_people_did() -> None:
    found = alerts(5)[:1]  # alerts(n) puts only some projects past SLA
    [main] = fs.build_models(found, {a.key for a in found}, NOW, CHICAGO, APP)
    main["items"][0]["assignee_id"] = 7
    assert labels(cards(fs.render(main)[1])[0][1]) == [
        "Take it",
        "Nudge",
        "Create work order",
        "Snooze…",
        "Open in Coperniq",
    ]
    key = main["items"][0]["key"]
    main["acts"] = {key: [{"act": "take", "text": "Taken by <@U1> · 10:42"}]}
    line, row = cards(fs.render(main)[1])[0]
    assert "↳ Taken by <@U1> · 10:42" in line
    assert labels(row) == ["Nudge", "Create work order", "Snooze…", "Open in Coperniq"]
    main["acts"][key].append({"act": "snooze", "text": "Snoozed by <@U2> for 1 day"})
    line, row = cards(fs.render(main)[1])[0]
    assert "Snoozed by <@U2>" in line and labels(row) == ["Open in Coperniq"]
    main["resolved"] = [key]
    valid(fs.render(main)[1])
    assert cards(fs.render(main)[1])[0][1] == []
