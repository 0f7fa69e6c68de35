"""Log-a-call modal listeners: open it (prefilled with a record), follow the direction, submit.

The call is logged by bot.flows.call (write-once); these listeners translate Slack to it and its
outcome back to Slack.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.blocks.call import (
    TITLE,
    build_call_modal,
    call_body,
    call_confirmation,
    call_done_modal,
    call_saving_modal,
    numbers_for_direction,
    parse_call,
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
from bot.blocks.records import record_option
from bot.coperniq.errors import CoperniqError
from bot.flows.call import log_call
from bot.ids import Block, Callback
from bot.people import author_of
from bot.records import find_record, parse_value, record_url, resource
from bot.refs import NotARecordNumber
from bot.store import utcnow
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


def open_call_modal(
    *,
    client: WebClient,
    settings: Settings,
    coperniq: CoperniqClient,
    trigger_id: str,
    channel: str | None,
    user: str,
    record_text: str | None = None,
    record: str | None = None,
    reason: str | None = None,
    card: dict[str, Any] | None = None,
) -> None:
    """Open at once; a record to prefill (typed, or "kind:id" from a button) is looked up after.

    `reason` preselects the call's reason; `card` (an alert card the button was on) is carried
    so the card can say the call was logged.
    """
    meta = {"c": channel, "u": user, "card": card}
    company = settings.company_phone
    preset = {"reason": reason} if reason else None
    if not record_text and not parse_value(record):
        view = build_call_modal(meta, now=utcnow(), values=preset, company_phone=company)
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
    coperniq = coperniq.interactive
    option = None
    notice = None
    try:
        if parsed := parse_value(record):
            kind, record_id = parsed
            option = record_option(kind, resource(coperniq, kind).get(record_id))
        elif found := find_record(coperniq, record_text or ""):
            option = record_option(*found)
        else:
            notice = no_single_project(record_text)
    except (CoperniqError, NotARecordNumber) as exc:
        log.warning("Record lookup for the call modal failed: %r", exc)
        notice = f":warning: {exc.user_message} Search for the record below."
    view = build_call_modal(
        meta,
        now=utcnow(),
        values=preset,
        company_phone=company,
        record_option=option,
        notice=notice,
    )
    update_view(client, opened["id"], view, opened.get("hash"))


def direction_changed(
    ack: Ack, body: dict[str, Any], client: WebClient, settings: Settings
) -> None:
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
    company = settings.company_phone
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


def submit(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
) -> None:
    """Validate (inline errors), then log the call exactly once and confirm in the channel."""
    view = body["view"]
    data = parse_call(view)
    errors = validate_call(data)
    if errors:
        ack(response_action="errors", errors=errors_for_view(view, errors))
        return
    meta = decode_metadata(view)
    user = body["user"]["id"]
    record = parse_value(data["record"])
    assert record is not None  # validate_call refused anything else
    what = selected_texts(view).get(Block.CALL_RECORD) or f"{record[0]} {record[1]}"

    def on_claim(claim: Claim) -> None:
        if claim.verdict is Verdict.DONE:
            done = f":white_check_mark: This call is already logged on *{escape(what)}*."
            ack(response_action="update", view=call_done_modal(done))
        elif claim.verdict is Verdict.PENDING:
            busy = ":hourglass_flowing_sand: This call is already being logged."
            ack(response_action="update", view=call_done_modal(busy))
        else:
            ack(response_action="update", view=call_saving_modal(meta))

    written = log_call(
        store.db,
        coperniq.interactive,
        user=user,
        record=record,
        data=data,
        on_claim=on_claim,
        # Asked after the ack, and only when the call is written: who signs the note.
        author=lambda: author_of(store.db, coperniq.interactive, client, user, utcnow()),
    )
    if not written.outcome.written:
        if written.outcome in (Outcome.FAILED, Outcome.UNKNOWN):
            _show_failure(client, view, meta, data, written, user)
        return
    url = record_url(settings.coperniq_app_url, *record)
    message = call_confirmation(what, call_body(data), url, user, settings.timezone)
    post_result(client, meta.get("c"), user, message)
    update_view(
        client, view["id"], call_done_modal(f":white_check_mark: Call logged on *{escape(what)}*.")
    )
    if meta.get("card"):
        # Imported here: handlers.actions imports this module (its buttons open this modal).
        from handlers.actions.invoices import call_logged

        call_logged(store.db, client, meta["card"], user, utcnow(), settings)


def _show_failure(
    client: WebClient,
    view: dict[str, Any],
    meta: dict[str, Any],
    data: dict[str, Any],
    written: Written,
    user: str,
) -> None:
    """Put the form back with what was typed, the error on its field and why in a banner."""
    errors = field_errors(written.error, FIELD_BLOCKS)
    banner = "The call was not logged. " + (written.why or "")
    if written.outcome is Outcome.UNKNOWN:
        banner = (
            f"{why_unsure(written.error)}, so the call may or may not be logged. Press Log call "
            "again: I will check Coperniq first and not log it twice."
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
