"""New work order: the templates (cached), the record and its phases, the people to assign, and
creating the work order exactly once.

Creating is two calls: POST /{projects|opportunities|accounts}/{id}/work-orders with the spec's
body ({templateId, phaseInstanceId?}), then PATCH of that work order with what the create body
cannot take (assigneeId, startDate, startDateAllDay) and the description signed with who made it
from Slack. The POST is the one write that must not happen twice: once it has answered, the work
order's id is kept in the submission's progress, so a retry after a failed or unknown PATCH only
PATCHes again (a PATCH of the same values is harmless). After an unknown POST outcome the
record's work orders are read to find one made from the template since the first try.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import submissions
from bot.blocks.workorder import (
    create_body,
    fingerprint_details,
    signed_description,
    started_phases,
    update_body,
)
from bot.coperniq.errors import CoperniqError
from bot.people import Author, attribution
from bot.records import PROJECT, find_record, parse_value, resource
from bot.store import kv_get, kv_set

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

ACTION = "create_work_order"
TEMPLATES_KEY = "modals.workorder.templates"
# Templates change rarely (an admin edits them in Coperniq): a day, and at once when Coperniq
# refuses a template the list offered.
TEMPLATES_TTL = timedelta(hours=24)
# An earlier try's work order counts when made this long before the first try (clock skew).
LOOKUP_SLACK = timedelta(minutes=5)
# More users than this do not fit a static select: the assignee is searched instead.
STATIC_USERS_MAX = 100


# --- templates ---------------------------------------------------------------------------------


def cached_templates(db: Database, now: datetime) -> list[dict[str, Any]] | None:
    """The templates fetched within TEMPLATES_TTL (id, title, type), or None."""
    raw = kv_get(db, TEMPLATES_KEY)
    if not raw:
        return None
    try:
        cached = json.loads(raw)
        if datetime.fromisoformat(cached["at"]) > now - TEMPLATES_TTL:
            return [dict(t) for t in cached["templates"]]
    except (ValueError, KeyError, TypeError):
        pass
    return None


def load_templates(
    coperniq: CoperniqClient, db: Database, now: datetime, *, fresh: bool = False
) -> list[dict[str, Any]]:
    """The templates: cached, else GET /work-orders/templates (stored); raises CoperniqError."""
    if not fresh and (cached := cached_templates(db, now)) is not None:
        return cached
    templates = [
        {"id": t["id"], "title": t.get("title"), "type": t.get("type")}
        for t in coperniq.work_orders.templates()
        if isinstance(t, dict) and isinstance(t.get("id"), int)
    ]
    kv_set(db, TEMPLATES_KEY, json.dumps({"at": now.isoformat(), "templates": templates}), now)
    return templates


def forget_templates(db: Database) -> None:
    """Drop the cached templates (Coperniq refused one the list offered)."""
    db.execute("delete from kv where key = ?", [TEMPLATES_KEY])


# --- the record, its phases, the people --------------------------------------------------------


def prefill_record(
    coperniq: CoperniqClient, text: str | None = None, value: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The record a button names ("kind:id", read by id) or the text names (as `call` finds it).

    A project is read by id either way, so that its phase instances come with it.
    """
    if parsed := parse_value(value):
        kind, record_id = parsed
        return kind, resource(coperniq, kind).get(record_id)
    found = find_record(coperniq, text or "") if text else None
    if found is None:
        return None
    kind, record = found
    if kind == PROJECT.kind and "phaseInstances" not in record:
        record = coperniq.projects.get(record["id"])
    return kind, record


def project_phases(coperniq: CoperniqClient, project_id: int) -> list[dict[str, Any]]:
    """The started phase instances of a project (GET /projects/{id})."""
    return started_phases(coperniq.projects.get(project_id))


def directory_users(db: Database) -> list[dict[str, Any]]:
    """The cached Coperniq users (bot.people keeps them), by name."""
    return [
        dict(r)
        for r in db.query(
            "select id, email, first_name, last_name, role_name from coperniq_users "
            "order by lower(first_name), lower(last_name), id"
        )
    ]


def search_users(db: Database, query: str, limit: int = 100) -> list[dict[str, Any]]:
    """Cached users whose name or email contains every word of `query` (no Coperniq call)."""
    words = [w.casefold() for w in query.split() if w]
    out = []
    for user in directory_users(db):
        hay = " ".join(
            str(user.get(k) or "") for k in ("first_name", "last_name", "email")
        ).casefold()
        if all(w in hay for w in words):
            out.append(user)
            if len(out) >= limit:
                break
    return out


def cached_user(db: Database, user_id: int) -> dict[str, Any] | None:
    """One cached Coperniq user, or None."""
    rows = list(
        db.query(
            "select id, email, first_name, last_name, role_name from coperniq_users where id = ?",
            [user_id],
        )
    )
    return dict(rows[0]) if rows else None


# --- creating it once --------------------------------------------------------------------------


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def find_created(
    coperniq: CoperniqClient, record: tuple[str, int], template_id: int, since: datetime
) -> dict[str, Any] | None:
    """The work order an earlier try whose answer was lost made, if Coperniq has it.

    The newest of the record's work orders from that template created since the first try.
    """
    kind, record_id = record
    matches = []
    for wo in coperniq.work_orders.list_for(kind, record_id):
        created = _when(wo.get("createdAt"))
        if wo.get("templateId") == template_id and created and created >= since - LOOKUP_SLACK:
            matches.append((created, wo))
    return max(matches, key=lambda m: m[0])[1] if matches else None


def create_work_order(
    db: Database,
    coperniq: CoperniqClient,
    *,
    user: str,
    token: str,
    data: dict[str, Any],
    tz: ZoneInfo,
    on_claim: Callable[[submissions.Claim], None],
    author: Callable[[], Author],
) -> submissions.Written:
    """Create the work order `data` (a parse_workorder result) once; `on_claim` acks first.

    `token` names the modal it was submitted from (its private_metadata). `author` is asked
    once, after the claim, and only when Coperniq is written to.
    """
    parsed = parse_value(data["record"])
    if parsed is None:
        raise ValueError("create_work_order needs a record")
    record: tuple[str, int] = parsed
    kind, record_id = record
    by = functools.cache(author)
    template_id = int(data["template"])
    key: dict[str, str] = {}

    def remember(work_order: dict[str, Any]) -> str:
        # The signed description is fixed once, so a repeated PATCH writes the same text.
        description = signed_description(
            work_order.get("description"), f"— created {attribution(by())}"
        )
        submissions.note_progress(
            db, key["k"], work_order_id=work_order["id"], description=description
        )
        return description

    def finish_patch(work_order_id: int, description: str) -> dict[str, Any]:
        body = update_body(data, tz, description)
        return coperniq.work_orders.update(kind, record_id, work_order_id, body)

    def lookup(claim: submissions.Claim) -> dict[str, Any] | None:
        key["k"] = claim.key
        if (claim.progress or {}).get("work_order_id") is not None:
            return None  # created; create() PATCHes it again
        found = find_created(coperniq, record, template_id, claim.first_at)
        if found is not None:
            remember(found)  # then create() sets what the create could not
        return None

    def create(claim: submissions.Claim) -> dict[str, Any]:
        key["k"] = claim.key
        progress = submissions.note_progress(db, claim.key)
        if progress.get("work_order_id") is None:
            created = coperniq.work_orders.create(kind, record_id, create_body(data))
            if not isinstance(created, dict) or created.get("id") is None:
                raise ValueError("Coperniq's answer to creating a work order has no id")
            remember(created)
            progress = submissions.note_progress(db, claim.key)
        return finish_patch(int(progress["work_order_id"]), str(progress["description"]))

    def saved_as(work_order: dict[str, Any]) -> submissions.Saved:
        uid = work_order.get("uid")
        detail = {"title": work_order.get("title"), "record": data["record"]}
        return submissions.Saved(
            "work_order",
            work_order["id"],
            uid,
            detail=detail,
            audit_type=kind,
            audit_id=record_id,
            audit_detail={"work_order_id": work_order["id"], "uid": uid, **detail},
            coperniq_user=by().coperniq_id,
        )

    write = submissions.Write(
        slack_user=user,
        action=ACTION,
        details=fingerprint_details(token, data),
        what="Creating a work order",
        lookup=lookup,
        create=create,
        saved_as=saved_as,
    )
    return submissions.write_once(db, write, on_claim=on_claim)


def refused_template(error: CoperniqError | None) -> bool:
    """Whether Coperniq refused the chosen template (gone since the list was cached)."""
    if error is None:
        return False
    return (error.field or "").removeprefix("body.") == "templateId"
