"""Link unfurls: which Coperniq links a message holds, and what the card of each one says.

A link is unfurled when it is one the bot itself builds (`bot.records.record_url`): under
COPERNIQ_APP_URL (same host, same company id), then `project/<id>`, `request/<id>` or
`client/<id>`, or `invoice/<id>` for an invoice; a trailing slash, a query string and a fragment
are tolerated, anything else (another host, another company, a sub-page) is not a record link.

Cost: at most one read of a record per UNFURL_TTL (the `unfurl_cache` table, keyed
"<kind>:<id>", a missing record cached as "null"), plus, when the local `work_orders` copy has
none for the record, one read of its work orders, cached with it. At most MAX_LINKS links of a
message are unfurled (the first ones, in the message's order); the others stay plain links.
Reads are made as background work with short retries (`unfurl_client`): a link pasted in a busy
channel is a person's act, but nobody waits on it, so it never eats the calls kept for people.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.coperniq.budget import BACKGROUND
from bot.coperniq.errors import CoperniqError, NotFound
from bot.coperniq.transport import INTERACTIVE_POLICY
from bot.records import CLIENT, PROJECT, TYPES, record_url
from bot.store import iso
from jobs.sla.select import current_phase, sla_level, sla_threshold
from jobs.times import parse_instant

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings
    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

# A record is read from Coperniq at most once per this long, whoever posts its link.
UNFURL_TTL = timedelta(minutes=5)
# Links unfurled per message, the first ones; the rest stay plain links.
MAX_LINKS = 3
INVOICE = "invoice"
# The web app's page of each kind (the bot's own links; invoices: the bot's choice, see README).
PAGES: dict[str, str] = {t.page: t.kind for t in TYPES.values()} | {"invoice": INVOICE}
_ID = re.compile(r"^[1-9][0-9]{0,17}$")


@dataclass(frozen=True)
class LinkRef:
    """One Coperniq link of a message: the URL as posted, and the record it names."""

    url: str
    kind: str  # project, opportunity, account or invoice
    id: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def parse_link(url: str, app_url: str) -> LinkRef | None:
    """The record a link under `app_url` names; None for any other link (no call is made)."""
    try:
        link, base = urlsplit(url.strip()), urlsplit(app_url)
        host, base_host = link.hostname, base.hostname
    except ValueError:
        return None
    if link.scheme not in ("http", "https") or not host or host != base_host:
        return None
    if link.port != base.port or link.username or link.password:
        return None
    prefix = _segments(base.path)
    parts = _segments(link.path)
    if parts[: len(prefix)] != prefix:
        return None
    rest = parts[len(prefix) :]
    if len(rest) != 2 or rest[0] not in PAGES or not _ID.match(rest[1]):
        return None
    return LinkRef(url, PAGES[rest[0]], int(rest[1]))


def pick_links(urls: Iterable[str], app_url: str) -> tuple[list[LinkRef], list[LinkRef]]:
    """(the first MAX_LINKS distinct Coperniq links, the Coperniq links left plain)."""
    chosen: list[LinkRef] = []
    left: list[LinkRef] = []
    seen: set[str] = set()
    for url in urls:
        ref = parse_link(url, app_url)
        if ref is None or url in seen:
            continue
        seen.add(url)
        (chosen if len(chosen) < MAX_LINKS else left).append(ref)
    return chosen, left


def unfurl_client(coperniq: CoperniqClient) -> CoperniqClient:
    """Background purpose (refused past the people's reserve) with the interactive's short retries.

    An unfurl is a courtesy: when the day's budget is down to the reserve kept for people's
    own reads and writes it is skipped; and a card that shows up a minute late is worth nothing,
    so it never sleeps long on a listener thread either.
    """
    return coperniq.with_policy(BACKGROUND, INTERACTIVE_POLICY)


# --- the cache (m016 unfurl_cache) ---------------------------------------------------------


def cache_get(
    db: Database, key: str, now: datetime, ttl: timedelta = UNFURL_TTL
) -> tuple[bool, Any]:
    """(hit, body): a hit is a row fetched within `ttl` of `now`; body None = record not there."""
    row = db.execute("select fetched_at, body from unfurl_cache where key = ?", [key]).fetchone()
    if row is None:
        return False, None
    try:
        fetched = parse_instant(row[0])
        body = json.loads(row[1])
    except (TypeError, ValueError):
        log.warning("Unreadable unfurl cache row %s: reading it again", key)
        return False, None
    if not (now - ttl < fetched <= now + timedelta(minutes=1)):
        return False, None
    return True, body


def cache_put(db: Database, key: str, now: datetime, body: Any) -> None:
    """Keep what was read (None: the record is not there) as of `now`."""
    db.execute(
        "insert into unfurl_cache (key, fetched_at, body) values (?, ?, ?) on conflict(key) "
        "do update set fetched_at = excluded.fetched_at, body = excluded.body",
        [key, iso(now), json.dumps(body, sort_keys=True, default=str)],
    )


# One lock per record key: two messages with the same link at once read it once.
_KEY_LOCKS: dict[str, threading.Lock] = {}
_KEY_LOCKS_GUARD = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    with _KEY_LOCKS_GUARD:
        if len(_KEY_LOCKS) > 10_000:
            _KEY_LOCKS.clear()  # a bound; a lock dropped while held only costs a second read
        return _KEY_LOCKS.setdefault(key, threading.Lock())


# --- what a card needs of a record -----------------------------------------------------------


def _person(user: Any) -> str | None:
    if not isinstance(user, Mapping):
        return None
    name = " ".join(str(p) for p in (user.get("firstName"), user.get("lastName")) if p)
    return name or user.get("email") or None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _address(record: Mapping[str, Any]) -> str:
    address = record.get("address")
    if isinstance(address, list):
        return ", ".join(str(a) for a in address if a)
    return str(address or "")


def record_facts(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a project, request or client card shows, from the record as Coperniq gives it."""
    phase = current_phase(record) or {}
    days = phase.get("timeInStageDays")
    status = record.get("status")
    if not isinstance(status, str) or not status:
        active = record.get("isActive")
        status = None if active is None else ("ACTIVE" if active else "INACTIVE")
    facts: dict[str, Any] = {
        "id": record.get("id"),
        "title": record.get("title"),
        "number": record.get("number"),
        "status": status,
        "address": _address(record),
        "phase": phase.get("name"),
        "days": int(days) if _number(days) is not None else None,
        "yellow_sla": sla_threshold(phase.get("yellowSla")),
        "red_sla": sla_threshold(phase.get("redSla")),
        "level": sla_level(phase),
        "value": _number(record.get("value")),
    }
    if kind == CLIENT.kind and isinstance(record.get("accountType"), str):
        facts["account_type"] = record["accountType"]
    return facts


def invoice_facts(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """What an invoice card shows: number, client, status, due date, its record, the amounts."""
    account = invoice.get("account") if isinstance(invoice.get("account"), Mapping) else {}
    record = invoice.get("record") if isinstance(invoice.get("record"), Mapping) else {}
    return {
        "id": invoice.get("id"),
        "number": invoice.get("uid"),
        "status": invoice.get("status"),
        "due_date": invoice.get("dueDate"),
        "client": account.get("title"),
        "account_id": account.get("id"),
        "record_id": record.get("id"),
        "record_number": record.get("uid"),
        "record_title": record.get("title"),
        "amount": _number(invoice.get("amount")),
        "amount_paid": _number(invoice.get("amountPaid")),
    }


def work_order_facts(wo: Mapping[str, Any]) -> dict[str, Any]:
    """A work order as the card's 'next work order' line needs it."""
    status = wo.get("status") if isinstance(wo.get("status"), Mapping) else {}
    return {
        "id": wo.get("id"),
        "title": wo.get("title"),
        "start": wo.get("startDate"),
        "assignee": _person(wo.get("assignee")),
        "status": status.get("label") or status.get("id"),
        "done": bool(wo.get("isCompleted")) or bool(wo.get("isArchived")),
    }


def local_work_orders(db: Database, kind: str, record_id: int) -> list[dict[str, Any]]:
    """The record's work orders in the local copy the work-order sweep keeps (may be empty)."""
    if kind == PROJECT.kind:
        where, params = (
            "(parent_type = ? and parent_id = ?) or project_id = ?",
            [kind, record_id, record_id],
        )
    else:
        where, params = "parent_type = ? and parent_id = ?", [kind, record_id]
    rows = db.execute(
        "select id, title, status, status_label, start_date, is_completed, raw from work_orders "
        f"where {where}",
        params,
    ).fetchall()
    out = []
    for wid, title, status, label, start, completed, raw in rows:
        try:
            detail = json.loads(raw) if raw else {}
        except ValueError:
            detail = {}
        out.append(
            {
                "id": wid,
                "title": title,
                "start": start,
                "assignee": _person((detail or {}).get("assignee")),
                "status": label or status,
                "done": bool(completed),
            }
        )
    return out


def _start(wo: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_instant(wo["start"]) if wo.get("start") else None
    except (TypeError, ValueError):
        return None


def next_work_order(
    work_orders: Iterable[Mapping[str, Any]], now: datetime, tz: ZoneInfo
) -> Mapping[str, Any] | None:
    """The open work order that comes next: the first starting today or later (local day);
    else the latest one already started and not done; else one with no start date."""
    day_start = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz)
    open_ = [w for w in work_orders if not w.get("done")]
    dated = sorted(
        ((s, w) for w in open_ if (s := _start(w)) is not None),
        key=lambda sw: (sw[0], str(sw[1].get("id"))),
    )
    upcoming = [w for s, w in dated if s >= day_start]
    if upcoming:
        return upcoming[0]
    if dated:
        return dated[-1][1]
    undated = [w for w in open_ if _start(w) is None]
    return undated[0] if undated else None


# --- reading, once per TTL ------------------------------------------------------------------


def _read(coperniq: CoperniqClient, db: Database, ref: LinkRef) -> dict[str, Any] | None:
    """What the card of `ref` needs, read from Coperniq; None when the record is not there."""
    if ref.kind == INVOICE:
        return {"invoice": invoice_facts(coperniq.invoices.get(ref.id))}
    resource = getattr(coperniq, TYPES[ref.kind].resource)
    facts: dict[str, Any] = {"record": record_facts(ref.kind, resource.get(ref.id))}
    # The sweep's local copy is free to read: only a record it has nothing for costs a call.
    if not local_work_orders(db, ref.kind, ref.id):
        try:
            listed = coperniq.work_orders.list_for(ref.kind, ref.id)
            facts["work_orders"] = [work_order_facts(w) for w in listed]
        except CoperniqError as exc:
            log.warning("Work orders of %s for its unfurl: %r", ref.key, exc)
            facts["work_orders"] = None
    return facts


def facts_for(
    coperniq: CoperniqClient, db: Database, ref: LinkRef, now: datetime
) -> dict[str, Any] | None:
    """The card facts of a link: from the cache when read within UNFURL_TTL, else one read.

    None when the record is not there (cached as such) or cannot be read now (not cached: the
    next message with the link tries again).
    """
    with _key_lock(ref.key):
        hit, body = cache_get(db, ref.key, now)
        if hit:
            return body
        try:
            body = _read(coperniq, db, ref)
        except NotFound:
            log.info("No unfurl: %s is not in Coperniq (or not visible to the key)", ref.key)
            body = None
        except CoperniqError as exc:
            log.warning("No unfurl for %s: %r", ref.key, exc)
            return None
        cache_put(db, ref.key, now, body)
        return body


def work_orders_of(db: Database, ref: LinkRef, facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The record's work orders: the local copy when it has any, else those cached with it."""
    local = local_work_orders(db, ref.kind, ref.id)
    return local or list(facts.get("work_orders") or [])


# --- money -----------------------------------------------------------------------------------


def money_allowed(db: Database | None, settings: Settings, channel: str | None) -> bool:
    """Amounts are shown in a DM, or in a channel subscribed to invoices (the env one counts)."""
    from jobs.subscriptions import INVOICES, subscriptions

    if not channel:
        return False  # a link still in the composer: where it will go is not known
    if channel.startswith("D"):
        return True
    return bool(subscriptions(db, settings, INVOICES, channel))


# --- the whole answer to one message ---------------------------------------------------------


def unfurls_for(
    urls: Iterable[str],
    channel: str | None,
    *,
    db: Database,
    coperniq: CoperniqClient,
    settings: Settings,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """chat.unfurl's `unfurls` for a message's links: URL -> attachment, for the first
    MAX_LINKS Coperniq links whose record is there; {} when there is nothing to unfurl.

    `channel` decides whether amounts are shown (None: not known, so not shown).
    """
    app_url = settings.coperniq_app_url
    chosen, left = pick_links(urls, app_url)
    if left:
        log.info(
            "Unfurling the first %d Coperniq links of a message; %d left as plain links",
            MAX_LINKS,
            len(left),
        )
    if not chosen:
        return {}
    money = money_allowed(db, settings, channel)
    tz = settings.timezone
    out: dict[str, dict[str, Any]] = {}
    for ref in chosen:
        facts = facts_for(coperniq, db, ref, now)
        if facts is None:
            continue
        try:
            out[ref.url] = _attachment(
                ref, facts, db=db, app_url=app_url, money=money, now=now, tz=tz
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            # One record Coperniq sent in a shape we do not expect must not cost the others.
            log.exception("Could not build the unfurl of %s", ref.key)
    return out


def _attachment(
    ref: LinkRef,
    facts: Mapping[str, Any],
    *,
    db: Database,
    app_url: str,
    money: bool,
    now: datetime,
    tz: ZoneInfo,
) -> dict[str, Any]:
    from bot.blocks.unfurl import invoice_attachment, record_attachment

    if ref.kind == INVOICE:
        invoice = {**facts["invoice"], "id": ref.id}
        today = now.astimezone(tz).date()
        return invoice_attachment(
            invoice, url=ref.url, app_url=app_url, money=money, today=today, tz=tz
        )
    wo = next_work_order(work_orders_of(db, ref, facts), now, tz)
    # The card links to the record's canonical page (a pasted link may carry ?tab=…).
    url = record_url(app_url, ref.kind, ref.id)
    record = {**facts["record"], "id": ref.id}
    return record_attachment(ref.kind, record, url=url, next_wo=wo, money=money, tz=tz)
