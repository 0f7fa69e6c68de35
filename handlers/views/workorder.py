"""New-work-order modal listeners: open it (prefilled with a record), follow the record, submit.

The modal opens at once with a loading state (the trigger id dies within 3 s); the templates, the
record, its phases and the default assignee are filled in by views.update. The work order is
created by bot.flows.workorder (write-once); these listeners translate Slack to it and back.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    base_id,
    decode_metadata,
    errors_for_view,
    loading_modal,
    selected_option,
    selected_texts,
    slack_text,
    with_inline_errors,
)
from bot.blocks.records import record_option
from bot.blocks.workorder import (
    TITLE,
    build_workorder_modal,
    parse_workorder,
    phase_options,
    started_phases,
    template_options,
    user_option,
    validate_workorder,
    workorder_confirmation,
    workorder_done_modal,
    workorder_pending_modal,
    workorder_saving_modal,
    workorder_unavailable_modal,
)
from bot.coperniq.errors import CoperniqError
from bot.flows.workorder import (
    STATIC_USERS_MAX,
    cached_user,
    create_work_order,
    directory_users,
    forget_templates,
    load_templates,
    prefill_record,
    project_phases,
    refused_template,
)
from bot.ids import Block, Callback
from bot.people import author_of, identify
from bot.records import PROJECT, label_of, parse_value, record_url
from bot.refs import NotARecordNumber
from bot.submissions import Claim, Outcome, Verdict, Written
from handlers.views.common import (
    field_errors,
    no_single_project,
    open_view,
    post_result,
    tell,
    update_view,
    why_unsure,
)

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

# The API's 400 `field` -> the input block that shows it.
FIELD_BLOCKS = {
    "templateId": Block.WORKORDER_TEMPLATE,
    "phaseInstanceId": Block.WORKORDER_PHASE,
    "assigneeId": Block.WORKORDER_ASSIGNEE,
    "startDate": Block.WORKORDER_START,
    "startDateAllDay": Block.WORKORDER_START,
}
NO_TEMPLATES = (
    "Coperniq has no work order templates yet. An admin creates them in Coperniq "
    "(Company Settings → Work orders); then run this again."
)


def _assignees(
    store: Store, client: WebClient, coperniq: CoperniqClient, user: str, now: datetime
) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    """(static options or None when searched, the clicker's own option when they are linked).

    Identifying the clicker refreshes the cached Coperniq users at most once a day.
    """
    person = identify(store.db, coperniq, client, user, now).person
    users = directory_users(store.db)
    mine = None
    if person is not None and (row := cached_user(store.db, person.coperniq_id)):
        mine = user_option(row)
    if len(users) > STATIC_USERS_MAX:
        return None, mine
    return [user_option(u) for u in users], mine


def open_workorder_modal(
    *,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
    trigger_id: str,
    channel: str | None,
    user: str,
    record_text: str | None = None,
    record: str | None = None,
) -> None:
    """Open at once (loading), then fill in the templates, the record, its phases, the assignee.

    `record_text` is what was typed after the command; `record` a button's "kind:id".
    """
    # The modal's own token: what its submissions (double clicks, Slack's retries) share.
    meta = {"c": channel, "u": user, "t": secrets.token_hex(8)}
    opened = open_view(
        client,
        trigger_id,
        loading_modal(Callback.WORKORDER_MODAL, TITLE, "Loading templates from Coperniq…", meta),
        channel=channel,
        user=user,
    )
    if opened is None:
        return
    now = clock()
    interactive = coperniq.interactive
    try:
        templates = load_templates(interactive, store.db, now)
    except CoperniqError as exc:
        log.warning("Work order templates could not be loaded: %r", exc)
        why = f"I couldn't load the work order templates: {exc.user_message}"
        update_view(
            client, opened["id"], workorder_unavailable_modal(meta, why), opened.get("hash")
        )
        return
    if not templates:
        view = workorder_unavailable_modal(meta, NO_TEMPLATES)
        update_view(client, opened["id"], view, opened.get("hash"))
        return
    option = phases = notice = None
    if record_text or parse_value(record):
        try:
            found = prefill_record(interactive, record_text, record)
            if found is None:
                notice = no_single_project(record_text)
            else:
                kind, rec = found
                option = record_option(kind, rec)
                if kind == PROJECT.kind:
                    phases = phase_options(started_phases(rec))
        except (CoperniqError, NotARecordNumber) as exc:
            log.warning("Record lookup for the work order modal failed: %r", exc)
            notice = f":warning: {exc.user_message} Search for the record below."
    assignees, mine = _assignees(store, client, interactive, user, now)
    view = build_workorder_modal(
        meta,
        templates=template_options(templates),
        today=now.astimezone(settings.timezone).date(),
        record_option=option,
        phases=phases,
        assignees=assignees,
        assignee_option=mine,
        notice=notice,
    )
    update_view(client, opened["id"], view, opened.get("hash"))


def _shown_options(view: dict[str, Any], base: str) -> list[dict[str, Any]] | None:
    """The options of the static select in input block `base`; None: no such select shown."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and base_id(block.get("block_id", "")) == base:
            if block["element"].get("type") == "static_select":
                return list(block["element"].get("options") or [])
            return None
    return None


def _rebuild(
    view: dict[str, Any],
    data: dict[str, Any],
    today: Any,
    *,
    record: dict[str, Any] | None,
    phases: list[dict[str, Any]] | None,
    templates: list[dict[str, Any]] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The same form again with what was chosen, the record's phases and maybe fresh templates."""
    has_assignee = any(
        base_id(b.get("block_id", "")) == Block.WORKORDER_ASSIGNEE for b in view.get("blocks") or []
    )
    assignees = _shown_options(view, Block.WORKORDER_ASSIGNEE)
    if has_assignee and assignees is None:
        assignees = None  # searched (external select): keep it so
    elif not has_assignee:
        assignees = []
    return build_workorder_modal(
        decode_metadata(view),
        templates=templates
        if templates is not None
        else _shown_options(view, Block.WORKORDER_TEMPLATE) or [],
        today=today,
        values=data,
        record_option=record,
        phases=phases,
        assignees=assignees,
        assignee_option=selected_option(view, Block.WORKORDER_ASSIGNEE),
        notice=notice,
    )


def _phases_shown(
    view: dict[str, Any], record: tuple[str, int] | None
) -> list[dict[str, Any]] | None:
    """The phase options the view shows for a project record ([] none started); None otherwise."""
    if record is None or record[0] != PROJECT.kind:
        return None
    return _shown_options(view, Block.WORKORDER_PHASE) or []


def record_chosen(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Another record was picked: show its phases (a project's) or none, keeping the rest."""
    ack()
    view = body["view"]
    data = parse_workorder(view)
    picked = next(
        (a.get("selected_option") for a in body.get("actions") or [] if a.get("selected_option")),
        None,
    ) or selected_option(view, Block.WORKORDER_RECORD)
    parsed = parse_value((picked or {}).get("value"))
    data["record"] = (picked or {}).get("value")
    data["phase"] = None  # another record's phase cannot stay chosen
    phases = notice = None
    if parsed and parsed[0] == PROJECT.kind:
        try:
            phases = phase_options(project_phases(coperniq.interactive, parsed[1]))
        except CoperniqError as exc:
            log.warning("Phases of project %s could not be read: %r", parsed[1], exc)
            notice = f":warning: I couldn't read the project's phases: {exc.user_message}"
    today = clock().astimezone(settings.timezone).date()
    new = _rebuild(view, data, today, record=picked, phases=phases, notice=notice)
    update_view(client, view["id"], new, view.get("hash"))


def _record_label(view: dict[str, Any], record: tuple[str, int]) -> str:
    shown = selected_texts(view).get(Block.WORKORDER_RECORD)
    return shown or label_of(record[0], {"number": None})


def submit(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Validate (inline errors), then create the work order exactly once and confirm."""
    view = body["view"]
    data = parse_workorder(view)
    tz = settings.timezone
    today = clock().astimezone(tz).date()
    errors = validate_workorder(data, today)
    if errors:
        ack(
            response_action="errors",
            errors=errors_for_view(view, errors, fallback=Block.WORKORDER_RECORD),
        )
        return
    meta = decode_metadata(view)
    user = body["user"]["id"]
    record = parse_value(data["record"])
    assert record is not None  # validate_workorder refused anything else
    what = _record_label(view, record)
    url = record_url(settings.coperniq_app_url, *record)

    def on_claim(claim: Claim) -> None:
        if claim.verdict is Verdict.DONE:
            done = {"id": claim.record_id, "uid": claim.record_number, **(claim.detail or {})}
            ack(response_action="update", view=workorder_done_modal(done, what, url, already=True))
        elif claim.verdict is Verdict.PENDING:
            ack(response_action="update", view=workorder_pending_modal())
        else:
            ack(response_action="update", view=workorder_saving_modal(meta))

    interactive = coperniq.interactive
    written = create_work_order(
        store.db,
        interactive,
        user=user,
        token=str(meta.get("t") or view.get("id")),
        data=data,
        tz=tz,
        on_claim=on_claim,
        # Asked after the ack, and only when Coperniq is written to: who signs the description.
        author=lambda: author_of(store.db, interactive, client, user, clock()),
    )
    if not written.outcome.written:
        if written.outcome in (Outcome.FAILED, Outcome.UNKNOWN):
            _show_failure(client, store, interactive, view, meta, data, written, user, clock, tz)
        return
    work_order = written.record or {}
    post_result(
        client, meta.get("c"), user, workorder_confirmation(work_order, what, url, user, tz)
    )
    update_view(client, view["id"], workorder_done_modal(work_order, what, url))


def _made(store: Store, written: Written) -> bool:
    """Whether this submission's work order exists already (only what follows the create failed)."""
    row = store.db.execute(
        "select progress from submissions where key = ?", [written.claim.key]
    ).fetchone()
    return bool(row and row[0] and '"work_order_id"' in row[0])


def _show_failure(
    client: WebClient,
    store: Store,
    coperniq: CoperniqClient,
    view: dict[str, Any],
    meta: dict[str, Any],
    data: dict[str, Any],
    written: Written,
    user: str,
    clock: Callable[[], datetime],
    tz: ZoneInfo,
) -> None:
    """Put the form back with what was chosen and the error on its field; else say it in Slack."""
    now = clock()
    errors = field_errors(written.error, FIELD_BLOCKS)
    made = _made(store, written)
    if made:
        banner = (
            "The work order was created, but its assignee and start date were not set. "
            + (written.why or "")
            + " Press Create again to set them (no second work order is made)."
        )
    else:
        banner = "The work order was not created. " + (written.why or "")
    if written.outcome is Outcome.UNKNOWN:
        banner = (
            f"{why_unsure(written.error)}, so the work order may or may not exist. Press Create "
            "again: I will check Coperniq first and not make a second one."
        )
    templates = None
    if refused_template(written.error):
        # The cached list offered a template Coperniq no longer has: read the list again.
        forget_templates(store.db)
        try:
            templates = template_options(load_templates(coperniq, store.db, now, fresh=True))
        except CoperniqError as exc:
            log.warning("Work order templates could not be reloaded: %r", exc)
        if templates is not None and data["template"] not in {o["value"] for o in templates}:
            data["template"] = None
            errors[Block.WORKORDER_TEMPLATE] = (
                "That template is no longer in Coperniq: choose one from the updated list."
            )
    record = parse_value(data["record"])
    form = _rebuild(
        view,
        data,
        now.astimezone(tz).date(),
        record=selected_option(view, Block.WORKORDER_RECORD),
        phases=_phases_shown(view, record),
        templates=templates,
    )
    form["blocks"] = with_inline_errors(form["blocks"], errors, banner=banner)
    if update_view(client, view["id"], form) is None:
        tell(
            client,
            meta.get("c"),
            user,
            f":warning: {banner} You chose {slack_text(_record_label(view, record), 150)}."
            if record
            else f":warning: {banner}",
        )
