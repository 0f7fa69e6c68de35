"""A form past SLA, from its card: Take it (become its assignee) and Nudge (its assignee).

Both write to Coperniq as the clicker, so both need a link to a Coperniq user. Each is claimed in
the store before the write (alert_acts), so two people pressing Take it at once make one PATCH:
one wins and the card says who, the other is told. A replayed or double click finds the claim and
writes nothing. A Coperniq failure releases the claim, leaves the card as it was and tells the
clicker what failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.coperniq.errors import CoperniqError
from bot.coperniq.resources.activity import mention
from bot.people import identify, may
from bot.store import audit
from handlers.actions.cards import (
    Click,
    card_line,
    day_stamp,
    quote,
    read_click,
    refused,
    show_act,
    stamp,
    tell,
    tell_unreadable,
)
from handlers.views.common import why_unsure
from jobs import state

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.people import Person
    from bot.store import Store

log = logging.getLogger(__name__)

TAKE, NUDGE = "take", "nudge"
# One nudge per form in this long, whoever clicks: enough to get noticed, not enough to nag.
NUDGE_COOLDOWN = timedelta(hours=4)


def _form_click(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, store: Store
) -> Click | None:
    ack()
    click = read_click(store.db, body, action)
    if isinstance(click, str):
        tell_unreadable(client, body, click)
        return None
    if click.kind != "form" or not isinstance(click.item.get("form_id"), int):
        tell(client, click, "That button belongs to a form alert, and this item isn't one.")
        return None
    return click


def _linked(
    user: str,
    say: Callable[[str], None],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
    doing: str,
) -> Person | None:
    identity = identify(
        store.db,
        coperniq.interactive,
        client,
        user,
        now,
        payment_roles=settings.payment_roles,
    )
    if not may(identity.person, "write"):
        say(refused(identity, doing, settings))
        return None
    return identity.person


def _held_by(held: state.Act, user: str, settings: Settings, what: str) -> str:
    when = stamp(held.when, settings.timezone)
    if held.state == state.PENDING_ACT:
        return f"<@{held.slack_user}> is doing that right now ({what})."
    if held.slack_user == user:
        return f"You already did that, {when} ({what})."
    return f"<@{held.slack_user}> already did that, {when} ({what})."


def take(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Take it on a card: the linked clicker becomes the form's assignee."""
    click = _form_click(ack, body, action, client, store)
    if click is None:
        return
    take_form(
        click,
        say=lambda text: tell(client, click, text),
        client=client,
        settings=settings,
        store=store,
        coperniq=coperniq,
        now=clock(),
    )


def take_form(
    click: Click,
    *,
    say: Callable[[str], None],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
) -> bool:
    """Take it, wherever it was pressed (a card, the App Home): PATCH /forms/{id} assigneeId once.

    `click` names the item and a card showing it (its other cards are found from the open
    alerts); `say` tells the clicker. True when the form is now theirs by this click.
    """
    person = _linked(click.user, say, client, settings, store, coperniq, now, "take this form")
    if person is None:
        return False
    db, item, form_id = store.db, click.item, click.item["form_id"]
    held = state.claim_act(
        db, click.job.id, click.key, TAKE, slack_user=click.user,
        coperniq_user=person.coperniq_id, now=now,
    )  # fmt: skip
    if held is not None:
        say(_held_by(held, click.user, settings, "taking this form") + _reassign_hint())
        return False
    try:
        coperniq.interactive.forms.update(form_id, {"assigneeId": person.coperniq_id})
    except CoperniqError as exc:
        if not (exc.outcome_unknown and _assigned_to(coperniq, form_id, person.coperniq_id)):
            state.release_act(db, click.job.id, click.key, TAKE, click.user)
            _audit(db, click, "take_form", "form", form_id, "failed", person, now, exc)
            say(_failed("assign the form to you", exc))
            return False
    line = card_line(
        TAKE, f"Taken by <@{click.user}> · {stamp(now, settings.timezone)}", click.user, now
    )
    # Shown on the form's later cards while it stays theirs; reassigned in Coperniq, it is not.
    line["while"] = {"assignee_id": person.coperniq_id}
    state.finish_act(
        db, click.job.id, click.key, TAKE, now,
        {"card": line, "form_id": form_id, "coperniq_user": person.coperniq_id},
    )  # fmt: skip
    _audit(db, click, "take_form", "form", form_id, "ok", person, now)
    _cache_assignee(db, item.get("project_id"), form_id, person.coperniq_id)
    if not show_act(db, client, click, line, now):
        say(f"Done: {quote(item.get('form_name'))} is yours in Coperniq.")
    return True


def _cache_assignee(db: Any, project_id: Any, form_id: int, user_id: int) -> None:
    """Write the new assignee into the cached form list: until the list is re-read (hours), the
    next digest's card would otherwise show the form unassigned and drop the "Taken by" line, and
    the taker's App Home would not list it."""
    if not isinstance(project_id, int):
        return
    row = db.execute(
        "select first_name, last_name from coperniq_users where id = ?", [user_id]
    ).fetchone()
    assignee = {"id": user_id, "firstName": row[0] if row else None}
    assignee["lastName"] = row[1] if row else None
    db.execute("begin immediate")
    try:
        cached = db.execute(
            "select forms from form_cache where project_id = ?", [project_id]
        ).fetchone()
        forms = json.loads(cached[0]) if cached and cached[0] else None
        if isinstance(forms, list):
            for form in forms:
                if isinstance(form, dict) and form.get("id") == form_id:
                    form["assignee"], form["assigneeId"] = assignee, user_id
            db.execute(
                "update form_cache set forms = ? where project_id = ?",
                [json.dumps(forms, sort_keys=True, default=str), project_id],
            )
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise


def _reassign_hint() -> str:
    return " To hand the form to someone else, reassign it in Coperniq."


def _assigned_to(coperniq: CoperniqClient, form_id: int, user_id: int) -> bool:
    """After a PATCH whose answer was lost: did it land? (False when that cannot be told.)"""
    try:
        form = coperniq.interactive.forms.get(form_id)
    except CoperniqError:
        return False
    assignee = form.get("assignee") or {}
    return form.get("assigneeId") == user_id or assignee.get("id") == user_id


def _failed(what: str, exc: CoperniqError) -> str:
    if exc.outcome_unknown:
        return (
            f"{why_unsure(exc)}, so I can't tell whether I managed to {what}. "
            "The card is unchanged; check the form in Coperniq, then try again if needed."
        )
    return f"I couldn't {what}: {exc.user_message} Nothing changed; try again in a moment."


def _audit(
    db: Any,
    click: Click,
    action: str,
    record_type: str,
    record_id: int,
    outcome: str,
    person: Person,
    now: datetime,
    exc: CoperniqError | None = None,
    **detail: Any,
) -> None:
    detail = {"item": click.key, **detail}
    if exc is not None:
        detail["error"] = type(exc).__name__
    audit(
        db,
        slack_user=click.user,
        action=action,
        record_type=record_type,
        record_id=record_id,
        outcome=outcome,
        detail=detail,
        now=now,
        coperniq_user=person.coperniq_id,
    )


# --- Nudge ------------------------------------------------------------------------------------


def _assignee(db: Any, click: Click) -> tuple[int, str] | None:
    """Who the form's assignee is, as far as the bot knows: a take since the card, else the card."""
    took = state.get_act(db, click.job.id, click.key, TAKE)
    if took is not None and took.state == state.DONE_ACT and took.coperniq_user is not None:
        uid = took.coperniq_user
    else:
        uid = click.item.get("assignee_id")
    if not isinstance(uid, int):
        return None
    row = db.execute(
        "select first_name, last_name, email from coperniq_users where id = ?", [uid]
    ).fetchone()
    name = " ".join(f"{row[0] or ''} {row[1] or ''}".split()) if row else ""
    if not name and uid == click.item.get("assignee_id"):
        name = str(click.item.get("assignee") or "")
    return uid, name or (row[2] if row else "") or f"user {uid}"


def nudge_note(item: dict[str, Any], assignee: tuple[int, str], by: Person) -> str:
    """The project note: mentions the assignee (Coperniq notifies them) and says who nudged."""
    uid, name = assignee
    days = int(item.get("days") or 0)
    sla = item.get("red_sla") if item.get("level") == "red" else item.get("yellow_sla")
    past = f", past its {item.get('level')} SLA of {sla} days" if sla else ", past its SLA"
    return (
        f"{mention(name, uid)} the form “{_one_line(item.get('form_name'))}” is still open: the "
        f"project has been in {_one_line(item.get('phase'))} for {days} "
        f"day{'s' if days != 1 else ''}{past}. Nudged from Slack by {_one_line(by.name)}."
    )


def _one_line(text: Any, limit: int = 120) -> str:
    return " ".join(str(text or "").split())[:limit]


def _slack_user_of(db: Any, client: WebClient, coperniq_user: int) -> str | None:
    """The Slack user linked to a Coperniq user: an admin's link, else their email in Slack."""
    row = db.execute(
        "select slack_user from slack_links where coperniq_user_id = ? order by linked_at desc",
        [coperniq_user],
    ).fetchone()
    if row:
        return str(row[0])
    row = db.execute("select email from coperniq_users where id = ?", [coperniq_user]).fetchone()
    if not row or not row[0]:
        return None
    try:
        found = client.users_lookupByEmail(email=row[0])["user"]
    except SlackApiError as exc:
        log.info("No Slack user for a Coperniq user: %s", (exc.response or {}).get("error"))
        return None
    user = str(found.get("id") or "")
    unlinked = db.execute(
        "select 1 from slack_links where slack_user = ? and coperniq_user_id is null", [user]
    ).fetchone()
    return user or None if not unlinked else None


def _dm(client: WebClient, slack_user: str, click: Click, by: str, settings: Settings) -> bool:
    item = click.item
    try:
        link = client.chat_getPermalink(channel=click.channel, message_ts=click.ts)["permalink"]
    except SlackApiError:
        link = None
    where = f" (<{link}|see the alert>)" if link else ""
    text = (
        f"👋 <@{by}> nudged you about the form *{quote(item.get('form_name'))}* on "
        f"#{quote(item.get('project_number'), 20)} {quote(item.get('project_title'))}: "
        f"{quote(item.get('phase'))} for {item.get('days')} days, past its SLA{where}. "
        f"<{item.get('url')}|Open in Coperniq>"
    )
    try:
        client.chat_postMessage(channel=slack_user, text=text, unfurl_links=False)
    except SlackApiError as exc:
        log.info("The nudge DM failed: %s", (exc.response or {}).get("error"))
        return False
    return True


def nudge(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Nudge: a project note mentioning the assignee, and a DM to them when linked in Slack."""
    click = _form_click(ack, body, action, client, store)
    if click is None:
        return
    now = clock()
    person = _linked(
        click.user,
        lambda text: tell(client, click, text),
        client,
        settings,
        store,
        coperniq,
        now,
        "nudge from Slack",
    )
    if person is None:
        return
    db, item = store.db, click.item
    assignee = _assignee(db, click)
    if assignee is None:
        tell(
            client,
            click,
            "Nobody is assigned to this form, so there is no one to nudge. "
            "Press Take it, or assign it in Coperniq.",
        )
        return
    held = state.claim_act(
        db, click.job.id, click.key, NUDGE, slack_user=click.user,
        coperniq_user=person.coperniq_id, now=now,
        replaces=lambda act: now - act.when >= NUDGE_COOLDOWN,
    )  # fmt: skip
    if held is not None:
        again = day_stamp(held.when + NUDGE_COOLDOWN, settings.timezone)
        tell(
            client,
            click,
            _held_by(held, click.user, settings, "nudging this form's assignee")
            + f" One nudge at a time: the next can go after {again}.",
        )
        return
    body_text = nudge_note(item, assignee, person)
    project_id = item.get("project_id")
    try:
        note = coperniq.interactive.notes.create("project", project_id, body_text)
    except CoperniqError as exc:
        if not (exc.outcome_unknown and _note_exists(coperniq, project_id, body_text)):
            state.release_act(db, click.job.id, click.key, NUDGE, click.user)
            _audit(db, click, "nudge", "project", project_id, "failed", person, now, exc)
            tell(client, click, _failed("post the nudge on the project", exc))
            return
        note = {}
    slack_user = _slack_user_of(db, client, assignee[0])
    dm = slack_user is not None and slack_user != click.user
    dm = dm and _dm(client, slack_user, click, click.user, settings)  # type: ignore[arg-type]
    who = f"<@{slack_user}>" if dm else quote(assignee[1])
    line = card_line(
        NUDGE,
        f"{who} nudged by <@{click.user}> · {stamp(now, settings.timezone)}",
        click.user,
        now,
    )
    state.finish_act(
        db, click.job.id, click.key, NUDGE, now,
        {"card": line, "note_id": note.get("id"), "assignee": assignee[0], "dm": dm},
    )  # fmt: skip
    _audit(
        db, click, "nudge", "project", project_id, "ok", person, now,
        assignee=assignee[0], note_id=note.get("id"), dm=bool(dm),
    )  # fmt: skip
    show_act(db, client, click, line, now)
    if not dm:
        tell(
            client,
            click,
            f"Nudged {quote(assignee[1])} with a note on the project in Coperniq (they aren't "
            "linked to anyone here, so no Slack message went to them).",
        )


def _note_exists(coperniq: CoperniqClient, project_id: Any, body: str) -> bool:
    try:
        return any(
            n.get("body") == body for n in coperniq.interactive.notes.list("project", project_id)
        )
    except CoperniqError:
        return False
