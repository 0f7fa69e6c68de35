"""Buttons and toggles on the App Home: Take it, the notification checkboxes, the clients in my
summary, and Refresh. Each answers by republishing the Home (with a line saying what happened)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import home
from bot.blocks.home import FORMS, INVOICES, MORNING
from handlers.actions.cards import Click, quote
from handlers.actions.forms import take_form
from jobs import state

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

GONE_FROM_ALERTS = (
    "That form is no longer among the unassigned forms past SLA (done, taken, or the project "
    "moved on). Here is the list as it is now."
)


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _republish(
    user: str,
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
    notice: str | None = None,
) -> None:
    identity, admin = home.who_opened(store.db, coperniq, client, settings, user, now)
    home.publish(
        client, store.db, settings, coperniq.budget, identity, admin=admin, now=now, notice=notice
    )


def _home_click(db: Any, user: str, key: object) -> Click | None:
    """The Home's Take it as a click on the form's newest card (its other cards follow)."""
    from jobs.registry import JOBS

    rows = [
        r
        for r in state.open_alerts(db, home.SLA_JOB)
        if r.item_key == key and r.channel and r.message_ts
    ]
    if not rows:
        return None
    row = max(rows, key=lambda r: r.last_alerted_at or "")
    if not isinstance(row.summary.get("form_id"), int):
        return None
    job = JOBS[home.SLA_JOB]
    return Click(str(row.channel), str(row.message_ts), None, user, row.item_key, job, row.summary)


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
    """Take it on the Home: exactly what the alert card's Take it does, then the Home again."""
    ack()
    user, now = _user(body), clock()
    if not user:
        return
    click = _home_click(store.db, user, action.get("value"))
    if click is None:
        _republish(user, client, settings, store, coperniq, now, GONE_FROM_ALERTS)
        return
    said: list[str] = []
    took = take_form(
        click,
        say=said.append,
        client=client,
        settings=settings,
        store=store,
        coperniq=coperniq,
        now=now,
    )
    if took and not said:
        said.append(
            f"✅ {quote(click.item.get('form_name'))} is yours in Coperniq; its alert cards say so."
        )
    _republish(user, client, settings, store, coperniq, now, " ".join(said) or None)


def notify(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """A notification checkbox changed: save all of them as they are ticked now."""
    ack()
    user, now = _user(body), clock()
    if not user:
        return
    chosen = {o.get("value") for o in action.get("selected_options") or []}
    identity, admin = home.who_opened(store.db, coperniq, client, settings, user, now)
    person = identity.person
    if person is not None:
        changes = {"forms": FORMS in chosen, "morning": MORNING in chosen}
        # Only billing roles see the invoices box: anyone else's ticks cannot change it.
        if person.may("record_payment"):
            changes["invoices"] = INVOICES in chosen
        home.save_prefs(store.db, user, person, now, **changes)
    home.publish(client, store.db, settings, coperniq.budget, identity, admin=admin, now=now)


def clients(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """The clients in my morning summary changed (billing roles only; none chosen: every one)."""
    ack()
    user, now = _user(body), clock()
    if not user:
        return
    titles = [
        str(o.get("value"))
        for o in action.get("selected_options") or []
        if isinstance(o.get("value"), str) and o["value"].strip()
    ]
    identity, admin = home.who_opened(store.db, coperniq, client, settings, user, now)
    person = identity.person
    if person is not None and person.may("record_payment"):
        home.save_prefs(store.db, user, person, now, clients=titles[: home.CLIENTS_MAX])
    home.publish(client, store.db, settings, coperniq.budget, identity, admin=admin, now=now)


def refresh(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Refresh: re-read my most urgent projects' forms (at most 3 Coperniq calls), republish."""
    ack()
    user, now = _user(body), clock()
    if not user:
        return
    identity, admin = home.who_opened(store.db, coperniq, client, settings, user, now)
    notice = None
    if identity.person is not None:
        read, failed = home.refresh_forms(store.db, coperniq, settings, identity.person, now)
        notice = home.refresh_words(read, failed)
    home.publish(
        client, store.db, settings, coperniq.budget, identity, admin=admin, now=now, notice=notice
    )
