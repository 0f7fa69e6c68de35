"""New-service-request modal listeners: open it (trades from Coperniq), and submit it.

The request is created by bot.flows.request (write-once); these listeners translate Slack to it
and its outcome back to Slack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.common import (
    decode_metadata,
    errors_for_view,
    input_options,
    loading_modal,
    selected_option,
    with_inline_errors,
)
from bot.blocks.request import (
    DEFAULT_TRADES,
    TITLE,
    build_request_modal,
    parse_request,
    request_confirmation,
    request_done_modal,
    request_pending_modal,
    request_saving_modal,
    validate_request,
)
from bot.flows.request import cached_trades, create_request, load_trades
from bot.ids import Block, Callback
from bot.people import author_of
from bot.records import REQUEST, record_url
from bot.store import utcnow
from bot.submissions import Claim, Outcome, Verdict, Written
from handlers.views.common import (
    field_errors,
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


def open_request_modal(
    *,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    trigger_id: str,
    channel: str | None,
    user: str,
) -> None:
    """Open at once; when trades are not cached, show a loading state and fill it in after."""
    meta = {"c": channel, "u": user}
    now = utcnow()
    # An operator's REQUEST_TRADES list wins over Coperniq's and costs no call.
    trades = list(settings.request_trades) or cached_trades(store.db, now)
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
    trades = load_trades(coperniq.interactive, store.db, now)
    update_view(client, opened["id"], build_request_modal(meta, trades), opened.get("hash"))


def submit(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
) -> None:
    """Validate (inline errors), then create the opportunity exactly once and confirm."""
    view = body["view"]
    data = parse_request(view)
    errors = validate_request(data)
    if errors:
        ack(response_action="errors", errors=errors_for_view(view, errors))
        return
    meta = decode_metadata(view)
    user = body["user"]["id"]
    app_url = settings.coperniq_app_url

    def on_claim(claim: Claim) -> None:
        if claim.verdict is Verdict.DONE:
            record = {"id": claim.record_id, "number": claim.record_number, "title": data["title"]}
            url = record_url(app_url, REQUEST.kind, claim.record_id or "")
            ack(response_action="update", view=request_done_modal(record, url, already=True))
        elif claim.verdict is Verdict.PENDING:
            ack(response_action="update", view=request_pending_modal())
        else:
            ack(response_action="update", view=request_saving_modal(meta))

    written = create_request(
        store.db,
        coperniq.interactive,
        user=user,
        data=data,
        on_claim=on_claim,
        # Asked after the ack, and only when the request is written: who signs the description.
        author=lambda: author_of(store.db, coperniq.interactive, client, user, utcnow()),
    )
    if not written.outcome.written:
        if written.outcome in (Outcome.FAILED, Outcome.UNKNOWN):
            _show_failure(client, view, meta, data, written, user)
        return
    record = written.record or {}
    url = record_url(app_url, REQUEST.kind, record["id"])
    post_result(client, meta.get("c"), user, request_confirmation(record, url, user))
    update_view(client, view["id"], request_done_modal(record, url))


def _show_failure(
    client: WebClient,
    view: dict[str, Any],
    meta: dict[str, Any],
    data: dict[str, Any],
    written: Written,
    user: str,
) -> None:
    """Put the form back with what was typed and the error on its field; else say it in Slack."""
    errors = field_errors(written.error, FIELD_BLOCKS)
    banner = "The request was not created. " + (written.why or "")
    if written.outcome is Outcome.UNKNOWN:
        banner = (
            f"{why_unsure(written.error)}, so the request may or may not exist. Press Create "
            "again: I will check Coperniq first and not make a second one."
        )
    trades = [o["value"] for o in input_options(view, Block.REQUEST_TRADES)] or list(DEFAULT_TRADES)
    form = build_request_modal(
        meta, trades, values=data, client_option=selected_option(view, Block.REQUEST_CLIENT)
    )
    form["blocks"] = with_inline_errors(form["blocks"], errors, banner=banner)
    if update_view(client, view["id"], form) is None:
        summary = f"“{data['title']}” at {data['address']} for {data['contact']} ({data['phone']})"
        tell(client, meta.get("c"), user, f":warning: {banner} You typed: {summary}.")
