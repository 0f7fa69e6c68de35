"""New-work-order modal: build, parse, validate, the Coperniq bodies, and the confirmation (pure).

The spec's create bodies (POST /projects|opportunities|accounts/{id}/work-orders) take only
`templateId` and, for projects and opportunities, `phaseInstanceId`; the assignee and the start
date are set by a PATCH of the new work order (WorkOrderUpdate `assigneeId`, `startDate`,
`startDateAllDay`), which also signs its description with who created it from Slack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    MIN_SEARCH_CHARS,
    OPTIONS_MAX,
    context,
    escape,
    external_select,
    flatten_state,
    input_block,
    link_button,
    message_modal,
    modal,
    option,
    section,
    static_select,
    truncate,
    versioned,
)
from bot.ids import Action, Block, Callback
from bot.records import PROJECT, label_of, parse_value

TITLE = "New work order"
SUBMIT = "Create"
# A start date this far ahead is a typo (2062 for 2026), not a plan.
MAX_DAYS_AHEAD = 366
# Phase instance statuses the spec allows a project work order in ("the phase must be started").
STARTED = ("IN_PROGRESS",)


def template_options(templates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The templates as select options, by title (at most Slack's 100)."""
    out = []
    for t in sorted(templates, key=lambda t: (str(t.get("title") or "").casefold(), t["id"])):
        kind = str(t.get("type") or "").strip()
        text = str(t.get("title") or f"Template {t['id']}")
        out.append(option(text + (f" · {kind.capitalize()}" if kind else ""), str(t["id"])))
    return out[:OPTIONS_MAX]


def started_phases(project: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The project's phase instances a work order may be created in (started, not completed)."""
    out = []
    for p in project.get("phaseInstances") or []:
        if isinstance(p, Mapping) and isinstance(p.get("id"), int) and p.get("status") in STARTED:
            out.append({"id": p["id"], "name": str(p.get("name") or f"Phase {p['id']}")})
    return out


def phase_options(phases: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Phase instances as options (value: the phase instance id)."""
    return [option(str(p["name"]), str(p["id"])) for p in phases][:OPTIONS_MAX]


def user_option(user: Mapping[str, Any]) -> dict[str, Any]:
    """A Coperniq user as an option: 'Dana Reyes · Technician' (value: the user id)."""
    name = " ".join(f"{user.get('first_name') or ''} {user.get('last_name') or ''}".split())
    name = name or str(user.get("email") or f"User {user['id']}")
    role = user.get("role_name")
    return option(name + (f" · {role}" if role else ""), str(user["id"]))


def build_workorder_modal(
    meta: Mapping[str, Any],
    *,
    templates: list[dict[str, Any]],
    today: date,
    values: Mapping[str, Any] | None = None,
    record_option: dict[str, Any] | None = None,
    phases: list[dict[str, Any]] | None = None,
    assignees: list[dict[str, Any]] | None = None,
    assignee_option: dict[str, Any] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The work-order form.

    `templates`, `phases` and `assignees` are options; `phases` None: the record is no project
    (no phase block). `assignees` None: more users than a static select holds, so the assignee
    is searched (external select); `assignee_option` is the one chosen (the clicker by default).
    `values` (a parse_workorder result) keeps what was chosen across updates.
    """
    v = dict(values or {})
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append(section(notice))
    blocks.append(
        input_block(
            Block.WORKORDER_RECORD,
            "Project, request or client",
            external_select(
                Action.WORKORDER_RECORD,
                initial=record_option,
                min_query_length=MIN_SEARCH_CHARS,
                placeholder="Type a name, number or address",
            ),
            dispatch=True,
        )
    )
    blocks.append(
        input_block(
            Block.WORKORDER_TEMPLATE,
            "Template",
            static_select(
                templates,
                initial=v.get("template"),
                placeholder="Choose a template",
                action_id=Action.WORKORDER_TEMPLATE,
            ),
        )
    )
    if phases:
        # Versioned by the project: another project's phase must not stay chosen.
        project = parse_value((record_option or {}).get("value"), (PROJECT.kind,))
        blocks.append(
            input_block(
                versioned(Block.WORKORDER_PHASE, project[1] if project else None),
                "Phase",
                static_select(
                    phases,
                    initial=v.get("phase"),
                    placeholder="The project's current phase",
                    action_id=Action.WORKORDER_PHASE,
                ),
                optional=True,
                hint="Only phases that have started. Left empty, Coperniq chooses.",
            )
        )
    elif phases is not None:
        blocks.append(context("No phase of this project has started: Coperniq chooses the phase."))
    if assignees is None:
        assignee_el = external_select(
            Action.WORKORDER_ASSIGNEE,
            initial=assignee_option,
            min_query_length=1,
            placeholder="Type a name",
        )
    elif assignees:
        assignee_el = static_select(
            assignees,
            initial=v.get("assignee") or (assignee_option or {}).get("value"),
            placeholder="Choose a person",
            action_id=Action.WORKORDER_ASSIGNEE,
        )
    else:
        assignee_el = None
    if assignee_el is not None:
        blocks.append(
            input_block(
                Block.WORKORDER_ASSIGNEE,
                "Assignee",
                assignee_el,
                optional=True,
                hint="A Coperniq user. Left empty, the template's assignee applies.",
            )
        )
    else:
        blocks.append(
            context(
                "I couldn't read Coperniq's users, so the template's assignee applies. "
                "Assign someone in Coperniq afterwards."
            )
        )
    start_el: dict[str, Any] = {"type": "datepicker", "action_id": Action.INPUT}
    start = v.get("start", today.isoformat())
    if start:
        start_el["initial_date"] = start
    blocks.append(input_block(Block.WORKORDER_START, "Start date", start_el, optional=True))
    return modal(Callback.WORKORDER_MODAL, TITLE, blocks, submit=SUBMIT, metadata=meta)


def parse_workorder(view: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values as a plain dict (ids as text, the date as YYYY-MM-DD, or None)."""
    s = flatten_state(view)
    return {
        "record": s.get(Block.WORKORDER_RECORD) or None,
        "template": s.get(Block.WORKORDER_TEMPLATE) or None,
        "phase": s.get(Block.WORKORDER_PHASE) or None,
        "assignee": s.get(Block.WORKORDER_ASSIGNEE) or None,
        "start": s.get(Block.WORKORDER_START) or None,
    }


def _int(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def validate_workorder(data: Mapping[str, Any], today: date) -> dict[str, str]:
    """Every problem with the form at once, keyed by input block id (`today`: business day)."""
    errors: dict[str, str] = {}
    record = parse_value(data.get("record"))
    if record is None:
        errors[Block.WORKORDER_RECORD] = "Choose the project, request or client."
    if _int(data.get("template")) is None:
        errors[Block.WORKORDER_TEMPLATE] = "Choose a template."
    if data.get("phase") is not None and (
        _int(data["phase"]) is None or (record and record[0] != PROJECT.kind)
    ):
        errors[Block.WORKORDER_PHASE] = "A phase can only be chosen for a project."
    if data.get("assignee") is not None and _int(data["assignee"]) is None:
        errors[Block.WORKORDER_ASSIGNEE] = "Choose a Coperniq user from the list."
    if data.get("start"):
        try:
            start = date.fromisoformat(str(data["start"]))
        except ValueError:
            errors[Block.WORKORDER_START] = "Pick the start date from the calendar."
        else:
            if start < today:
                errors[Block.WORKORDER_START] = "That date is past: pick today or later."
            elif (start - today).days > MAX_DAYS_AHEAD:
                errors[Block.WORKORDER_START] = "That is more than a year ahead: check the year."
    return errors


def create_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's create body: templateId, and phaseInstanceId for a project when chosen."""
    body: dict[str, Any] = {"templateId": int(data["template"])}
    record = parse_value(data.get("record"))
    if data.get("phase") and record and record[0] == PROJECT.kind:
        body["phaseInstanceId"] = int(data["phase"])
    return body


def start_instant(day: str, tz: ZoneInfo) -> str:
    """The start of `day` in the business time zone, as the UTC ISO text Coperniq takes."""
    local = datetime.combine(date.fromisoformat(day), time(0, 0), tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def update_body(
    data: Mapping[str, Any], tz: ZoneInfo, description: str | None = None
) -> dict[str, Any]:
    """The follow-up PATCH (WorkOrderUpdate): assignee, all-day start date, signed description."""
    body: dict[str, Any] = {}
    if data.get("assignee"):
        body["assigneeId"] = int(data["assignee"])
    if data.get("start"):
        body["startDate"] = start_instant(str(data["start"]), tz)
        body["startDateAllDay"] = True
    if description is not None:
        body["description"] = description
    return body


def signed_description(description: object, signature: str) -> str:
    """The template's description with who created the work order from Slack under it."""
    text = str(description or "").rstrip()
    if text.endswith(signature):
        return text
    return f"{text}\n\n{signature}" if text else signature


def fingerprint_details(token: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two submissions the same create: the modal they came from and what it creates.

    The modal's own token: a double click and Slack's retry send the same view; a second modal
    with the same choices is a second work order. The assignee and the start date are not in
    it: they are set after the create, so correcting them after a refusal changes the same one.
    """
    return {
        "modal": token,
        "record": data.get("record"),
        "template": str(data.get("template")),
        "phase": data.get("phase"),
    }


def describe(work_order: Mapping[str, Any]) -> tuple[str, str]:
    """('#12', 'AC Tune-Up') of a work order (the uid is its number; the id when there is none)."""
    number = work_order.get("uid")
    if number in (None, ""):
        number = work_order.get("number") or work_order.get("id")
    title = truncate(" ".join(str(work_order.get("title") or "").split()), 150) or "(untitled)"
    return f"#{number}", title


def _assignee_name(work_order: Mapping[str, Any]) -> str | None:
    who = work_order.get("assignee")
    if not isinstance(who, Mapping):
        return None
    name = " ".join(f"{who.get('firstName') or ''} {who.get('lastName') or ''}".split())
    return name or None


def _start_text(work_order: Mapping[str, Any], tz: ZoneInfo) -> str | None:
    raw = work_order.get("startDate")
    if not raw:
        return None
    try:
        start = datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(tz)
    except ValueError:
        return None
    return f"{start:%a}, {start:%b} {start.day}"


def workorder_confirmation(
    work_order: Mapping[str, Any],
    record_label: str,
    url: str,
    user: str,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """The channel message once the work order exists: number, title, record, who, when, link."""
    number, title = describe(work_order)
    where = escape(truncate(record_label, 150))
    lines = [f":white_check_mark: *Work order {number}* created by <@{user}> on {where}"]
    lines.append(f"*{escape(title)}*")
    details = []
    if name := _assignee_name(work_order):
        details.append(f"assigned to {escape(name)}")
    if start := _start_text(work_order, tz):
        details.append(f"starts {start}")
    if details:
        joined = " · ".join(details)
        lines.append(joined[:1].upper() + joined[1:])
    text = f"Work order {number} created by <@{user}> on {where}: {escape(title)}"
    blocks = [
        section("\n".join(lines)),
        {"type": "actions", "elements": [link_button("Open in Coperniq", url)]},
    ]
    return {"text": text, "blocks": blocks}


def workorder_done_modal(
    work_order: Mapping[str, Any], record_label: str, url: str, *, already: bool = False
) -> dict[str, Any]:
    """What the modal shows once the work order exists."""
    number, title = describe(work_order)
    head = "This work order was already created" if already else "Work order created"
    blocks = [
        section(
            f":white_check_mark: *{head}: {escape(number)}*\n{escape(title)}\n"
            f"on {escape(truncate(record_label, 150))}"
        ),
        {"type": "actions", "elements": [link_button("Open in Coperniq", url)]},
    ]
    return modal(Callback.WORKORDER_MODAL, TITLE, blocks, close="Close")


def workorder_saving_modal(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What the modal shows while Coperniq creates the work order."""
    return message_modal(
        Callback.WORKORDER_MODAL,
        TITLE,
        ":hourglass_flowing_sand: Creating the work order in Coperniq…",
        meta,
    )


def workorder_pending_modal() -> dict[str, Any]:
    """What a second submission sees while the first is still creating the work order."""
    return message_modal(
        Callback.WORKORDER_MODAL,
        TITLE,
        ":hourglass_flowing_sand: This work order is already being created. You will see a "
        "confirmation in a moment.",
    )


def workorder_unavailable_modal(meta: Mapping[str, Any], why: str) -> dict[str, Any]:
    """The modal when it cannot be used (no templates, or Coperniq failed to list them)."""
    return message_modal(Callback.WORKORDER_MODAL, TITLE, f":warning: {why}", meta)


def record_label(kind: str, record: Mapping[str, Any]) -> str:
    """'Project #1042 · Smith Residence' for the confirmation."""
    title = " ".join(str(record.get("title") or "").split())
    return label_of(kind, record) + (f" · {title}" if title else "")
