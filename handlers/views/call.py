"""Log a call: open (prefilled record), flip numbers on direction change, create the call once."""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import submissions
from bot.blocks.call import (
    RECORD_PATHS,
    TITLE,
    build_call_modal,
    call_body,
    call_confirmation,
    call_done_modal,
    call_saving_modal,
    fingerprint_details,
    numbers_for_direction,
    parse_call,
    parse_record_value,
    record_option,
    validate_call,
)
from bot.blocks.common import (
    decode_metadata,
    errors_for_view,
    escape,
    loading_modal,
    selected_option,
    selected_texts,
    with_inline_errors,
)
from bot.coperniq.errors import CoperniqError
from bot.ids import Block, Callback
from bot.links import record_url
from bot.phones import to_e164
from bot.refs import NotARecordNumber, typed_number
from bot.store import audit, utcnow
from handlers.views.common import (
    field_errors,
    find_project,
    interactive,
    no_single_project,
    open_view,
    post_result,
    tell,
    update_view,
    why_unsure,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

ACTION = "log_call"

FIELD_BLOCKS = {
    "fromNumber": Block.CALL_FROM,
    "toNumber": Block.CALL_TO,
    "isInbound": Block.CALL_DIRECTION,
    "startTime": Block.CALL_START,
    "endTime": Block.CALL_END,
    "reason": Block.CALL_REASON,
    "disposition": Block.CALL_DISPOSITION,
    "outcome": Block.CALL_OUTCOME,
    "note": Block.CALL_NOTE,
    "recordingUrl": Block.CALL_RECORDING,
}


def _resource(coperniq: CoperniqClient, record_type: str) -> Any:
    return getattr(coperniq, RECORD_PATHS[record_type])


def find_record(coperniq: CoperniqClient, text: str) -> tuple[str, dict[str, Any]] | None:
    """`/coperniq call 1234`: a project as for photos, else the request or client numbered so."""
    project = find_project(coperniq, text)
    if project is not None:
        return "project", project
    number = typed_number(text)  # find_project has already refused a number that is none
    if number is None:
        return None
    # Calls are logged on requests and clients too; their numbers are their own series.
    for record_type in ("opportunity", "account"):
        found = _resource(coperniq, record_type).list(q=str(number), page_size=20)
        for record in itertools.islice(found, 20):
            if str(record.get("number")) == str(number):
                return record_type, record
    return None


def open_call_modal(
    *,
    client: WebClient,
    context: Any,
    trigger_id: str,
    channel: str | None,
    user: str,
    record_text: str | None = None,
    record: str | None = None,
) -> None:
    """Open at once; a record to prefill (typed, or "type:id" from a button) is looked up after."""
    settings = context["settings"]
    meta = {"c": channel, "u": user}
    company = settings.company_phone
    if not record_text and not parse_record_value(record):
        view = build_call_modal(meta, now=utcnow(), company_phone=company)
        open_view(client, trigger_id, view, channel=channel, user=user)
        return
    opened = open_view(
        client,
        trigger_id,
        loading_modal(Callback.CALL_MODAL, TITLE, "Looking up the record…", meta),
        channel=channel,
        user=user,
    )
    if opened is None:
        return
    coperniq = interactive(context)
    option = None
    notice = None
    try:
        if parsed := parse_record_value(record):
            record_type, record_id = parsed
            option = record_option(record_type, _resource(coperniq, record_type).get(record_id))
        else:
            found = find_record(coperniq, record_text or "")
            if found:
                option = record_option(*found)
            else:
                notice = no_single_project(record_text)
    except (CoperniqError, NotARecordNumber) as exc:
        log.warning("Record lookup for the call modal failed: %r", exc)
        notice = f":warning: {exc.user_message} Search for the record below."
    view = build_call_modal(
        meta, now=utcnow(), company_phone=company, record_option=option, notice=notice
    )
    update_view(client, opened["id"], view, opened.get("hash"))


def direction_changed(ack: Any, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Move the company number to the side the new direction puts it, keeping everything else."""
    ack()
    view = body["view"]
    values = parse_call(view)
    picked = next(
        (
            a["selected_option"]["value"]
            for a in body.get("actions") or []
            if a.get("selected_option")
        ),
        None,
    )
    values["direction"] = picked or values["direction"]  # the action is always current
    company = context["settings"].company_phone
    values["from"], values["to"] = numbers_for_direction(
        values["direction"] or "inbound", company, values["from"], values["to"]
    )
    new = build_call_modal(
        decode_metadata(view),
        now=utcnow(),
        values=values,
        company_phone=company,
        record_option=selected_option(view, Block.CALL_RECORD),
    )
    update_view(client, view["id"], new, view.get("hash"))


def find_logged(
    coperniq: CoperniqClient, record_type: str, record_id: int, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The call an earlier, timed-out create made, if Coperniq has it (same numbers and start)."""
    start = datetime.fromisoformat(body["startTime"].replace("Z", "+00:00"))
    for call in coperniq.calls.list(record_type, record_id):
        when = call.get("startTime")
        if not when:
            continue
        same_start = abs(datetime.fromisoformat(when.replace("Z", "+00:00")) - start) < timedelta(
            seconds=1
        )
        if (
            same_start
            and to_e164(call.get("fromNumber") or "") == body["fromNumber"]
            and to_e164(call.get("toNumber") or "") == body["toNumber"]
        ):
            return call
    return None


def submit(ack: Any, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Validate (inline errors), then log the call exactly once and confirm in the channel."""
    view = body["view"]
    data = parse_call(view)
    errors = validate_call(data)
    if errors:
        ack(response_action="errors", errors=errors_for_view(view, errors))
        return
    meta = decode_metadata(view)
    user = body["user"]["id"]
    settings = context["settings"]
    db = context["store"].db
    record_type, record_id = parse_record_value(data["record"])  # type: ignore[misc]
    payload = call_body(data)
    what = selected_texts(view).get(Block.CALL_RECORD) or f"{record_type} {record_id}"
    url = record_url(settings.coperniq_app_url, record_type, record_id)
    key = submissions.fingerprint(user, ACTION, fingerprint_details(data))
    claim = submissions.begin(db, key, slack_user=user, action=ACTION)
    if claim.verdict == "done":
        ack(
            response_action="update",
            view=call_done_modal(
                f":white_check_mark: This call is already logged on *{escape(what)}*."
            ),
        )
        return
    if claim.verdict == "pending":
        ack(
            response_action="update",
            view=call_done_modal(":hourglass_flowing_sand: This call is already being logged."),
        )
        return
    ack(response_action="update", view=call_saving_modal(meta))
    coperniq = interactive(context)
    written = submissions.write_once(
        db,
        key,
        claim,
        lookup=lambda: find_logged(coperniq, record_type, record_id, payload),
        create=lambda: coperniq.calls.create(record_type, record_id, payload),
        on_failure=lambda exc: _show_failure(client, view, meta, data, exc, user),
        what="Logging a call",
        # The call is on the record either way; its own id is only kept for the audit log.
        require_id=False,
    )
    if written is None:
        return
    call, outcome = written
    call_id = call.get("id")
    submissions.finish(db, key, record_type="call", record_id=call_id)
    audit(
        db,
        slack_user=user,
        action=ACTION,
        record_type=record_type,
        record_id=record_id,
        outcome=outcome,
        detail={"call_id": call_id},
    )
    message = call_confirmation(what, payload, url, user, settings.timezone)
    post_result(client, meta.get("c"), user, message)
    update_view(
        client, view["id"], call_done_modal(f":white_check_mark: Call logged on *{escape(what)}*.")
    )


def _show_failure(
    client: WebClient,
    view: dict[str, Any],
    meta: dict[str, Any],
    data: dict[str, Any],
    exc: CoperniqError | None,
    user: str,
) -> None:
    """Put the form back with what was typed (`exc` None: not a Coperniq error, outcome unknown)."""
    errors = field_errors(exc, FIELD_BLOCKS)
    banner = "The call was not logged. " + (exc.user_message if exc else "")
    if exc is None or exc.outcome_unknown:
        banner = (
            f"{why_unsure(exc)}, so the call may or may not be logged. Press Log call again: "
            "I will check Coperniq first and not log it twice."
        )
    form = build_call_modal(
        meta, now=utcnow(), values=data, record_option=selected_option(view, Block.CALL_RECORD)
    )
    form["blocks"] = with_inline_errors(form["blocks"], errors, banner=banner)
    if update_view(client, view["id"], form) is None:
        tell(
            client,
            meta.get("c"),
            user,
            f":warning: {banner} You entered a call from {data['from']} to {data['to']}.",
        )
