"""Subscription filters: how they are written, checked against Coperniq's names, and matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.store import Store
from jobs.catalog import Catalog
from jobs.digest import Item
from jobs.subscriptions import (
    INVOICES,
    SLA,
    FilterError,
    accepts,
    check_values,
    describe,
    parse_filters,
    subscribe,
    subscriptions,
    unsubscribe,
)

CATALOG = Catalog(
    workflows={
        "Residential Solar Install": ["Site Survey", "Permitting", "Installation"],
        "HVAC Service Call": ["Intake", "Dispatch"],
    },
    trades=["Solar", "HVAC", "Battery Storage"],
    clients=["Cypress Creek HOA", "Müller Family"],
)


def form(level: str, workflow: str, phase: str, trades: list[str]) -> Item:
    view = {"workflow": workflow, "phase": phase, "trades": trades, "level": level}
    return Item("form:1", level, None, view)


def invoice(balance: float, days: int, client: str) -> Item:
    return Item("invoice:1", "61-90", None, {"balance": balance, "days": days, "client": client})


def test_quotes_commas_and_curly_quotes_from_phones() -> None:
    got = parse_filters(SLA, "workflow:“Residential Solar Install” trade:HVAC,Solar level:RED")
    assert got == {
        "workflow": ["Residential Solar Install"],
        "trade": ["HVAC", "Solar"],
        "level": ["red"],
    }
    assert parse_filters(SLA, "") == {}
    assert parse_filters(INVOICES, "min:$5,000 days:60") == {"min": ["5000"], "days": ["60"]}
    assert parse_filters(INVOICES, "min:7.5k") == {"min": ["7500"]}


@pytest.mark.parametrize(
    ("job", "text", "says"),
    [
        (SLA, "phase:", "has no value"),
        (SLA, "stage:Permitting", "Did you mean `phase:`?"),
        (SLA, "workflw:x", "Did you mean `workflow:`?"),
        (INVOICES, "min:-5", "`min:-5` is not valid"),
        (INVOICES, "days:1.5", "whole days"),
        (INVOICES, "days:30,60", "takes one value"),
        (SLA, "level:amber", "is not a level"),
    ],
)
def test_syntax_errors_say_what_to_write(job: str, text: str, says: str) -> None:
    with pytest.raises(FilterError, match=r".*") as caught:
        parse_filters(job, text)
    assert says in str(caught.value)


def test_names_are_spelt_as_coperniq_spells_them() -> None:
    checked = check_values(
        SLA,
        {"workflow": ["residential solar install"], "phase": ["PERMITTING"], "trade": ["hvac"]},
        CATALOG,
    )
    assert checked == {
        "workflow": ["Residential Solar Install"],
        "phase": ["Permitting"],
        "trade": ["HVAC"],
    }
    assert check_values(INVOICES, {"client": ["müller family"]}, CATALOG) == {
        "client": ["Müller Family"]
    }


def test_a_phase_is_checked_against_the_chosen_workflow() -> None:
    with pytest.raises(FilterError) as caught:
        check_values(SLA, {"workflow": ["HVAC Service Call"], "phase": ["Permitting"]}, CATALOG)
    text = str(caught.value)
    assert "No phase named “Permitting” in Coperniq in HVAC Service Call" in text
    assert "Intake, Dispatch" in text or "Dispatch, Intake" in text


def test_a_typo_names_the_close_one_and_what_exists() -> None:
    with pytest.raises(FilterError) as caught:
        check_values(INVOICES, {"client": ["Cypress Creek HAO"]}, CATALOG)
    assert "Did you mean “Cypress Creek HOA”?" in str(caught.value)
    assert "Müller Family" in str(caught.value)


def test_filters_combine_with_and_and_values_with_or() -> None:
    match = accepts(SLA, {"trade": ["HVAC", "Solar"], "level": ["red"]})
    assert match is not None
    assert match(form("red", "HVAC Service Call", "Intake", ["HVAC"]))
    assert match(form("red", "Residential Solar Install", "Permitting", ["Solar", "Electrical"]))
    assert not match(form("yellow", "HVAC Service Call", "Intake", ["HVAC"]))
    assert not match(form("red", "Roofing", "Tear-off", ["Roofing"]))
    assert accepts(SLA, {}) is None


def test_invoice_thresholds_are_at_least() -> None:
    match = accepts(INVOICES, {"min": ["5000"], "days": ["60"], "client": ["cypress creek hoa"]})
    assert match is not None
    assert match(invoice(5000, 60, "Cypress Creek HOA"))
    assert not match(invoice(4999.99, 90, "Cypress Creek HOA"))
    assert not match(invoice(9000, 59, "Cypress Creek HOA"))
    assert not match(invoice(9000, 90, "Someone Else"))


def test_descriptions_read_as_sentences() -> None:
    assert describe(INVOICES, {"min": ["5000"], "days": ["60"]}) == (
        "owed at least $5,000 · at least 60 days overdue"
    )
    assert describe(SLA, {"level": ["red"], "workflow": ["A", "B"]}) == (
        "workflow: A or B · level: red"
    )


def test_the_environment_channel_is_an_unfiltered_subscription(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    store = Store(tmp_path / "bot.db")
    settings = Settings(sla_alert_channel="C0ENV")  # type: ignore[call-arg]
    now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    subscribe(store.db, "C0SOLAR", SLA, {"level": ["red"]}, by="U1", now=now)
    # A stored row for the environment's channel never narrows it.
    subscribe(store.db, "C0ENV", SLA, {"level": ["red"]}, by="U1", now=now)
    subs = subscriptions(store.db, settings, SLA)
    assert [(s.channel, s.source, s.filters) for s in subs] == [
        ("C0ENV", "env", {}),
        ("C0SOLAR", "slack", {"level": ["red"]}),
    ]
    assert unsubscribe(store.db, "C0SOLAR", SLA) is not None
    assert unsubscribe(store.db, "C0SOLAR", SLA) is None
    store.close()
