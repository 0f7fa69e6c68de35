"""bot.people against the Coperniq sandbox and the fake Slack, with the clock as an input."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import people
from bot.deps import Deps
from sandbox.wiring import fake_deps

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DANA = "dana.whitfield@sunbelt.example.com"  # seeded Coperniq user 1001, role Admin
TOM = "tom.nguyen@sunbelt.example.com"  # seeded Coperniq user 1004, role Field Technician


@pytest.fixture
def deps(coperniq_sandbox: Any, fake_slack: Any, tmp_path: Path) -> Iterator[Deps]:
    d = fake_deps(coperniq_sandbox, fake_slack, db_path=tmp_path / "bot.db")
    yield d
    d.store.close()


def _user_lists(sandbox: Any) -> list[Any]:
    return [r for r in sandbox.requests if r.method == "GET" and r.path == "/users"]


def _identify(deps: Deps, user: str, now: datetime, **kw: Any) -> people.Identity:
    return people.identify(deps.store.db, deps.coperniq, deps.slack, user, now, **kw)


def test_a_slack_email_links_to_the_coperniq_user_case_insensitively(deps, fake_slack) -> None:
    fake_slack.add_user("U0DANA", email="Dana.Whitfield@SunBelt.example.com")
    person = people.who_is(deps.store.db, deps.coperniq, deps.slack, "U0DANA", T0)
    assert person is not None
    assert (person.coperniq_id, person.name, person.role, person.linked) == (
        1001,
        "Dana Whitfield",
        "Admin",
        "email",
    )
    assert person.email == DANA


def test_the_directory_is_fetched_once_a_day_however_many_people_ask(
    deps, fake_slack, coperniq_sandbox
) -> None:
    fake_slack.add_user("U0DANA", email=DANA)
    fake_slack.add_user("U0TOM", email=TOM)
    for hours in (0, 1, 12, 23):
        for user in ("U0DANA", "U0TOM", "U0NOBODY"):  # U0NOBODY's email is in no directory
            _identify(deps, user, T0 + timedelta(hours=hours, minutes=59))
    assert len(_user_lists(coperniq_sandbox)) == 1
    assert _identify(deps, "U0DANA", T0 + timedelta(hours=24, minutes=59)).person is not None
    assert len(_user_lists(coperniq_sandbox)) == 2
    # The filter-free list: the whole directory, one call.
    assert all(r.query == {} for r in _user_lists(coperniq_sandbox))


def test_concurrent_first_clicks_make_one_directory_call(
    deps, fake_slack, coperniq_sandbox
) -> None:
    fake_slack.add_user("U0DANA", email=DANA)
    results: list[people.Person | None] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                people.who_is(deps.store.db, deps.coperniq, deps.slack, "U0DANA", T0)
            )
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_user_lists(coperniq_sandbox)) == 1
    assert all(p is not None and p.coperniq_id == 1001 for p in results)


def test_unlinked_people_are_told_why(deps, fake_slack) -> None:
    fake_slack.add_user("U0NOMAIL", email=None)
    fake_slack.add_user("U0GHOST", not_found=True)
    assert _identify(deps, "U0NOMAIL", T0).reason == people.NO_EMAIL
    nomatch = _identify(deps, "U0OTHER", T0)
    assert (nomatch.reason, nomatch.slack_email) == (people.NO_MATCH, "u0other@example.com")
    ghost = _identify(deps, "U0GHOST", T0)
    assert ghost.reason == people.SLACK_ERROR and "doesn't know" in (ghost.detail or "")


def test_a_missing_scope_says_what_to_fix(deps, fake_slack) -> None:
    fake_slack.fail("users.info", "missing_scope")
    identity = _identify(deps, "U0DANA", T0)
    assert identity.person is None
    assert "users:read.email" in (identity.detail or "")


def test_an_override_wins_over_the_email_and_unlink_keeps_the_email_out(deps, fake_slack) -> None:
    fake_slack.add_user("U0DANA", email=DANA)
    db = deps.store.db
    person = people.link_user(db, "U0DANA", TOM.upper(), "U0ADMIN", coperniq=deps.coperniq, now=T0)
    assert (person.coperniq_id, person.linked) == (1004, "override")
    assert people.who_is(db, deps.coperniq, deps.slack, "U0DANA", T0).coperniq_id == 1004
    people.unlink_user(db, "U0DANA", "U0ADMIN", now=T0)
    identity = _identify(deps, "U0DANA", T0)
    assert (identity.person, identity.reason) == (None, people.UNLINKED)
    rows = list(db["slack_links"].rows)
    assert rows == [
        {
            "slack_user": "U0DANA",
            "coperniq_user_id": None,
            "email": None,
            "linked_by": "U0ADMIN",
            "linked_at": T0.isoformat(timespec="microseconds"),
        }
    ]
    assert [r["action"] for r in db["audit_log"].rows] == ["link", "unlink"]


def test_link_refetches_an_unknown_email_once_when_the_cache_is_over_an_hour_old(
    deps, coperniq_sandbox
) -> None:
    db = deps.store.db
    people.refresh_directory(db, deps.coperniq, T0)
    deps.coperniq.users.invite("new.hire@sunbelt.example.com", "New", "Hire", [3])
    with pytest.raises(people.PeopleError, match="No Coperniq user has the email"):
        people.link_user(
            db,
            "U0NEW",
            "new.hire@sunbelt.example.com",
            "U0ADMIN",
            coperniq=deps.coperniq,
            now=T0 + timedelta(minutes=30),
        )
    assert len(_user_lists(coperniq_sandbox)) == 1
    person = people.link_user(
        db,
        "U0NEW",
        "new.hire@sunbelt.example.com",
        "U0ADMIN",
        coperniq=deps.coperniq,
        now=T0 + timedelta(hours=2),
    )
    assert person.name == "New Hire"
    assert len(_user_lists(coperniq_sandbox)) == 2
    with pytest.raises(people.PeopleError):
        people.link_user(
            db,
            "U0NEW",
            "nobody@sunbelt.example.com",
            "U0ADMIN",
            coperniq=deps.coperniq,
            now=T0 + timedelta(hours=2, minutes=5),
        )
    assert len(_user_lists(coperniq_sandbox)) == 2


def test_a_failed_refresh_is_retried_later_not_on_every_click(
    deps, fake_slack, coperniq_sandbox
) -> None:
    fake_slack.add_user("U0DANA", email=DANA)
    coperniq_sandbox.inject(path="/users", status=500)
    identity = _identify(deps, "U0DANA", T0)
    assert identity.person is None and "couldn't read Coperniq's users" in (identity.detail or "")
    calls = len(_user_lists(coperniq_sandbox))
    _identify(deps, "U0DANA", T0 + timedelta(minutes=5))
    assert len(_user_lists(coperniq_sandbox)) == calls
    coperniq_sandbox.clear_faults()
    later = _identify(deps, "U0DANA", T0 + people.RETRY_AFTER_FAILURE + timedelta(minutes=1))
    assert later.person is not None and later.person.coperniq_id == 1001


@pytest.mark.parametrize(
    ("role", "payment_roles", "allowed"),
    [
        ("Office Staff", ("office staff", "Admin"), True),
        ("Field Technician", ("Office Staff",), False),
        ("Admin", (), False),
        (None, ("Admin",), False),
    ],
)
def test_recording_a_payment_needs_a_payment_role(role, payment_roles, allowed) -> None:
    person = people.Person(1, "A B", "a@b.co", role, "email", payment_roles)
    assert person.may("write") is True
    assert person.may("record_payment") is allowed
    assert people.may(None, "write") is False
