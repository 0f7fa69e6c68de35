"""The three Workflow Builder steps: create a service request, log a call, add a note.

Each translates the step's inputs to the flow the matching modal uses (bot.flows.request,
bot.flows.call, bot.flows.note: same validation, same body, same write-once) and its outcome to
the step's outputs or a readable error. Bolt acks `function_executed` before these run; Slack
calls go out with the execution's own token (Bolt puts the event's bot_access_token on `client`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.coperniq.errors import ValidationError
from bot.flows.call import log_call as log_call_once
from bot.flows.note import MAX_NOTE_CHARS
from bot.flows.note import add_note as add_note_once
from bot.flows.request import cached_trades, create_request, load_trades
from bot.ids import Callback
from bot.people import Author, author_of
from bot.records import CLIENT, REQUEST, label_of, record_type, record_url
from bot.refs import parse_ref, typed_number
from bot.submissions import Outcome, Written
from handlers.functions.inputs import (
    StepFailed,
    call_data,
    check_call,
    check_request,
    request_data,
    resolve_record,
    shown,
    text_of,
)
from handlers.functions.run import run_step
from handlers.functions.specs import input_title
from handlers.views.common import why_unsure

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from slack_bolt import Complete, Fail
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

# Who a write is from when the workflow maps no person to the step's "by" input.
WORKFLOW_AUTHOR = "a Slack workflow"
WORKFLOW_USER = "workflow"

# Coperniq's 400 `field` -> the step input that holds it.
REQUEST_FIELDS = {
    "title": "title",
    "address": "address",
    "trades": "trades",
    "primaryPhone": "contact_phone",
    "primaryEmail": "contact_email",
    "description": "description",
    "accountId": "client",
}
CALL_FIELDS = {
    "fromNumber": "from_number",
    "toNumber": "to_number",
    "isInbound": "direction",
    "startTime": "started_at",
    "endTime": "duration_minutes",
    "reason": "reason",
    "disposition": "disposition",
    "outcome": "outcome",
    "note": "note",
    "recordingUrl": "recording_url",
}
NOTE_FIELDS = {"body": "text"}


def _execution_id(body: dict[str, Any]) -> str:
    return str((body.get("event") or {}).get("function_execution_id") or "")


def _author(
    store: Store, coperniq: CoperniqClient, client: WebClient, user: str, now: datetime
) -> Callable[[], Author]:
    """Who signs the write: the mapped Slack person (linked or by name), else the workflow."""
    if not user:
        return lambda: Author(WORKFLOW_USER, WORKFLOW_AUTHOR, None)
    return lambda: author_of(store.db, coperniq, client, user, now)


def _refused(
    written: Written, callback_id: str, fields: dict[str, str], not_done: str, maybe: str
) -> StepFailed:
    """The step's error for a write that did not happen (or may have)."""
    if written.outcome is Outcome.IN_FLIGHT:
        return StepFailed(
            f"{not_done} by this run: the same one is being saved right now by another run "
            "with the same details, and this run did not make a second one."
        )
    if written.outcome is Outcome.UNKNOWN:
        return StepFailed(
            f"{why_unsure(written.error)}, so {maybe}. Run the workflow again: the bot checks "
            "Coperniq first and will not make a second one."
        )
    error = written.error
    if isinstance(error, ValidationError) and error.field:
        name = error.field.removeprefix("body.").split(".")[0].split("[")[0]
        if name in fields:
            title = input_title(callback_id, fields[name])
            return StepFailed(
                f"{not_done}: Coperniq did not accept the {title.lower()}. Check that input "
                "of the step and run the workflow again."
            )
    return StepFailed(f"{not_done}. {written.why or 'Coperniq refused it.'}")


def _record_outputs(app_url: str, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    number = record.get("number")
    return {
        "record_id": str(record["id"]),
        "record_number": "" if number in (None, "") else str(number),
        "record_url": record_url(app_url, kind, record["id"]),
    }


# --- Create Coperniq service request -----------------------------------------------------------


def _client_ref(coperniq: CoperniqClient, text: str, app_url: str) -> str | None:
    """The existing client input as 'account:ID' (None when empty)."""
    if not text:
        return None
    if parse_ref(text, ("account",)):
        return text
    what = input_title(Callback.STEP_CREATE_REQUEST, "client")
    # A bare number is a client's number (or id): "5" means client 5 here, not project 5.
    typed = f"client {text}" if _is_number(text) else text
    kind, record = resolve_record(coperniq, typed, app_url, what=what)
    if kind != CLIENT.kind:
        raise StepFailed(
            f"{what}: “{shown(text)}” is a {record_type(kind).label.lower()}, not a client."
        )
    return f"{CLIENT.kind}:{record['id']}"


def _is_number(text: str) -> bool:
    try:
        return typed_number(text) is not None
    except ValueError:
        return True  # a number the bot cannot use: resolve_record words the refusal


def create_service_request(
    body: dict[str, Any],
    inputs: dict[str, Any],
    complete: Complete,
    fail: Fail,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """*Create Coperniq service request*: the request modal's opportunity, once."""
    now = clock()
    cq = coperniq.interactive

    def work() -> dict[str, Any]:
        trades = (
            list(settings.request_trades)
            or cached_trades(store.db, now)
            or load_trades(cq, store.db, now)
        )
        # Checked before any write, and before the client look-up: bad input costs no call.
        check_request(inputs, request_data(inputs, trades=trades, client_ref=None), trades)
        client_ref = _client_ref(cq, text_of(inputs, "client"), settings.coperniq_app_url)
        data = request_data(inputs, trades=trades, client_ref=client_ref)
        user = text_of(inputs, "requested_by")
        written = create_request(
            store.db,
            cq,
            user=user or WORKFLOW_USER,
            data=data,
            on_claim=lambda claim: None,
            author=_author(store, cq, client, user, now),
        )
        if not (written.outcome.written or written.outcome is Outcome.ALREADY):
            raise _refused(
                written,
                Callback.STEP_CREATE_REQUEST,
                REQUEST_FIELDS,
                "The service request was not created",
                "the request may or may not exist in Coperniq",
            )
        record = written.record or {}
        out = _record_outputs(settings.coperniq_app_url, REQUEST.kind, record)
        return {
            "request_id": out["record_id"],
            "request_number": out["record_number"],
            "request_url": out["record_url"],
        }

    run_step(
        what="Workflow step create_service_request",
        store=store,
        execution_id=_execution_id(body),
        now=now,
        complete=complete,
        fail=fail,
        work=work,
    )


# --- Log a call in Coperniq --------------------------------------------------------------------


def log_call(
    body: dict[str, Any],
    inputs: dict[str, Any],
    complete: Complete,
    fail: Fail,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """*Log a call in Coperniq*: the call modal's call on the typed record, once."""
    now = clock()
    cq = coperniq.interactive

    def work() -> dict[str, Any]:
        record_text = text_of(inputs, "record")
        # Everything but the record is checked first: bad input costs no Coperniq call.
        check_call(inputs, call_data(inputs, record=None, company_phone=settings.company_phone))
        kind, record = resolve_record(
            cq,
            record_text,
            settings.coperniq_app_url,
            what=input_title(Callback.STEP_LOG_CALL, "record"),
        )
        ref = (kind, int(record["id"]))
        data = call_data(inputs, record=ref, company_phone=settings.company_phone)
        user = text_of(inputs, "logged_by")
        written = log_call_once(
            store.db,
            cq,
            user=user or WORKFLOW_USER,
            record=ref,
            data=data,
            on_claim=lambda claim: None,
            author=_author(store, cq, client, user, now),
        )
        if not (written.outcome.written or written.outcome is Outcome.ALREADY):
            raise _refused(
                written,
                Callback.STEP_LOG_CALL,
                CALL_FIELDS,
                f"The call was not logged on {label_of(kind, record)}",
                "the call may or may not be logged in Coperniq",
            )
        call_id = (written.record or {}).get("id")
        return {
            "call_id": "" if call_id is None else str(call_id),
            **_record_outputs(settings.coperniq_app_url, kind, record),
        }

    run_step(
        what="Workflow step log_call",
        store=store,
        execution_id=_execution_id(body),
        now=now,
        complete=complete,
        fail=fail,
        work=work,
    )


# --- Add a note to a Coperniq record -----------------------------------------------------------


def add_note(
    body: dict[str, Any],
    inputs: dict[str, Any],
    complete: Complete,
    fail: Fail,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """*Add a note to a Coperniq record*: the text on the typed record, once per execution."""
    now = clock()
    cq = coperniq.interactive
    execution_id = _execution_id(body)

    def work() -> dict[str, Any]:
        text = text_of(inputs, "text")
        title = input_title(Callback.STEP_ADD_NOTE, "text")
        if not text:
            raise StepFailed(f"The note was not added. {title}: write the note's text.")
        if len(text) > MAX_NOTE_CHARS:
            raise StepFailed(
                f"The note was not added. {title}: at most {MAX_NOTE_CHARS:,} characters "
                f"(this one has {len(text):,})."
            )
        kind, record = resolve_record(
            cq,
            text_of(inputs, "record"),
            settings.coperniq_app_url,
            what=input_title(Callback.STEP_ADD_NOTE, "record"),
        )
        user = text_of(inputs, "written_by")
        written = add_note_once(
            store.db,
            cq,
            user=user or WORKFLOW_USER,
            record=(kind, int(record["id"])),
            text=text,
            occasion=f"workflow:{execution_id}",
            author=_author(store, cq, client, user, now),
        )
        if not (written.outcome.written or written.outcome is Outcome.ALREADY):
            raise _refused(
                written,
                Callback.STEP_ADD_NOTE,
                NOTE_FIELDS,
                f"The note was not added to {label_of(kind, record)}",
                "the note may or may not be on the record in Coperniq",
            )
        note_id = (written.record or {}).get("id")
        return {
            "note_id": "" if note_id is None else str(note_id),
            **_record_outputs(settings.coperniq_app_url, kind, record),
        }

    run_step(
        what="Workflow step add_note",
        store=store,
        execution_id=execution_id,
        now=now,
        complete=complete,
        fail=fail,
        work=work,
    )
