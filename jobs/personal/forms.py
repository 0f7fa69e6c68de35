"""DMs about forms assigned to me going past their yellow or red SLA (after each form-sla run).

Per person and form, `notify_sent` holds the highest level the person was told about (or, for a
form they took themselves, the level it had then: never a DM about your own action). A DM goes
out when the form's level is above that: once per level, again on escalation. When the form stops
alerting its rows are forgotten and its waiting DMs dropped, so alerting again later DMs again.

Which level a form had when someone took it is read from a memory of each alerting form's level
and since when (sync_state PERSONAL_LEVELS, kept by these runs): a take before the form reached
its current level was a take at a lower level, and the escalation is still told.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store import iso
from jobs import state
from jobs.digest import Item
from jobs.personal import outbox, render
from jobs.personal.quiet import deliver_at
from jobs.personal.recipients import Recipient, recipients
from jobs.sla.select import LEVEL_RANK

if TYPE_CHECKING:
    from sqlite_utils import Database

    from jobs.digest import Run, Snapshot

log = logging.getLogger(__name__)

JOB = "form-sla"
TAKE = "take"
PERSONAL_LEVELS = "personal.form_levels"  # sync_state: {item key: Seen as a dict}

Memory = dict[str, dict[str, Any]]  # key -> {"level", "since", "first", "project_id"}


def load_memory(db: Database) -> Memory | None:
    raw = state.sync_get(db, PERSONAL_LEVELS)
    return json.loads(raw) if raw else None


def advance(
    previous: Memory | None,
    items: Iterable[Item],
    covers: Callable[[int], bool],
    now: datetime,
) -> tuple[Memory, list[str]]:
    """The memory after this run's items, and the keys that stopped alerting (pure).

    `since` is when the form reached its level and `first` when it started alerting (the
    episode); both None for what the first run ever found (reached before anyone watched).
    A held item, or one gone from a project this run cannot speak for, keeps its memory.
    """
    fresh = None if previous is None else iso(now)
    before = previous or {}
    out: Memory = {}
    for item in items:
        old = before.get(item.key)
        pid = int(item.view.get("project_id") or 0)
        if old is not None and (item.held or old["level"] == item.level):
            out[item.key] = {**old, "project_id": pid}
        else:
            first = old["first"] if old is not None else fresh
            out[item.key] = {"level": item.level, "since": fresh, "first": first, "project_id": pid}
    gone = []
    for key, old in before.items():
        if key in out:
            continue
        if covers(int(old.get("project_id") or 0)):
            gone.append(key)
        else:
            out[key] = old
    return out, gone


def taken_at_level(act_at: datetime, seen: dict[str, Any]) -> bool:
    """Was a take at `act_at` made while the form was already at its current level?"""
    since = seen.get("since")
    return since is None or datetime.fromisoformat(since) <= act_at


def _covers(snapshot: Snapshot) -> Callable[[int], bool]:
    def covers(project_id: int) -> bool:
        row = state.AlertRow(JOB, "", "", None, None, None, None, None, {"project_id": project_id})
        return snapshot.covers(row)

    return covers


def after_run(run: Run, snapshot: Snapshot, snoozed: set[str]) -> dict[str, int]:
    """Queue the DMs this run's forms call for; what it did, by outcome."""
    db, now, settings = run.db, run.now, run.settings
    memory, gone = advance(load_memory(db), snapshot.items, _covers(snapshot), now)
    counts = {"queued": 0, "own": 0, "dropped": 0}
    with db.conn:
        db.execute("begin immediate")
        state.sync_set(db, PERSONAL_LEVELS, json.dumps(memory, sort_keys=True), now)
        if gone:
            keys = json.dumps(sorted(gone))
            db.execute(
                "delete from notify_sent where item_key in (select value from json_each(?))", [keys]
            )
            counts["dropped"] += outbox.drop_waiting(
                db,
                "the form is no longer past its SLA",
                "kind = 'form' and item_key in (select value from json_each(?))",
                [keys],
            )
    people: dict[int, list[Recipient]] = defaultdict(list)
    for r in recipients(db, settings, "forms"):
        people[r.coperniq_id].append(r)
    due = deliver_at(now, settings.timezone, settings.quiet_hours)
    for item in snapshot.items:
        uid = getattr(item.record, "assignee_id", None)
        if item.held or item.key in snoozed or uid not in people:
            continue
        for person in people[uid]:
            try:
                outcome = _tell(db, person, item, memory[item.key], due, now, settings.timezone)
            except Exception:
                log.exception("%s: the DM about %s to %s failed", JOB, item.key, person.slack_user)
                continue
            if outcome:
                counts[outcome] += 1
    counts["dropped"] += _drop_not_theirs(db, snapshot, people)
    return counts


def _tell(
    db: Database,
    person: Recipient,
    item: Item,
    seen: dict[str, Any],
    due: datetime,
    now: datetime,
    tz: Any,
) -> str | None:
    """Queue the DM about one form to one person if due: "queued", "own" (taken by them), None."""
    user, key, level = person.slack_user, item.key, item.level
    row = db.execute(
        "select level from notify_sent where slack_user = ? and item_key = ?", [user, key]
    ).fetchone()
    told = row[0] if row else None
    if told is not None and LEVEL_RANK.get(told, 0) >= LEVEL_RANK[level]:
        return None
    act = state.get_act(db, JOB, key, TAKE)
    own = (
        act is not None
        and act.state == state.DONE_ACT
        and act.slack_user == user
        and taken_at_level(act.when, seen)
    )
    with db.conn:
        db.execute("begin immediate")
        db.execute(
            "insert into notify_sent (slack_user, item_key, level, at) values (?, ?, ?, ?) "
            "on conflict(slack_user, item_key) do update set level = excluded.level, "
            "at = excluded.at",
            [user, key, level, iso(now)],
        )
        if own:
            return "own"
        # A lower level's DM still waiting for the quiet hours to end says less than this one.
        outbox.drop_waiting(
            db,
            f"superseded by the {level} DM",
            "kind = 'form' and slack_user = ? and item_key = ?",
            [user, key],
        )
        text, blocks = render.form_dm(item.view, told is not None, now, tz)
        outbox.enqueue(
            db,
            slack_user=user,
            kind="form",
            dedupe=f"form:{user}:{key}:{level}:{seen.get('first') or '-'}",
            item_key=key,
            text=text,
            blocks=blocks,
            due_at=due,
            now=now,
        )
    return "queued"


def _drop_not_theirs(db: Database, snapshot: Snapshot, people: dict[int, list[Recipient]]) -> int:
    """Drop waiting form DMs whose form has been reassigned to someone else since."""
    assignee = {i.key: getattr(i.record, "assignee_id", None) for i in snapshot.items if not i.held}
    owners = {r.slack_user: uid for uid, rs in people.items() for r in rs}
    dropped = 0
    for row_id, user, key in db.execute(
        "select id, slack_user, item_key from dm_outbox where kind = 'form' and sent_at is null "
        f"and (error is null or error like '{outbox.FAILED}%')"
    ).fetchall():
        if key in assignee and assignee[key] != owners.get(user):
            why = "the form is no longer assigned to you"
            dropped += outbox.drop_waiting(db, why, "id = ?", [row_id])
    return dropped
