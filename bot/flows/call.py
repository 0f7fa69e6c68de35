"""Log a call: the record it is about, and logging it on that record exactly once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import submissions
from bot.blocks.call import call_body, fingerprint_details
from bot.people import Author, attribution
from bot.phones import to_e164

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.coperniq import CoperniqClient

ACTION = "log_call"


def find_logged(
    coperniq: CoperniqClient, record_type: str, record_id: int, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The call an earlier, timed-out create made, if Coperniq has it (same numbers and start).

    The note is not compared: the earlier copy's ends with its signature, perhaps another name.
    """
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


def log_call(
    db: Database,
    coperniq: CoperniqClient,
    *,
    user: str,
    record: tuple[str, int],
    data: dict[str, Any],
    on_claim: Callable[[submissions.Claim], None],
    author: Callable[[], Author],
) -> submissions.Written:
    """Log the call `data` (a parse_call result) on `record` once; `on_claim` acks first.

    `author` is asked once, after the claim (so after the ack), and only if Coperniq is written
    to: the note is signed with its name and the audit row keeps its Coperniq user.
    """
    record_type, record_id = record
    payload = call_body(data)
    by = functools.cache(author)

    def saved_as(call: dict[str, Any]) -> submissions.Saved:
        # The call is on the record either way; its own id is only kept for the audit log.
        call_id = call.get("id")
        return submissions.Saved(
            "call",
            call_id,
            audit_type=record_type,
            audit_id=record_id,
            audit_detail={"call_id": call_id},
            coperniq_user=by().coperniq_id,
        )

    def create(claim: submissions.Claim) -> dict[str, Any]:
        signed = call_body(data, signature=f"— logged {attribution(by())}")
        return coperniq.calls.create(record_type, record_id, signed)

    write = submissions.Write(
        slack_user=user,
        action=ACTION,
        details=fingerprint_details(data),
        what="Logging a call",
        lookup=lambda claim: find_logged(coperniq, record_type, record_id, payload),
        create=create,
        saved_as=saved_as,
        require_id=False,
    )
    return submissions.write_once(db, write, on_claim=on_claim)
