"""`/coperniq whoami`, `link` and `unlink` end to end: signed commands, private answers."""

from __future__ import annotations

from typing import Any

from tests.slack.harness import USER, SlackHarness
from tests.slack.limits import assert_slack_limits

DANA = "dana.whitfield@sunbelt.example.com"  # seeded Coperniq user 1001, role Admin
TOM = "tom.nguyen@sunbelt.example.com"  # seeded Coperniq user 1004
ADMIN = "U0ADMIN"


def _answer(slack: SlackHarness, text: str, user: str = USER) -> dict[str, Any]:
    reply = slack.command(text, user=user)
    assert reply.status == 200
    message = slack.wait_until(lambda: slack.fake_slack.responses(reply.response_url))[0]
    assert message["response_type"] == "ephemeral"
    assert_slack_limits(message)
    return message


def _user_lists(slack: SlackHarness) -> list[Any]:
    return [r for r in slack.sandbox.requests if r.method == "GET" and r.path == "/users"]


def _mailto(email: str) -> str:
    return f"<mailto:{email}|{email}>"


def test_whoami_finds_the_person_by_their_slack_email(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(USER, email=DANA.upper())
    text = _answer(slack, "whoami")["text"]
    assert "Dana Whitfield" in text and "matched by your Slack email" in text
    assert "Admin" in text
    assert "nobody may: PAYMENT_ROLES is not set" in text


def test_whoami_calls_coperniq_once_however_many_times_it_is_asked(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    slack.fake_slack.add_user("U0OTHER", email="someone@elsewhere.example.com")
    for _ in range(3):
        _answer(slack, "whoami")
        _answer(slack, "whoami", user="U0OTHER")
    assert len(_user_lists(slack)) == 1


def test_whoami_without_a_slack_email_says_so_and_that_commands_still_work(
    slack: SlackHarness,
) -> None:
    slack.fake_slack.add_user(USER, email=None)
    text = _answer(slack, "whoami")["text"]
    assert "not linked" in text and "no email" in text
    assert "You can still find records" in text


def test_whoami_with_an_email_coperniq_does_not_know(slack: SlackHarness) -> None:
    text = _answer(slack, "whoami")["text"]  # the fake's default email, u0user@example.com
    assert "No Coperniq user has your Slack email (u0user@example.com)" in text


def test_an_admin_links_someone_by_mention_and_email(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(ADMIN, is_admin=True)
    message = _answer(slack, f"link <@{USER}|pat> {_mailto(TOM)}", user=ADMIN)
    assert "Tom Nguyen" in message["text"] and f"<@{USER}>" in message["text"]
    row = slack.store.db["slack_links"].get(USER)
    assert (row["coperniq_user_id"], row["linked_by"]) == (1004, ADMIN)
    text = _answer(slack, "whoami")["text"]
    assert "Tom Nguyen" in text and "linked by a Slack workspace admin" in text


def test_an_owner_unlinks_an_email_match_and_it_stays_unlinked(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    slack.fake_slack.add_user(ADMIN, is_owner=True)
    assert "Dana Whitfield" in _answer(slack, "whoami")["text"]
    message = _answer(slack, f"unlink <@{USER}>", user=ADMIN)
    assert "no longer linked" in message["text"]
    text = _answer(slack, "whoami")["text"]
    assert "not linked" in text and "removed your link" in text


def test_people_who_are_not_admins_may_not_link_or_unlink(slack: SlackHarness) -> None:
    for text in (f"link <@U0TOM|tom> {_mailto(TOM)}", "unlink <@U0TOM|tom>"):
        message = _answer(slack, text)
        assert "Only Slack workspace admins and owners" in message["text"]
    assert slack.store.db["slack_links"].count == 0
    assert _user_lists(slack) == []


def test_malformed_link_arguments_get_the_usage_and_no_call(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(ADMIN, is_admin=True)
    for text in (
        "link",
        "link <@U0TOM|tom>",
        f"link @tom {_mailto(TOM)}",  # a plain @name (not an escaped mention) names no id
        "link <@U0TOM|tom> not-an-email",
        f"link <@U0TOM|tom> {_mailto(TOM)} extra",
        f"link <#C0CHAN|general> {_mailto(TOM)}",
        "unlink",
        "unlink @tom",
        "unlink <@U0TOM> <@U0DANA>",
    ):
        message = _answer(slack, text, user=ADMIN)
        assert "Usage:" in message["text"], text
    assert slack.sandbox.requests == []
    assert slack.fake_slack.calls_to("users.info") == []
    assert slack.store.db["slack_links"].count == 0


def test_linking_an_unknown_email_says_so(slack: SlackHarness) -> None:
    slack.fake_slack.add_user(ADMIN, is_admin=True)
    message = _answer(slack, f"link <@U0TOM|tom> {_mailto('no.one@sunbelt.example.com')}", ADMIN)
    assert "No Coperniq user has the email no.one@sunbelt.example.com" in message["text"]
    assert slack.store.db["slack_links"].count == 0


def test_find_still_reads_escaped_text_as_typed(slack: SlackHarness) -> None:
    slack.command("find Smith &amp; Sons <#C0CHAN|general>")
    searches = slack.wait_until(
        lambda: [r for r in slack.sandbox.requests if r.method == "GET" and "q" in r.query]
    )
    assert searches[0].query["q"] == "Smith & Sons #general"
