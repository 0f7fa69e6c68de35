"""The card a Coperniq link unfurls into: one attachment with blocks (pure builders).

Project, request and client: title and number, status, current phase with days in it against
its SLA (yellow/red, as the SLA alerts judge it), the next work order, and Log call / Attach
photos (projects) / Open. Invoice: number, client, status, due date, its record, and the
amounts only where money may be shown (`money=True`: a DM or a channel subscribed to invoices).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import context, link_button, plain, section, slack_text
from bot.ids import Action
from bot.records import CLIENT, PROJECT, option_value, record_type, record_url
from jobs.blocks import money as money_text
from jobs.invoices.select import OPEN_STATUSES, due_date
from jobs.times import parse_instant

# The attachment's side bar: the SLA level of the record's phase.
COLORS = {"red": "#e01e5a", "yellow": "#ecb22e"}
ICONS = {"red": "🔴", "yellow": "🟡"}
_TITLE_MAX = 150


def _humanise(value: object) -> str:
    return str(value).replace("_", " ").capitalize()


def _when(value: str | None, tz: ZoneInfo) -> str | None:
    """A start time in each reader's own zone (Slack's date token); the fallback in the bot's."""
    if not value:
        return None
    try:
        at = parse_instant(value)
    except (TypeError, ValueError):
        return slack_text(value, 40)
    local = at.astimezone(tz)
    fallback = f"{local:%a} {local:%b} {local.day}, {local:%-I:%M %p} {local.tzname()}"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _due(facts: Mapping[str, Any], today: date, tz: ZoneInfo) -> str | None:
    """'Dec 3, 2026', and how late while the invoice is open with something owed."""
    try:
        due = due_date(facts.get("due_date"), tz)
    except (TypeError, ValueError):
        return slack_text(facts.get("due_date"), 40)
    if due is None:
        return None
    text = f"{due:%b} {due.day}, {due.year}"
    owed = (facts.get("amount") or 0) - (facts.get("amount_paid") or 0)
    late = (today - due).days
    if late > 0 and facts.get("status") in OPEN_STATUSES and owed > 0:
        text += f" ({late} day{'s' if late != 1 else ''} past due)"
    return text


def sla_line(facts: Mapping[str, Any]) -> str | None:
    """'🟡 *Permitting*: 9 days in phase (yellow SLA 7 d, red 14 d)'; None without a phase."""
    if not facts.get("phase"):
        return None
    line = f"*{slack_text(facts['phase'], 80)}*"
    days = facts.get("days")
    if days is not None:
        line += f": {days} day{'s' if days != 1 else ''} in phase"
    level, yellow, red = facts.get("level"), facts.get("yellow_sla"), facts.get("red_sla")
    # Written as the SLA alerts write it: red names its own SLA, otherwise both are named.
    if level == "red":
        line += f" (red SLA {red} d)"
    elif yellow and red:
        line += f" (yellow SLA {yellow} d, red {red} d)"
    elif yellow or red:
        line += f" ({'yellow' if yellow else 'red'} SLA {yellow or red} d)"
    return f"{ICONS[level]} {line}" if level in ICONS else line


def work_order_line(wo: Mapping[str, Any] | None, tz: ZoneInfo) -> str:
    """'Next work order: *HVAC Service Call* · <start> · Ben Okafor'."""
    if wo is None:
        return "No open work orders"
    parts = [f"*{slack_text(wo.get('title') or '(untitled)', 100)}*"]
    if when := _when(wo.get("start"), tz):
        parts.append(when)
    parts.append(slack_text(wo["assignee"], 60) if wo.get("assignee") else "unassigned")
    if wo.get("status"):
        # A label ("In progress") as Coperniq words it; a bare id ("IN_PROGRESS") made readable.
        status = str(wo["status"])
        parts.append(slack_text(_humanise(status) if status.isupper() else status, 40))
    return "Next work order: " + " · ".join(parts)


def _actions(block_id: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": buttons}


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value}


def record_attachment(
    kind: str,
    facts: Mapping[str, Any],
    *,
    url: str,
    next_wo: Mapping[str, Any] | None,
    money: bool,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """The unfurl of a project, request or client."""
    rtype = record_type(kind)
    record_id = facts["id"]
    title = slack_text(facts.get("title") or "(untitled)", _TITLE_MAX)
    number = facts.get("number")
    label = rtype.label + (f" #{number}" if number not in (None, "") else "")
    head = f"*<{url}|{title}>*\n{label}"
    details = [_humanise(facts["status"])] if facts.get("status") else []
    if facts.get("account_type"):
        details.append(_humanise(facts["account_type"]))
    if facts.get("address"):
        details.append(slack_text(facts["address"], 150))
    if details:
        head += " · " + " · ".join(details)
    lines = [head]
    if phase := sla_line(facts):
        lines.append(phase)
    if money and facts.get("value") is not None:
        lines.append(f"Value: {money_text(facts['value'])}")
    lines.append(work_order_line(next_wo, tz))
    value = option_value(kind, record_id)
    buttons = [_button("Log call", Action.OPEN_CALL_MODAL.value, value)]
    if kind == PROJECT.kind:
        buttons.append(_button("Attach photos", Action.OPEN_PHOTO_MODAL.value, value))
    buttons.append(link_button("Open", url))
    block_id = f"unfurl_{kind}_{record_id}"
    fallback = f"{label}: {facts.get('title') or '(untitled)'}"
    attachment: dict[str, Any] = {
        "fallback": fallback[:300],
        "blocks": [
            {**section("\n".join(lines)), "block_id": block_id},
            _actions(block_id + "_actions", buttons),
        ],
    }
    if facts.get("level") in COLORS:
        attachment["color"] = COLORS[facts["level"]]
    return attachment


def invoice_attachment(
    facts: Mapping[str, Any],
    *,
    url: str,
    app_url: str,
    money: bool,
    today: date,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """The unfurl of an invoice; amounts only when `money`."""
    number = facts.get("number")
    label = "Invoice" + (f" #{number}" if number not in (None, "") else "")
    head = f"*<{url}|{label}>*"
    details = []
    if facts.get("client"):
        details.append(slack_text(facts["client"], 100))
    if facts.get("status"):
        details.append(_humanise(facts["status"]))
    if details:
        head += " · " + " · ".join(details)
    lines = [head]
    if due := _due(facts, today, tz):
        lines.append(f"Due {due}")
    if facts.get("record_id") is not None:
        record = slack_text(facts.get("record_title") or "(untitled)", 100)
        record_link = record_url(app_url, PROJECT.kind, facts["record_id"])
        lines.append(f"For <{record_link}|{record}>")
    if money and facts.get("amount") is not None:
        paid = facts.get("amount_paid") or 0.0
        lines.append(
            f"Amount {money_text(facts['amount'])} · paid {money_text(paid)} · "
            f"balance *{money_text(facts['amount'] - paid)}*"
        )
    buttons = []
    # A call about an invoice is logged on its project, else on its client.
    if facts.get("record_id") is not None:
        buttons.append(
            _button(
                "Log call",
                Action.OPEN_CALL_MODAL.value,
                option_value(PROJECT.kind, facts["record_id"]),
            )
        )
    elif facts.get("account_id") is not None:
        buttons.append(
            _button(
                "Log call",
                Action.OPEN_CALL_MODAL.value,
                option_value(CLIENT.kind, facts["account_id"]),
            )
        )
    buttons.append(link_button("Open", url))
    block_id = f"unfurl_invoice_{facts.get('id')}"
    blocks: list[dict[str, Any]] = [
        {**section("\n".join(lines)), "block_id": block_id},
        _actions(block_id + "_actions", buttons),
    ]
    if not money:
        blocks.insert(
            1, context("Amounts are shown in DMs and in channels subscribed to invoices.")
        )
    return {"fallback": f"{label} {facts.get('client') or ''}".strip()[:300], "blocks": blocks}
