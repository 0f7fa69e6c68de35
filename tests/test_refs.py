"""The one parser for record ids and references from untrusted text."""

from __future__ import annotations

import pytest

from bot import refs
from bot.refs import MAX_ID, NotARecordNumber, parse_id, parse_ref, ref_value, typed_number


@pytest.mark.parametrize("value", ["1", "42", str(MAX_ID), 7, MAX_ID])
def test_ascii_digits_and_ints_in_range_are_ids(value: object) -> None:
    assert parse_id(value) == int(value)


@pytest.mark.parametrize(
    "value",
    [
        "²",
        "١٢٣",
        "１２",
        "0",
        0,
        -1,
        "-1",
        " 12",
        "1/../../users",
        "abc",
        "",
        None,
        True,
        1.0,
        str(MAX_ID + 1),
        MAX_ID + 1,
        "9" * 21,
        "12\n",
    ],
)
def test_anything_else_is_not_an_id(value: object) -> None:
    assert parse_id(value) is None


def test_zero_is_allowed_only_when_asked_for() -> None:
    assert parse_id("0", minimum=0) == 0 and parse_id(0, minimum=0) == 0


def test_references_name_a_kind_and_an_id() -> None:
    assert parse_ref("project:12") == ("project", 12)
    assert parse_ref("account:7", ("account",)) == ("account", 7)
    assert parse_ref("project:7", ("account",)) is None
    for bad in ("project:١٢٣", "project:-1", "project:1/../../users", "user:1", "12", None, 12):
        assert parse_ref(bad) is None
    assert parse_ref(ref_value("opportunity", 5)) == ("opportunity", 5)
    with pytest.raises(ValueError):
        ref_value("project", "²")


def test_typed_numbers_search_names_and_refuse_numbers_that_are_none() -> None:
    assert typed_number("1234") == 1234 and typed_number(" #1234 ") == 1234
    assert typed_number("smith") is None and typed_number("12 Oak St") is None
    assert typed_number("") is None and typed_number(None) is None
    for bad in ("²", "١٢٣", "9" * 21, "0", "#0"):
        with pytest.raises(NotARecordNumber) as info:
            typed_number(bad)
        assert "0–9" in info.value.user_message


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("<@U0TOM>", "U0TOM"),
        ("<@U0TOM|tom>", "U0TOM"),
        ("<@W0ENTERPRISE|x y>", "W0ENTERPRISE"),
        ("U0TOM", "U0TOM"),
        ("@tom", None),
        ("<#C0CHAN|general>", None),
        ("<@u0tom>", None),
        ("<@U0TOM|tom> ", "U0TOM"),
        ("<@U0>", None),
        ("<@U0TOM|a<b>", None),
        ("", None),
    ],
)
def test_parse_slack_user_reads_escaped_mentions_only(token: str, expected: str | None) -> None:
    assert refs.parse_slack_user(token) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("<mailto:a.b@corp.com|a.b@corp.com>", "a.b@corp.com"),
        ("<mailto:a@corp.com>", "a@corp.com"),
        ("a@corp.com", "a@corp.com"),
        ("not-an-email", None),
        ("a@b", None),
        ("<mailto:a@corp.com|x", None),
        ("а@corp.com", None),  # a Cyrillic "а"
        ("a@@corp.com", None),
        ("x" * 250 + "@corp.com", None),
    ],
)
def test_parse_email_reads_slack_mailto_links_and_plain_addresses(
    token: str, expected: str | None
) -> None:
    assert refs.parse_email(token) == expected


def test_plain_command_text_is_what_the_person_typed() -> None:
    raw = "Smith &amp; Sons &lt;b&gt; <@U1|dana> <#C1|general> <mailto:a@b.co|a@b.co> <!here>"
    assert refs.plain_command_text(raw) == "Smith & Sons <b> @dana #general a@b.co @here"
    assert refs.plain_command_text("<https://x.example/a|the link> &amp;lt;") == "the link &lt;"
    assert refs.plain_command_text("<@U1> <#C1>") == "@U1 #C1"
