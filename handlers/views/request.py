"""New service request: open the modal (trades from Coperniq), and create the opportunity once."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import submissions
from bot.blocks.common import (
    decode_metadata,
    errors_for_view,
    loading_modal,
    selected_option,
    with_inline_errors,
)
from bot.blocks.request import (
    DEFAULT_TRADES,
    TITLE,
    build_request_modal,
    fingerprint_details,
    opportunity_body,
    parse_request,
    request_confirmation,
    request_done_modal,
    request_pending_modal,
    request_saving_modal,
    trades_from_properties,
    validate_request,
)
from bot.coperniq.errors import CoperniqError
from bot.ids import Block, Callback
from bot.links import record_url
from bot.phones import to_e164
from bot.store import audit, kv_get, kv_set, utcnow
from handlers.views.common import (
    field_errors,
    input_options,
    interactive,
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

ACTION = "create_request"
TRADES_KEY = "modals.request.trades"
TRADES_TTL = timedelta(hours=6)
# How far back (and for how many records) to look for a create whose outcome was unknown.
LOOKUP_SLACK = timedelta(minutes=5)
LOOKUP_LIMIT = 50
# The same details within a day are a repeat (double click, retry); later, a customer calling again.
REPEAT_AFTER = timedelta(hours=24)

# The API's 400 `field` -> the input block that shows it.
FIELD_BLOCKS = {
    "title": Block.REQUEST_TITLE,
    "address": Block.REQUEST_ADDRESS,
    "trades": Block.REQUEST_TRADES,
    "primaryPhone": Block.REQUEST_PHONE,
    "primaryEmail": Block.REQUEST_EMAIL,
    "description": Block.REQUEST_DESCRIPTION,
    "accountId": Block.REQUEST_CLIENT,
}


def cached_trades(db: Any, now: datetime) -> list[str] | None:
    """The trades fetched from Coperniq within the last few hours, or None."""
    raw = kv_get(db, TRADES_KEY)
    if not raw:
        return None
    try:
        cached = json.loads(raw)
        if datetime.fromisoformat(cached["at"]) > now - TRADES_TTL and cached["trades"]:
            return list(cached["trades"])
    except (ValueError, KeyError, TypeError):
        pass
    return None


def load_trades(coperniq: CoperniqClient, db: Any, now: datetime) -> list[str]:
    """The trades Coperniq knows (cached for a few hours), else the configured fallback list."""
    try:
        trades = trades_from_properties(coperniq.properties.list("opportunity"))
    except CoperniqError as exc:
        log.warning("Could not load trades, using the fallback list: %r", exc)
        return list(DEFAULT_TRADES)
    if not trades:
        return list(DEFAULT_TRADES)
    kv_set(db, TRADES_KEY, json.dumps({"at": now.isoformat(), "trades": trades}), now)
    return trades


def open_request_modal(
    *, client: WebClient, context: Any, trigger_id: str, channel: str | None, user: str
) -> None:
    """Open at once; when trades are not cached, show a loading state and fill it in after."""
    meta = {"c": channel, "u": user}
    db = context["store"].db
    now = utcnow()
    # An operator's REQUEST_TRADES list wins over Coperniq's and costs no call.
    trades = list(context["settings"].request_trades) or cached_trades(db, now)
    if trades:
        open_view(client, trigger_id, build_request_modal(meta, trades), channel=channel, user=user)
        return
    opened = open_view(
        client,
        trigger_id,
        loading_modal(Callback.REQUEST_MODAL, TITLE, "Loading trades from Coperniq…", meta),
        channel=channel,
        user=user,
    )
    if opened is None:
        return
    trades = load_trades(interactive(context), db, now)
    update_view(client, opened["id"], build_request_modal(meta, trades), opened.get("hash"))


def find_created(
    coperniq: CoperniqClient, data: dict[str, Any], since: datetime
) -> dict[str, Any] | None:
    """The opportunity an earlier, timed-out create made, if Coperniq has it."""
    phone = to_e164(data["phone"])
    title = " ".join(data["title"].split()).casefold()
    candidates = coperniq.opportunities.list(
        title=data["title"], updated_after=since - LOOKUP_SLACK, order_by="desc", page_size=50
    )
    for record in itertools.islice(candidates, LOOKUP_LIMIT):
        if " ".join(str(record.get("title") or "").split()).casefold() != title:
            continue
        if to_e164(record.get("primaryPhone") or "") != phone:
            continue
        created = record.get("createdAt")
        if (
            created
            and datetime.fromisoformat(created.replace("Z", "+00:00")) < since - LOOKUP_SLACK
        ):
            continue
        return record
    return None


def submit(ack: Any, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Validate (inline errors), then create the opportunity exactly once and confirm."""
    view = body["view"]
    data = parse_request(view)
    errors = validate_request(data)
    if errors:
        ack(response_action="errors", errors=errors_for_view(view, errors))
        return
    meta = decode_metadata(view)
    user = body["user"]["id"]
    settings = context["settings"]
    db = context["store"].db
    key = submissions.fingerprint(user, ACTION, fingerprint_details(data))
    claim = submissions.begin(db, key, slack_user=user, action=ACTION, repeat_after=REPEAT_AFTER)
    if claim.verdict == "done":
        record = {"id": claim.record_id, "number": claim.record_number, "title": data["title"]}
        url = record_url(settings.coperniq_app_url, "opportunity", claim.record_id or "")
        ack(response_action="update", view=request_done_modal(record, url, already=True))
        return
    if claim.verdict == "pending":
        ack(response_action="update", view=request_pending_modal())
        return
    ack(response_action="update", view=request_saving_modal(meta))
    coperniq = interactive(context)
    written = submissions.write_once(
        db,
        key,
        claim,
        lookup=lambda: find_created(coperniq, data, claim.first_at),
        create=lambda: coperniq.opportunities.create(opportunity_body(data)),
        on_failure=lambda exc: _show_failure(client, view, meta, data, exc, user),
        what="Creating a request",
    )
    if written is None:
        return
    record, outcome = written
    record_id = record["id"]
    submissions.finish(
        db,
        key,
        record_type="opportunity",
        record_id=record_id,
        record_number=record.get("number"),
    )
    audit(
        db,
        slack_user=user,
        action=ACTION,
        record_type="opportunity",
        record_id=record["id"],
        outcome=outcome,
        detail={"number": record.get("number")},
    )
    url = record_url(settings.coperniq_app_url, "opportunity", record["id"])
    post_result(client, meta.get("c"), user, request_confirmation(record, url, user))
    update_view(client, view["id"], request_done_modal(record, url))


def _show_failure(
    client: WebClient,
    view: dict[str, Any],
    meta: dict[str, Any],
    data: dict[str, Any],
    exc: CoperniqError | None,
    user: str,
) -> None:
    """Put the form back with what was typed and the error on its field; else say it in Slack.

    `exc` None: something other than a Coperniq error, so the outcome is unknown.
    """
    errors = field_errors(exc, FIELD_BLOCKS)
    banner = "The request was not created. " + (exc.user_message if exc else "")
    if exc is None or exc.outcome_unknown:
        banner = (
            f"{why_unsure(exc)}, so the request may or may not exist. Press Create again: "
            "I will check Coperniq first and not make a second one."
        )
    trades = [o["value"] for o in input_options(view, Block.REQUEST_TRADES)] or list(DEFAULT_TRADES)
    form = build_request_modal(
        meta, trades, values=data, client_option=selected_option(view, Block.REQUEST_CLIENT)
    )
    form["blocks"] = with_inline_errors(form["blocks"], errors, banner=banner)
    if update_view(client, view["id"], form) is None:
        summary = f"“{data['title']}” at {data['address']} for {data['contact']} ({data['phone']})"
        tell(client, meta.get("c"), user, f":warning: {banner} You typed: {summary}.")
