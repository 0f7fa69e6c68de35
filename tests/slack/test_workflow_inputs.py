"""Workflow Builder step inputs: what a person maps into a step, read as the modals read it."""

from __future__ import annotations

import pytest

from handlers.functions.inputs import (
    StepFailed,
    _from_link,
    enum_value,
    epoch_seconds,
    match_trades,
)

APP = "https://app.coperniq.io/388"


def test_trades_are_matched_to_coperniqs_names_whatever_the_case_and_spacing() -> None:
    known = ["Solar", "HVAC", "Battery Storage"]
    assert match_trades(" hvac ,battery  storage; Solar,HVAC", known) == (
        ["HVAC", "Battery Storage", "Solar"],
        [],
    )
    assert match_trades("HVAC, Pool, ", known) == (["HVAC"], ["Pool"])


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1764590400, 1764590400),
        ("1764590400", 1764590400),
        ("1764590400.25", 1764590400),
        ("2025-12-01T12:00:00Z", 1764590400),
        ("2025-12-01T06:00:00-06:00", 1764590400),
    ],
)
def test_a_timestamp_input_is_unix_seconds_or_iso_with_a_zone(value: object, seconds: int) -> None:
    assert epoch_seconds(value) == seconds


@pytest.mark.parametrize("value", ["", None, True, "yesterday", "2025-12-01T12:00:00"])
def test_a_time_without_a_zone_or_not_a_time_is_none(value: object) -> None:
    # A wall-clock time with no zone could be any of 24 hours: refused, never guessed.
    assert epoch_seconds(value) is None


def test_enum_inputs_take_the_words_people_use() -> None:
    allowed = ("REVENUE_OPPORTUNITY", "SERVICE")
    assert enum_value("Revenue opportunity", allowed) == "REVENUE_OPPORTUNITY"
    assert enum_value("revenue-opportunity", allowed) == "REVENUE_OPPORTUNITY"
    assert enum_value("service", allowed) == "SERVICE"
    assert enum_value("chat", allowed) is None


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        (f"{APP}/project/123", ("project", 123)),
        (f"{APP}/request/77?tab=notes", ("opportunity", 77)),
        (f"<{APP}/client/5|Dana Smith>", ("account", 5)),
        ("https://APP.coperniq.io/388/project/9/", ("project", 9)),
    ],
)
def test_coperniq_links_name_their_record(text: str, ref: tuple[str, int]) -> None:
    assert _from_link(text, APP) == ref


def test_text_that_is_no_link_is_left_to_the_record_search() -> None:
    assert _from_link("1042", APP) is None
    assert _from_link("Smith residence", APP) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("https://evil.example.com/project/1", "is not a Coperniq link"),
        (f"{APP}/invoices/12", "not to a project, request or client"),
        (f"{APP}/project/²", "not to a project, request or client"),
    ],
)
def test_foreign_or_unknown_links_are_refused_in_words(text: str, why: str) -> None:
    with pytest.raises(StepFailed) as refused:
        _from_link(text, APP)
    assert why in refused.value.user_message
