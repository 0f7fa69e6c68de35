"""Who opted in to personal notifications, as which Coperniq user, with which role (store only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.people import Person

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings

COLUMNS = ("forms", "morning", "invoices")


@dataclass(frozen=True)
class Recipient:
    """One person's notification settings and their Coperniq user."""

    slack_user: str
    coperniq_id: int
    forms: bool
    morning: bool
    invoices: bool
    clients: tuple[str, ...]  # client (account) titles; empty: every client
    person: Person | None  # from the cached Coperniq directory; None when not in it

    def may(self, action: str) -> bool:
        return self.person is not None and self.person.may(action)

    def wants_client(self, title: str) -> bool:
        if not self.clients:
            return True
        return _norm(title) in {_norm(c) for c in self.clients}


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _clients(raw: str | None) -> tuple[str, ...]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return ()
    return (
        tuple(str(c) for c in value if isinstance(c, str) and c.strip())
        if isinstance(value, list)
        else ()
    )


def recipients(db: Database, settings: Settings, *wanted: str) -> list[Recipient]:
    """People with any of the `wanted` notify_prefs columns on and a Coperniq user.

    The user is the one an admin linked by hand when there is such a link (an explicit "no link"
    means nobody), else the one saved with the settings (the App Home saves the linked user).
    """
    if not wanted or any(c not in COLUMNS for c in wanted):
        raise ValueError(f"unknown notify_prefs columns {wanted!r}")
    where = " or ".join(f"p.{c} = 1" for c in wanted)
    rows = db.execute(
        "select p.slack_user, p.coperniq_user_id, p.forms, p.morning, p.invoices, p.clients, "
        "l.slack_user is not null, l.coperniq_user_id, u.email, u.first_name, u.last_name, "
        "u.role_name from notify_prefs p left join slack_links l on l.slack_user = p.slack_user "
        "left join coperniq_users u on u.id = "
        "(case when l.slack_user is not null then l.coperniq_user_id else p.coperniq_user_id end) "
        f"where {where} order by p.slack_user"
    ).fetchall()
    out = []
    for slack_user, saved, forms, morning, invoices, clients, overridden, linked, *user in rows:
        uid = linked if overridden else saved
        if not isinstance(uid, int):
            continue  # no link: nothing can be said about "my" forms
        email, first, last, role = user
        person = None
        if email is not None:
            name = " ".join(f"{first or ''} {last or ''}".split()) or email
            person = Person(uid, name, email, role, "prefs", tuple(settings.payment_roles))
        out.append(
            Recipient(
                slack_user=slack_user,
                coperniq_id=uid,
                forms=bool(forms),
                morning=bool(morning),
                invoices=bool(invoices),
                clients=_clients(clients),
                person=person,
            )
        )
    return out
