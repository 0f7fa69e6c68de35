"""The morning cards: one DM message per work order starting today, in start order, under a header.

Queued in `wo_cards` (ts null, channel = the Slack user until posted) at MORNING_DIGEST_CRON for
every linked person with work orders starting today in BOT_TIMEZONE; posted at once, or when the
quiet hours end (the scheduler flushes every few minutes). A row is claimed (posted_at set where
it was null) before its post, so two processes never post one card twice; once posted it carries
the DM channel and ts, and `refresh` updates it in place whenever its work order changes.

Who is linked: an admin's link (`slack_links`, a null user there means "nobody"), else the user
saved with the App Home settings (`notify_prefs`), else the one the App Home last identified
(`home_views`). Cards are the day's work, not a notification one opts in to.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.blocks.workorder_card import CardView, card_blocks, card_text, header
from bot.records import record_url
from bot.store import iso
from jobs import state
from jobs.personal.quiet import deliver_at
from jobs.times import parse_instant

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings
    from jobs.slackpost import SlackPoster

log = logging.getLogger(__name__)

HEADER = "workorders.header:{user}:{day}"


def linked_people(db: Database) -> dict[str, int]:
    """Slack user -> Coperniq user id, for everyone linked (see the module docstring)."""
    out: dict[str, int] = {}
    for user, uid in db.execute(
        "select slack_user, coperniq_user_id from home_views where coperniq_user_id is not null"
    ).fetchall():
        out[user] = int(uid)
    for user, uid in db.execute(
        "select slack_user, coperniq_user_id from notify_prefs where coperniq_user_id is not null"
    ).fetchall():
        out[user] = int(uid)
    for user, uid in db.execute("select slack_user, coperniq_user_id from slack_links").fetchall():
        if uid is None:
            out.pop(user, None)
        else:
            out[user] = int(uid)
    return out


def local_day(value: str | None, tz: ZoneInfo) -> str | None:
    if not value:
        return None
    try:
        return parse_instant(value).astimezone(tz).date().isoformat()
    except ValueError:
        return None


def todays(db: Database, uid: int, day: str, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The person's work orders starting on `day` (local), in start order (store only)."""
    rows = [
        dict(zip(("id", "start_date", "raw"), r, strict=True))
        for r in db.execute(
            "select id, start_date, raw from work_orders where assignee_id = ? "
            "and start_date is not null",
            [uid],
        ).fetchall()
    ]
    out = []
    for r in rows:
        raw = json.loads(r["raw"] or "{}")
        if raw.get("isArchived") or local_day(r["start_date"], tz) != day:
            continue
        out.append(r)
    out.sort(key=lambda r: (parse_instant(r["start_date"]), r["id"]))
    return out


def project_phone(db: Database, project_id: int | None) -> str | None:
    """The client's phone from the local project copy (no Coperniq call), if it has one."""
    if project_id is None:
        return None
    row = db.execute("select raw from projects where id = ?", [project_id]).fetchone()
    if row and row[0]:
        try:
            phone = json.loads(row[0]).get("primaryPhone")
        except ValueError:
            phone = None
        if isinstance(phone, str) and phone.strip():
            return phone
    cached = state.sync_get(db, f"workorders.phone:{project_id}")
    return cached or None


def view_of(db: Database, work_order_id: int, app_url: str, note: str | None = None) -> CardView:
    """What the card of a stored work order shows."""
    row = db.execute(
        "select raw, project_id, status, status_label, parent_type, parent_id from work_orders "
        "where id = ?",
        [work_order_id],
    ).fetchone()
    raw = json.loads(row[0] or "{}") if row else {}
    project = raw.get("project") if isinstance(raw.get("project"), dict) else {}
    address = project.get("address")
    address = (
        ", ".join(a for a in address if isinstance(a, str))
        if isinstance(address, list)
        else address
    )
    start, end = raw.get("startDate"), raw.get("endDate")
    project_id = row[1] if row else None
    url = None
    if row and row[4] and row[5]:
        url = record_url(app_url, row[4], row[5])
    return CardView(
        work_order_id=work_order_id,
        title=str(raw.get("title") or f"Work order {work_order_id}"),
        number=raw.get("uid"),
        project_id=project_id,
        project_title=project.get("title"),
        address=address or None,
        phone=project_phone(db, project_id),
        start=parse_instant(start) if start else None,
        end=parse_instant(end) if end else None,
        status=row[2] if row else None,
        status_label=row[3] if row else None,
        history=raw.get("statuses") if isinstance(raw.get("statuses"), list) else [],
        url=url,
        note=note,
    )


@dataclass
class Queued:
    people: int = 0
    cards: int = 0


def queue(db: Database, settings: Settings, now: datetime) -> Queued:
    """Queue today's cards for every linked person with work orders starting today (store only)."""
    tz = settings.timezone
    day = now.astimezone(tz).date().isoformat()
    done = Queued()
    for user, uid in sorted(linked_people(db).items()):
        rows = todays(db, uid, day, tz)
        if not rows:
            continue
        done.people += 1
        for r in rows:
            cur = db.execute(
                "insert into wo_cards (work_order_id, channel, ts, slack_user, day, posted_at, "
                "updated_at) select ?, ?, null, ?, ?, null, ? where not exists (select 1 from "
                "wo_cards where work_order_id = ? and slack_user = ? and day = ?)",
                [r["id"], user, user, day, iso(now), r["id"], user, day],
            )
            done.cards += cur.rowcount
    return done


def flush(db: Database, settings: Settings, poster: SlackPoster, now: datetime) -> int:
    """Post today's waiting cards, header first, unless it is quiet now; how many were posted."""
    tz = settings.timezone
    if deliver_at(now, tz, settings.quiet_hours) > now:
        return 0  # quiet hours: they wait
    day = now.astimezone(tz).date().isoformat()
    # Yesterday's cards that never went out are not sent a day late.
    db.execute("delete from wo_cards where ts is null and posted_at is null and day < ?", [day])
    waiting: dict[str, list[int]] = {}
    for wo_id, user in db.execute(
        "select work_order_id, slack_user from wo_cards where ts is null and posted_at is null "
        "and day = ?",
        [day],
    ).fetchall():
        waiting.setdefault(user, []).append(int(wo_id))
    posted = 0
    for user, ids in sorted(waiting.items()):
        views = [view_of(db, i, settings.coperniq_app_url) for i in ids]
        views.sort(key=lambda v: (v.start or now, v.work_order_id))
        try:
            _header(db, poster, user, day, len(views), now, tz)
        except Exception:
            log.exception("work-order cards: the header for %s failed; tried again later", user)
            continue
        for view in views:
            posted += _post_card(db, poster, user, day, view, now, tz)
    return posted


def _header(
    db: Database, poster: SlackPoster, user: str, day: str, count: int, now: datetime, tz: ZoneInfo
) -> None:
    key = HEADER.format(user=user, day=day)
    if state.sync_get(db, key):
        return
    text, blocks = header(count, now, tz)
    ts = poster.post(user, text, blocks)
    state.sync_set(db, key, ts, now)


def _post_card(
    db: Database,
    poster: SlackPoster,
    user: str,
    day: str,
    view: CardView,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    claim = db.execute(
        "update wo_cards set posted_at = ? where work_order_id = ? and channel = ? "
        "and posted_at is null",
        [iso(now), view.work_order_id, user],
    )
    if claim.rowcount != 1:
        return 0  # another process has it
    try:
        resp = poster.client.chat_postMessage(
            channel=user,
            text=card_text(view, tz),
            blocks=card_blocks(view, tz),
            unfurl_links=False,
            unfurl_media=False,
        )
    except Exception:
        log.exception(
            "work-order card %s for %s failed; tried again later", view.work_order_id, user
        )
        db.execute(
            "update wo_cards set posted_at = null where work_order_id = ? and channel = ?",
            [view.work_order_id, user],
        )
        return 0
    channel, ts = str(resp["channel"]), str(resp["ts"])
    with db.conn:
        db.execute("begin immediate")
        # A card of an earlier day in the same DM is replaced: the newest one is kept current.
        db.execute(
            "delete from wo_cards where work_order_id = ? and channel = ?",
            [view.work_order_id, channel],
        )
        db.execute(
            "update wo_cards set channel = ?, ts = ?, updated_at = ? where work_order_id = ? "
            "and channel = ?",
            [channel, ts, iso(now), view.work_order_id, user],
        )
    return 1


def cards_of(db: Database, work_order_id: int) -> list[tuple[str, str]]:
    """(channel, ts) of every posted card of a work order."""
    return [
        (str(c), str(t))
        for c, t in db.execute(
            "select channel, ts from wo_cards where work_order_id = ? and ts is not null",
            [work_order_id],
        ).fetchall()
    ]


def refresh(
    db: Database,
    settings: Settings,
    poster: SlackPoster,
    work_order_id: int,
    now: datetime,
    *,
    note: str | None = None,
) -> int:
    """chat.update every card of the work order from the stored row; how many were updated."""
    view = view_of(db, work_order_id, settings.coperniq_app_url, note)
    tz = settings.timezone
    done = 0
    for channel, ts in cards_of(db, work_order_id):
        try:
            poster.update(channel, ts, card_text(view, tz), card_blocks(view, tz))
        except Exception:
            log.exception("updating the card of work order %s in %s failed", work_order_id, channel)
            continue
        db.execute(
            "update wo_cards set updated_at = ? where work_order_id = ? and channel = ?",
            [iso(now), work_order_id, channel],
        )
        done += 1
    return done


def posted_today(db: Database, now: datetime, tz: ZoneInfo) -> bool:
    """Did any card go out today (the light daytime sweep runs only then)?"""
    day = now.astimezone(tz).date().isoformat()
    row = db.execute(
        "select 1 from wo_cards where day = ? and ts is not null limit 1", [day]
    ).fetchone()
    return row is not None
