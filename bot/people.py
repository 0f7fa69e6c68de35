"""Who a Slack user is in Coperniq, and what they may do there.

A Slack user is linked to a Coperniq user by email: Slack's `users.info` gives the profile email
(scopes `users:read` and `users:read.email`), matched case-insensitively against the Coperniq user
directory (`GET /users`, one plain list, not paged). The directory is cached in the store
(`coperniq_users`) and refreshed at most once a day however many people click; an email not in the
cache does not refetch it. A Slack workspace admin may override a link (`slack_links`): a row with
a Coperniq user id links that person whatever their email; a row without one is an explicit "no
link", so an unlinked email match stays unlinked.

Every write from Slack goes to Coperniq with one API key, so it says who made it: `author_of` gives
the linked Coperniq user's name, else the Slack profile's name, and `attribution` the words
("from Slack by Jane Doe") that flows put where people read them in Coperniq.

Permissions come from Coperniq, not Slack: "write" (take a form, change things as yourself) needs
a link; "record_payment" also needs a Coperniq role named in PAYMENT_ROLES (unset: nobody).
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.blocks.common import slack_text
from bot.coperniq.errors import CoperniqError
from bot.store import audit, iso

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlite_utils import Database

    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

# What a person may do, with the words whoami uses for it.
ACTIONS: dict[str, str] = {
    "write": "take forms and make changes in Coperniq as yourself",
    "record_payment": "record invoice payments",
}
DIRECTORY_MAX_AGE = timedelta(hours=24)
# `link` with an email the cache does not know refetches a cache older than this, once.
LINK_REFRESH_AGE = timedelta(hours=1)
# After a failed refresh, the next try waits this long (the stale cache is used meanwhile).
RETRY_AFTER_FAILURE = timedelta(minutes=15)
SYNC_NAME = "coperniq-users"

# Why a Slack user has no link (Identity.reason).
UNLINKED = "unlinked"  # an admin removed the link
NO_EMAIL = "no_email"  # Slack gave no email (none in the profile, or the scope is missing)
NO_MATCH = "no_match"  # no Coperniq user has that email
GONE = "gone"  # linked by an admin to a Coperniq user no longer in the directory
SLACK_ERROR = "slack_error"  # Slack's users.info failed

# One refresh at a time in this process (others wait, then read the fresh cache); across
# processes a compare-and-set on the sync_state row keeps a second one from fetching too.
_refresh_lock = threading.Lock()


class PeopleError(Exception):
    """A refusal or failure with a sentence for the person (already safe mrkdwn)."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class Person:
    """A Slack user's Coperniq user, and how the two were linked ("email" or "override")."""

    coperniq_id: int
    name: str
    email: str
    role: str | None
    linked: str
    payment_roles: tuple[str, ...] = ()

    def may(self, action: str) -> bool:
        """Whether this person may do `action` (a key of ACTIONS)."""
        if action == "write":
            return True
        if action == "record_payment":
            allowed = {r.casefold() for r in self.payment_roles}
            return self.role is not None and self.role.casefold() in allowed
        raise ValueError(f"unknown action {action!r}")


@dataclass(frozen=True)
class Identity:
    """What the bot knows of a Slack user: the Person, or why there is none."""

    slack_user: str
    person: Person | None
    reason: str | None = None  # how linked ("email", "override"), else why not (UNLINKED, ...)
    slack_email: str | None = None
    detail: str | None = None  # a sentence for the person when Slack or Coperniq failed


def may(person: Person | None, action: str) -> bool:
    """Person.may, and nothing for someone without a link."""
    return person is not None and person.may(action)


# --- the Coperniq user directory -------------------------------------------------------------


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _sync_row(db: Database) -> tuple[str | None, str | None]:
    row = db.execute(
        "select value, updated_at from sync_state where name = ?", [SYNC_NAME]
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def directory_fetched_at(db: Database) -> datetime | None:
    """When the directory was last fetched successfully (None: never)."""
    return _parse_time(_sync_row(db)[0])


def _claim_refresh(db: Database, seen_attempt: str | None, now: datetime) -> bool:
    # Compare-and-set on the last attempt's time: of two processes, only one wins.
    if seen_attempt is None:
        cur = db.execute(
            "insert or ignore into sync_state (name, value, updated_at) values (?, ?, ?)",
            [SYNC_NAME, None, iso(now)],
        )
    else:
        cur = db.execute(
            "update sync_state set updated_at = ? where name = ? and updated_at = ?",
            [iso(now), SYNC_NAME, seen_attempt],
        )
    return bool(cur.rowcount)


def _store_directory(db: Database, users: list[dict[str, Any]], now: datetime) -> None:
    rows = []
    for u in users:
        if not isinstance(u, dict) or not isinstance(u.get("id"), int):
            continue
        email = str(u.get("email") or "").strip()
        role = u.get("role") if isinstance(u.get("role"), dict) else {}
        rows.append(
            {
                "id": u["id"],
                "email_key": email.casefold(),
                "email": email,
                "first_name": str(u.get("firstName") or ""),
                "last_name": str(u.get("lastName") or ""),
                "role_name": role.get("name"),
                "fetched_at": iso(now),
            }
        )
    db.execute("begin immediate")
    try:
        db.execute("delete from coperniq_users")
        # Plain SQL: sqlite-utils' insert_all would commit this transaction half-way.
        db.conn.executemany(
            "insert or replace into coperniq_users (id, email_key, email, first_name, last_name, "
            "role_name, fetched_at) values (:id, :email_key, :email, :first_name, :last_name, "
            ":role_name, :fetched_at)",
            rows,
        )
        db.execute(
            "update sync_state set value = ?, updated_at = ? where name = ?",
            [iso(now), iso(now), SYNC_NAME],
        )
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise


def refresh_directory(
    db: Database,
    coperniq: CoperniqClient,
    now: datetime,
    *,
    max_age: timedelta = DIRECTORY_MAX_AGE,
) -> CoperniqError | None:
    """Fetch GET /users into the cache when it is older than `max_age`; the error if that failed.

    A fresh cache, a refresh another process is making, or a failure less than
    RETRY_AFTER_FAILURE ago costs no call: the cache as it is serves meanwhile.
    """
    with _refresh_lock:
        value, attempt = _sync_row(db)
        fetched, tried = _parse_time(value), _parse_time(attempt)
        if fetched is not None and now - fetched < max_age:
            return None
        if tried is not None and tried != fetched and now - tried < RETRY_AFTER_FAILURE:
            return None
        if not _claim_refresh(db, attempt, now):
            return None
        try:
            users = coperniq.users.list()
        except CoperniqError as exc:
            log.warning("Coperniq user directory refresh failed: %r", exc)
            return exc
        _store_directory(db, users, now)
        log.info("Coperniq user directory refreshed: %d users", len(users))
        return None


def _person(
    row: tuple[Any, ...] | None, linked: str, payment_roles: tuple[str, ...]
) -> Person | None:
    if row is None:
        return None
    uid, email, first, last, role = row
    name = " ".join(f"{first or ''} {last or ''}".split()) or email or f"user {uid}"
    return Person(uid, name, email, role, linked, tuple(payment_roles))


_COLUMNS = "id, email, first_name, last_name, role_name"


def cached_person(
    db: Database, coperniq_id: int, linked: str, payment_roles: tuple[str, ...] = ()
) -> Person | None:
    """The Person of a Coperniq user id from the cached directory (no Slack, no Coperniq call)."""
    return _person(_by_id(db, coperniq_id), linked, payment_roles)


def _by_email(db: Database, email: str) -> tuple[Any, ...] | None:
    return db.execute(
        f"select {_COLUMNS} from coperniq_users where email_key = ? order by id limit 1",  # noqa: S608
        [email.strip().casefold()],
    ).fetchone()


def _by_id(db: Database, uid: int) -> tuple[Any, ...] | None:
    return db.execute(
        f"select {_COLUMNS} from coperniq_users where id = ?",  # noqa: S608
        [uid],
    ).fetchone()


# --- Slack ----------------------------------------------------------------------------------


def slack_error_message(exc: SlackApiError) -> str:
    """A sentence for a failed users.info call."""
    code = str((exc.response or {}).get("error") or "error")
    if code in ("missing_scope", "not_allowed_token_type"):
        return (
            "The bot's Slack app may not read people's profiles (it needs the users:read and "
            "users:read.email scopes): ask a Slack admin to reinstall it from its manifest."
        )
    if code in ("user_not_found", "users_not_found"):
        return "Slack doesn't know that person."
    return f"Slack didn't answer my question about you ({slack_text(code, 40)}). Try again soon."


def slack_user_info(slack_client: WebClient, slack_user: str) -> dict[str, Any]:
    """users.info's user object; SlackApiError as Slack raised it."""
    return slack_client.users_info(user=slack_user)["user"] or {}


def is_workspace_admin(slack_client: WebClient, slack_user: str) -> bool:
    """Whether the Slack user is a workspace admin or owner; PeopleError when Slack fails."""
    try:
        user = slack_user_info(slack_client, slack_user)
    except SlackApiError as exc:
        log.warning("users.info for an admin check failed: %s", (exc.response or {}).get("error"))
        raise PeopleError(slack_error_message(exc)) from exc
    return is_admin_profile(user)


def is_admin_profile(user: dict[str, Any]) -> bool:
    """Whether a users.info user object is a workspace admin or owner."""
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


# --- who is who -----------------------------------------------------------------------------


def _override(db: Database, slack_user: str) -> tuple[Any, ...] | None:
    return db.execute(
        "select coperniq_user_id, email from slack_links where slack_user = ?", [slack_user]
    ).fetchone()


def identify(
    db: Database,
    coperniq: CoperniqClient,
    slack_client: WebClient,
    slack_user: str,
    now: datetime,
    *,
    payment_roles: tuple[str, ...] = (),
    user_info: Callable[[str], dict[str, Any]] | None = None,
    refresh: bool = True,
) -> Identity:
    """The Slack user's Coperniq user: an admin's override first, else their Slack email.

    `user_info` answers users.info for a user id (default: ask Slack); author_of passes one that
    remembers its answer, so that one submission asks Slack once. `refresh=False` reads the
    cached directory as it is (the App Home opens from the store alone, with no Coperniq call).
    """
    override = _override(db, slack_user)
    if override is not None and override[0] is None:
        return Identity(slack_user, None, UNLINKED)
    error = refresh_directory(db, coperniq, now) if refresh else None
    detail = None
    if error is not None and directory_fetched_at(db) is None:
        detail = f"I couldn't read Coperniq's users: {error.user_message}"
    if override is not None:
        person = _person(_by_id(db, override[0]), "override", payment_roles)
        if person is None:
            return Identity(slack_user, None, GONE, override[1], detail)
        return Identity(slack_user, person, "override")
    try:
        if user_info is not None:
            info = user_info(slack_user)
        else:
            info = slack_user_info(slack_client, slack_user)
        email = (info.get("profile") or {}).get("email")
    except SlackApiError as exc:
        log.warning("users.info failed: %s", (exc.response or {}).get("error"))
        return Identity(slack_user, None, SLACK_ERROR, None, slack_error_message(exc))
    if not isinstance(email, str) or not email.strip():
        return Identity(slack_user, None, NO_EMAIL)
    person = _person(_by_email(db, email), "email", payment_roles)
    if person is None:
        return Identity(slack_user, None, NO_MATCH, email.strip(), detail)
    return Identity(slack_user, person, "email", email.strip())


def who_is(
    db: Database,
    coperniq: CoperniqClient,
    slack_client: WebClient,
    slack_user: str,
    now: datetime,
    *,
    payment_roles: tuple[str, ...] = (),
) -> Person | None:
    """The Slack user's Coperniq Person, or None when they have no link."""
    return identify(db, coperniq, slack_client, slack_user, now, payment_roles=payment_roles).person


def link_user(
    db: Database,
    slack_user: str,
    email: str,
    by: str,
    *,
    coperniq: CoperniqClient,
    now: datetime,
) -> Person:
    """Link `slack_user` to the Coperniq user with `email` (an admin's override).

    The email is looked up in the cached directory; an unknown one refetches a cache older than
    an hour, once (someone just added in Coperniq), else PeopleError says no one has it.
    """
    refresh_directory(db, coperniq, now)
    row = _by_email(db, email)
    if row is None:
        error = refresh_directory(db, coperniq, now, max_age=LINK_REFRESH_AGE)
        row = _by_email(db, email)
        if row is None and error is not None:
            raise PeopleError(f"I couldn't read Coperniq's users: {error.user_message}")
    if row is None:
        raise PeopleError(
            f"No Coperniq user has the email {slack_text(email, 80)}. Check the address in "
            "Coperniq's company settings (users), then try again."
        )
    db["slack_links"].upsert(
        {
            "slack_user": slack_user,
            "coperniq_user_id": row[0],
            "email": row[1],
            "linked_by": by,
            "linked_at": iso(now),
        },
        pk="slack_user",
    )
    audit(
        db,
        slack_user=by,
        action="link",
        record_type="slack_user",
        record_id=slack_user,
        outcome="ok",
        detail={"coperniq_user_id": row[0]},
        now=now,
    )
    person = _person(row, "override", ())
    assert person is not None
    return person


def unlink_user(db: Database, slack_user: str, by: str, *, now: datetime) -> None:
    """Store an explicit "no link" for `slack_user`, so their email match does not come back."""
    db["slack_links"].upsert(
        {
            "slack_user": slack_user,
            "coperniq_user_id": None,
            "email": None,
            "linked_by": by,
            "linked_at": iso(now),
        },
        pk="slack_user",
    )
    audit(
        db,
        slack_user=by,
        action="unlink",
        record_type="slack_user",
        record_id=slack_user,
        outcome="ok",
        now=now,
    )


# --- who made a write from Slack ------------------------------------------------------------

# The name given when Slack cannot say who someone is: never a raw id.
NEUTRAL_AUTHOR = "a Slack user"
AUTHOR_NAME_MAX = 80
# Bidirectional embeddings, overrides and isolates: they would reorder the text around a name.
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], " ")


@dataclass(frozen=True)
class Author:
    """Who made a write from Slack: the name Coperniq shows, and their Coperniq user if linked."""

    slack_user: str
    name: str
    coperniq_id: int | None


def clean_name(text: object, limit: int = AUTHOR_NAME_MAX) -> str:
    """A name fit for Coperniq text: one line, no mention syntax, capped ("" if none)."""
    if not isinstance(text, str):
        return ""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text.translate(_BIDI))
    # "[Name|~id:N]" is a mention in a Coperniq note: a name must not be able to make one.
    text = " ".join(text.replace("|", " ").replace("[", "(").replace("]", ")").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _slack_name(user: dict[str, Any]) -> str:
    profile = user.get("profile") or {}
    for name in (profile.get("real_name"), user.get("real_name"), profile.get("display_name")):
        if cleaned := clean_name(name):
            return cleaned
    return ""


def author_of(
    db: Database,
    coperniq: CoperniqClient,
    slack_client: WebClient,
    slack_user: str,
    now: datetime,
) -> Author:
    """Who `slack_user` is for a write: their linked Coperniq user, else their Slack name.

    Never raises: when Slack or Coperniq fail the write goes on under NEUTRAL_AUTHOR (one warning
    line logged). Slack is asked users.info at most once, for the link and the name together.
    """
    answers: dict[str, Any] = {}

    def user_info(user: str) -> dict[str, Any]:
        if "error" in answers:
            raise answers["error"]
        if "user" not in answers:
            try:
                answers["user"] = slack_user_info(slack_client, user)
            except Exception as exc:
                answers["error"] = exc
                raise
        return answers["user"]

    try:
        identity = identify(db, coperniq, slack_client, slack_user, now, user_info=user_info)
        if identity.person is not None:
            name = clean_name(identity.person.name) or NEUTRAL_AUTHOR
            return Author(slack_user, name, identity.person.coperniq_id)
        if identity.reason == SLACK_ERROR:
            return Author(slack_user, NEUTRAL_AUTHOR, None)  # identify logged Slack's error
        name = _slack_name(user_info(slack_user))
    except Exception as exc:
        # Slack's error code only: its exception text quotes the whole answer.
        why = (exc.response or {}).get("error") if isinstance(exc, SlackApiError) else repr(exc)
        log.warning("Could not tell who %s is, writing as %r: %s", slack_user, NEUTRAL_AUTHOR, why)
        return Author(slack_user, NEUTRAL_AUTHOR, None)
    return Author(slack_user, name or NEUTRAL_AUTHOR, None)


def attribution(author: Author) -> str:
    """The words that say who made a write: "from Slack by Jane Doe"."""
    return f"from Slack by {clean_name(author.name) or NEUTRAL_AUTHOR}"
