"""New service request: the trades to offer, and creating the opportunity exactly once."""

from __future__ import annotations

import functools
import itertools
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import submissions
from bot.blocks.request import (
    DEFAULT_TRADES,
    fingerprint_details,
    opportunity_body,
    trades_from_properties,
)
from bot.coperniq.errors import CoperniqError
from bot.people import Author, attribution
from bot.phones import to_e164
from bot.records import REQUEST
from bot.store import kv_get, kv_set

if TYPE_CHECKING:
    from sqlite_utils import Database

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


def cached_trades(db: Database, now: datetime) -> list[str] | None:
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


def load_trades(coperniq: CoperniqClient, db: Database, now: datetime) -> list[str]:
    """The trades Coperniq knows (cached for a few hours), else the built-in fallback list."""
    try:
        trades = trades_from_properties(coperniq.properties.list("opportunity"))
    except CoperniqError as exc:
        log.warning("Could not load trades, using the fallback list: %r", exc)
        return list(DEFAULT_TRADES)
    if not trades:
        return list(DEFAULT_TRADES)
    kv_set(db, TRADES_KEY, json.dumps({"at": now.isoformat(), "trades": trades}), now)
    return trades


def find_created(
    coperniq: CoperniqClient, data: dict[str, Any], since: datetime
) -> dict[str, Any] | None:
    """The opportunity an earlier, timed-out create made, if Coperniq has it.

    Matched by title, phone and time, not description: the earlier copy's ends with a signature.
    """
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


def create_request(
    db: Database,
    coperniq: CoperniqClient,
    *,
    user: str,
    data: dict[str, Any],
    on_claim: Callable[[submissions.Claim], None],
    author: Callable[[], Author],
) -> submissions.Written:
    """Create the opportunity `data` (a parse_request result) once; `on_claim` acks first.

    `author` is asked once, after the claim (so after the ack), and only if Coperniq is written
    to: the description is signed with its name and the audit row keeps its Coperniq user.
    """
    by = functools.cache(author)

    def saved_as(record: dict[str, Any]) -> submissions.Saved:
        number = record.get("number")
        return submissions.Saved(
            REQUEST.kind,
            record["id"],
            number,
            audit_detail={"number": number},
            coperniq_user=by().coperniq_id,
        )

    def create(claim: submissions.Claim) -> dict[str, Any]:
        signature = f"— opened {attribution(by())}"
        return coperniq.opportunities.create(opportunity_body(data, signature=signature))

    write = submissions.Write(
        slack_user=user,
        action=ACTION,
        details=fingerprint_details(data),
        what="Creating a request",
        lookup=lambda claim: find_created(coperniq, data, claim.first_at),
        create=create,
        saved_as=saved_as,
        repeat_after=REPEAT_AFTER,
    )
    return submissions.write_once(db, write, on_claim=on_claim)
