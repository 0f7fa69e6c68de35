"""The DM outbox: DMs wait here for their time (quiet hours), then go out exactly once.

Sending is claim, post, record. A row is claimed by a compare-and-set on its `error` column
under `begin immediate` (error becomes "sending since <time>; try <n>"), so of two processes
flushing at once only one posts it; `sent_at` is written only once Slack accepted the DM.

The trade-off: a process that dies between the claim and Slack's answer leaves the row claimed.
After CLAIM_STALE another flush takes it over and posts it: a DM whose post never happened is
not lost, and one Slack accepted just before the crash is sent a second time. In normal
operation (no crash inside that second) every DM is sent once.

A failed post stays in the outbox ("try <n> failed: <why>") and the next flush tries it again,
up to MAX_TRIES; Slack errors that no retry fixes give up at once. Given-up and dropped rows
("gave up …", "dropped: …") are kept for a while so an admin can see what happened.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.store import iso
from jobs.slackpost import SlackPoster, slack_error, slack_failure

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlite_utils import Database

log = logging.getLogger(__name__)

MAX_TRIES = 5
CLAIM_STALE = timedelta(minutes=10)  # a claim older than this belongs to a process that died
KEEP = timedelta(days=30)  # sent, given-up and dropped rows are pruned after this
# Slack answers for a DM that no retry can fix: the person is gone or cannot be written to.
PERMANENT = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "cannot_dm_bot",
        "messages_tab_disabled",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)
SENDING, FAILED, GAVE_UP, DROPPED = "sending since ", "try ", "gave up", "dropped: "
_TRY = re.compile(r"try (\d+)")


@dataclass
class Flushed:
    """What one flush did."""

    sent: int = 0
    failed: int = 0  # left for the next flush
    gave_up: int = 0
    dropped: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sent} DM(s) sent, {self.failed} to retry, {self.gave_up} given up, "
            f"{self.dropped} dropped"
        )


def enqueue(
    db: Database,
    *,
    slack_user: str,
    kind: str,
    dedupe: str,
    item_key: str | None,
    text: str,
    blocks: list[dict[str, Any]],
    due_at: datetime,
    now: datetime,
) -> bool:
    """Queue one DM; False when one with the same dedupe key was queued before."""
    cur = db.execute(
        "insert into dm_outbox (slack_user, kind, dedupe, item_key, text, blocks, due_at, "
        "created_at) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict(dedupe) do nothing",
        [slack_user, kind, dedupe, item_key, text, json.dumps(blocks), iso(due_at), iso(now)],
    )
    return cur.rowcount == 1


def drop_waiting(db: Database, why: str, where: str, params: list[Any]) -> int:
    """Mark waiting (unsent, unclaimed, not given up) DMs matching `where` dropped: never sent."""
    cur = db.execute(
        "update dm_outbox set error = ? where sent_at is null "  # noqa: S608 - `where` is ours
        f"and (error is null or error like '{FAILED}%') and ({where})",
        [DROPPED + why, *params],
    )
    return cur.rowcount


def _tries(error: str | None) -> int:
    m = _TRY.search(error or "")
    return int(m.group(1)) if m else 0


def _claimable(error: str | None, now: datetime) -> bool:
    if error is None or error.startswith(FAILED):
        return True
    if error.startswith(SENDING):
        since = datetime.fromisoformat(error[len(SENDING) :].split(";")[0])
        return now - since >= CLAIM_STALE
    return False  # gave up or dropped


def _claim(db: Database, row_id: int, seen: str | None, now: datetime) -> str | None:
    """Claim one row whose error we read as `seen`: the claim text, or None when another won."""
    claim = f"{SENDING}{iso(now)}; try {_tries(seen) + 1}"
    db.execute("begin immediate")
    try:
        cur = db.execute(
            "update dm_outbox set error = ? where id = ? and sent_at is null and error is ?",
            [claim, row_id, seen],
        )
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise
    return claim if cur.rowcount == 1 else None


def _opted_out(db: Database, slack_user: str, kind: str) -> bool:
    """Has the person turned off what this DM is for since it was queued?"""
    row = db.execute(
        "select forms, morning, invoices from notify_prefs where slack_user = ?", [slack_user]
    ).fetchone()
    if row is None:
        return True
    forms, morning, invoices = (bool(v) for v in row)
    return not forms if kind == "form" else not (morning or invoices)


def flush(
    db: Database,
    slack: WebClient,
    now: datetime,
    *,
    poster: SlackPoster | None = None,
    check_stop: Callable[[], None] | None = None,
    limit: int = 200,
) -> Flushed:
    """Send every DM due by `now` (oldest first), each exactly once; failures wait for the next."""
    done = Flushed()
    poster = poster or SlackPoster(slack)
    rows = db.execute(
        "select id, slack_user, kind, text, blocks, error from dm_outbox where sent_at is null "
        f"and due_at <= ? and (error is null or error like '{FAILED}%' or error like '{SENDING}%') "
        "order by due_at, id limit ?",
        [iso(now), limit],
    ).fetchall()
    for row_id, slack_user, kind, text, blocks, error in rows:
        if not _claimable(error, now):
            continue
        if _opted_out(db, slack_user, kind):
            done.dropped += drop_waiting(
                db, "the person turned these notifications off", "id = ?", [row_id]
            )
            continue
        if check_stop is not None:
            check_stop()  # before the claim: a stopped process leaves the row as it was
        claim = _claim(db, row_id, error, now)
        if claim is None:
            continue  # another process took it
        tries = _tries(claim)
        try:
            poster.post(slack_user, text, json.loads(blocks or "[]"))
        except Exception as exc:
            code = slack_error(exc) if isinstance(exc, SlackApiError) else None
            why = slack_failure(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            if code in PERMANENT or tries >= MAX_TRIES:
                outcome = f"{GAVE_UP} after {tries} tr{'y' if tries == 1 else 'ies'}: {why}"
                done.gave_up += 1
                log.warning("DM %s to %s: %s", row_id, slack_user, outcome)
            else:
                outcome = f"{FAILED}{tries} failed: {why}"
                done.failed += 1
                log.warning("DM %s to %s failed (%s); retried next flush", row_id, slack_user, why)
            db.execute(
                "update dm_outbox set error = ? where id = ? and error = ?",
                [outcome, row_id, claim],
            )
            continue
        db.execute(
            "update dm_outbox set sent_at = ?, error = null where id = ? and error = ?",
            [iso(now), row_id, claim],
        )
        done.sent += 1
    return done


def prune(db: Database, now: datetime) -> None:
    """Forget rows done with (sent, given up, dropped) more than KEEP ago."""
    db.execute(
        "delete from dm_outbox where created_at < ? and (sent_at is not null "
        f"or error like '{GAVE_UP}%' or error like '{DROPPED}%')",
        [iso(now - KEEP)],
    )
