"""The form-sla digest as message models, Block Kit and readable text (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.ids import Action
from bot.records import option_value, record_url
from jobs import blocks
from jobs.blocks import mrkdwn_escape
from jobs.digest import csv_text
from jobs.sla import JOB_ID
from jobs.sla.select import FormAlert

MAIN_ITEMS = 15  # each item is a line and a row of buttons: two blocks of Slack's 50
SNOOZE_CHOICES = [("1 day", "1d"), ("3 days", "3d"), ("Until the phase changes", "phase")]
ICON = {"red": "🔴", "yellow": "🟡"}
CSV_COLUMNS = (
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
)


def view(alert: FormAlert, app_url: str) -> dict[str, Any]:
    """How a message lists one form (and what its alert row remembers of it)."""
    d = asdict(alert)
    d["key"] = alert.key
    d["url"] = record_url(app_url, "project", alert.project_id)
    return d


def build_models(
    alerts: list[FormAlert],
    announce: set[str],
    now: datetime,
    tz: ZoneInfo,
    app_url: str,
    notes: list[str] | None = None,
    main_items: int = MAIN_ITEMS,
) -> list[dict[str, Any]]:
    """The run's message as models: the main message (red first), then thread replies."""
    listed = [view(a, app_url) for a in alerts if a.key in announce]
    local = now.astimezone(tz)
    main = {
        "as_of": local.isoformat(timespec="minutes"),
        "tz": str(tz),
        "open": len(alerts),
        "red": sum(1 for i in listed if i["level"] == "red"),
        "yellow": sum(1 for i in listed if i["level"] == "yellow"),
    }
    return blocks.split_models(
        JOB_ID,
        main,
        listed,
        notes,
        main_items,
        csv_name=f"form-sla-{local:%Y-%m-%d-%H%M}.csv",
        csv_title=f"Forms past their phase SLA · {_when(main['as_of'])} · full list",
    )


def _when(as_of: str) -> str:
    dt = datetime.fromisoformat(as_of)
    return f"{dt:%a} {dt.day} {dt:%b}, {dt:%H:%M}"


def _sla_text(item: Mapping[str, Any]) -> str:
    days = f"{item['days']} day{'s' if item['days'] != 1 else ''} in phase"
    if item["level"] == "red":
        return f"{days} (red SLA {item['red_sla']} d)"
    red = f", red {item['red_sla']} d" if item.get("red_sla") else ""
    return f"{days} (yellow SLA {item['yellow_sla']} d{red})"


def _line(item: Mapping[str, Any], state: str | None, *, link: bool = True) -> str:
    project = f"#{item['project_number']} {mrkdwn_escape(item['project_title'])}"
    form = mrkdwn_escape(item["form_name"])
    if state == "resolved":
        return f"✅ ~{project} · {form}~ resolved (form done or cancelled, or the project moved on)"
    if state == "moved":
        return f"↪ ~{project} · {form}~ listed again in a later alert"
    url = f" · <{item['url']}|Open in Coperniq>" if link else ""
    return (
        f"{ICON[item['level']]} *{project}* · {mrkdwn_escape(item['phase'])}: {_sla_text(item)}\n"
        f"      form *{form}* · {mrkdwn_escape(item['assignee'])} · {item['status']}{url}"
    )


def actions(item: Mapping[str, Any], acts: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A form's buttons: Take it (until someone has), Nudge (its assignee), Create work order
    (on the project), Snooze…, Open: five at most, Slack's limit for one actions block."""
    done = {act.get("act") for act in acts}
    if "snooze" in done:
        return [blocks.open_button(item["url"])]
    row = []
    if "take" not in done:
        row.append(blocks.button("Take it", Action.ALERT_TAKE, item["key"], style="primary"))
    if item.get("assignee_id") is not None or "take" in done:
        row.append(blocks.button("Nudge", Action.ALERT_NUDGE, item["key"]))
    if item.get("project_id") is not None:
        value = option_value("project", item["project_id"])
        row.append(blocks.button("Create work order", Action.OPEN_WORKORDER_MODAL, value))
    row += [blocks.snooze_menu(SNOOZE_CHOICES), blocks.open_button(item["url"])]
    return row


def render(model: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Block Kit blocks and the plain-text fallback for one message model (never over 50 blocks)."""
    if model["kind"] != "main":
        title = f"Forms past their phase SLA, full list (part {model['part']} of {model['parts']})"
        return blocks.thread_message(model, title, _line, actions)
    earlier = model["open"] - model["listed"]
    summary = (
        f"*{model['red']} red* and *{model['yellow']} yellow* "
        f"form(s) newly past SLA, escalated or due a reminder"
        + (f"; {earlier} more still past SLA from earlier alerts." if earlier > 0 else ".")
    )
    return blocks.main_message(
        model,
        text=(
            f"Forms past their phase SLA: {model['red']} red, {model['yellow']} yellow "
            f"({model['open']} in all) as of {_when(model['as_of'])}"
        ),
        title=f"Forms past their phase SLA · {_when(model['as_of'])}",
        summary=[blocks.section(summary), blocks.divider()],
        line=_line,
        noun="forms",
        actions=actions,
    )


def to_text(models: list[dict[str, Any]]) -> str:
    """The whole message as readable plain text (for --dry-run and the demo)."""
    main = models[0]
    head = [
        f"Forms past their phase SLA · {_when(main['as_of'])} ({main['tz']})",
        f"{main['red']} red, {main['yellow']} yellow listed now; {main['open']} past SLA in all",
    ]

    def item_text(i: dict[str, Any]) -> str:
        return (
            f"  {i['level'].upper():6} #{i['project_number']} {i['project_title']} | {i['phase']}: "
            f"{_sla_text(i)} | form {i['form_name']} | {i['assignee']} | {i['status']} | {i['url']}"
        )

    return blocks.digest_text(models, head, item_text)


def _sla_cell(item: Mapping[str, Any]) -> str:
    """The phase's SLA thresholds for a CSV cell: "yellow 7 d, red 14 d"."""
    parts = [
        f"{name} {item[field]} d"
        for name, field in (("yellow", "yellow_sla"), ("red", "red_sla"))
        if item.get(field) is not None
    ]
    return ", ".join(parts)


def to_csv(items: list[dict[str, Any]]) -> str:
    """The digest's forms as CSV, one row each in digest order (red first)."""
    return csv_text(
        CSV_COLUMNS,
        (
            [
                item["level"],
                item["project_number"],
                item["project_title"],
                item["phase"],
                item["days"],
                _sla_cell(item),
                item["form_name"],
                item["assignee"],
                item["status"],
                item["url"],
            ]
            for item in items
        ),
    )
