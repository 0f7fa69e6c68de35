"""`/coperniq subscribe`, `unsubscribe` and `subscriptions` end to end, and what runs then post.

The app is served against the fake Slack and the Coperniq sandbox with no channel in the
environment: every channel here is subscribed from Slack.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jobs.registry import JOBS
from sandbox.wiring import running_harness
from tests.slack.alerting import email, run_digest
from tests.slack.harness import USER, SlackHarness
from tests.slack.limits import assert_slack_limits

ALL, SOLAR, HVAC, AR, BIG = "C0ALLFORMS", "C0SOLAROPS", "C0HVACDISP", "C0AREVERY", "C0AR5000"
TECH = "U0TECH"
ADMIN = "U0ADMIN"


@pytest.fixture
def slack(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[SlackHarness]:
    """The app with no alert channel in the environment; billing is the Admin role."""
    with running_harness(
        fake_slack,
        coperniq_sandbox,
        tmp_path,
        sla_alert_channel=None,
        invoice_alert_channel=None,
        payment_roles=("Admin",),
    ) as harness:
        harness.fake_slack.add_user(USER, email=email("dana", "whitfield"))  # 1001, Admin
        harness.fake_slack.add_user(TECH, email=email("tom", "nguyen"))  # 1004, technician
        harness.fake_slack.add_user(ADMIN, is_admin=True, email="it@elsewhere.example.com")
        yield harness


def _say(slack: SlackHarness, text: str, channel: str, user: str = USER) -> str:
    """Run the command in `channel`; the private answer's text."""
    reply = slack.command(text, user=user, channel=channel)
    assert reply.status == 200
    message = slack.wait_until(lambda: slack.fake_slack.responses(reply.response_url))[0]
    assert message["response_type"] == "ephemeral"
    assert_slack_limits(message)
    return str(message["text"])


def _stored(slack: SlackHarness, channel: str, job: str) -> dict[str, list[str]] | None:
    row = slack.store.db.execute(
        "select filters from subscriptions where channel = ? and job = ?", [channel, job]
    ).fetchone()
    return None if row is None else json.loads(row[0])


def _listed(slack: SlackHarness, job: str, channel: str) -> dict[str, dict[str, Any]]:
    """The items a channel was sent (item key -> the view its alert row keeps)."""
    rows = slack.store.db.execute(
        "select item_key, summary from alert_items where job = ? and channel = ?", [job, channel]
    ).fetchall()
    return {key: json.loads(summary) for key, summary in rows}


def test_two_filtered_channels_get_exactly_their_matches_from_one_fetch(
    slack: SlackHarness,
) -> None:
    assert "Done" in _say(slack, "subscribe sla", ALL)
    # Two filters combine with AND; the values of one filter with commas (any of them).
    answer = _say(
        slack, 'subscribe sla workflow:"residential solar install" level:yellow,red', SOLAR
    )
    assert "Done" in answer
    assert "workflow: Residential Solar Install · level: yellow or red" in answer
    assert "Done" in _say(slack, "subscribe sla trade:roofing,hvac", HVAC)
    # Each channel is told, in the channel, who subscribed it to what.
    confirm = slack.fake_slack.messages(SOLAR)[-1]["text"]
    assert f"<@{USER}> subscribed this channel" in confirm and "unsubscribe sla" in confirm

    before = len(slack.sandbox.requests)
    result = run_digest(slack, "form-sla")
    reads = slack.sandbox.requests[before:]
    assert result.ran and result.failed == 0

    everything = _listed(slack, "form-sla", ALL)
    assert everything, "the sandbox has forms past SLA"
    solar = {k for k, v in everything.items() if v["workflow"] == "Residential Solar Install"}
    hvac = {k for k, v in everything.items() if {"Roofing", "HVAC"} & set(v["trades"])}
    # The sandbox's data moves with the date: what matters is that each channel got exactly its
    # matches, and that the filters did leave something out.
    assert (solar or hvac) and (solar != set(everything) or hvac != set(everything))
    assert set(_listed(slack, "form-sla", SOLAR)) == solar
    assert set(_listed(slack, "form-sla", HVAC)) == hvac
    # One fetch fed the three digests: every page of the project list and every form list once.
    listing = Counter(r.query.get("page", "1") for r in reads if r.path == "/projects")
    assert listing and set(listing.values()) == {1}
    forms = Counter(r.path for r in reads if r.path.endswith("/forms"))
    assert forms and set(forms.values()) == {1}
    assert result.coperniq_calls == len(reads)


def test_adding_channels_costs_no_coperniq_call(slack: SlackHarness) -> None:
    _say(slack, "subscribe sla", ALL)
    run_digest(slack, "form-sla")
    # A later run with the form lists cached, with one channel and then with five.
    now = datetime.now(UTC)
    one = run_digest(slack, "form-sla", now).coperniq_calls
    for channel, filters in (
        (SOLAR, "level:red"),
        (HVAC, "trade:HVAC"),
        ("C0ROOFING", "trade:Roofing"),
        ("C0BATTERY", 'workflow:"Battery Storage Add-on"'),
    ):
        assert "Done" in _say(slack, f"subscribe sla {filters}", channel)
    five = run_digest(slack, "form-sla", now).coperniq_calls
    assert five == one


def test_unsubscribe_stops_the_next_run(slack: SlackHarness) -> None:
    _say(slack, "subscribe sla trade:HVAC", HVAC)
    run_digest(slack, "form-sla")
    posted = len(slack.fake_slack.messages(HVAC))
    answer = _say(slack, "unsubscribe sla", HVAC)
    assert "no longer gets forms past their phase SLA" in answer and "trade: HVAC" in answer
    assert _stored(slack, HVAC, "form-sla") is None
    assert "unsubscribed this channel" in slack.fake_slack.messages(HVAC)[-1]["text"]
    posted += 1  # that notice
    run_digest(slack, "form-sla")
    assert len(slack.fake_slack.messages(HVAC)) == posted
    assert "is not subscribed" in _say(slack, "unsubscribe sla", HVAC)


def test_invoice_filters_pick_by_balance_days_and_client(slack: SlackHarness) -> None:
    _say(slack, "subscribe invoices", AR)
    run_digest(slack, "overdue-invoices")
    everything = _listed(slack, "overdue-invoices", AR)
    client = Counter(v["client"] for v in everything.values()).most_common(1)[0][0]
    answer = _say(slack, "subscribe invoices min:$5,000 days:60", BIG)
    assert "owed at least $5,000 · at least 60 days overdue" in answer
    assert "Done" in _say(slack, f'subscribe invoices client:"{client.upper()}"', "C0ONECLIENT")
    assert _stored(slack, "C0ONECLIENT", "overdue-invoices") == {"client": [client]}
    run_digest(slack, "overdue-invoices")
    big = {k for k, v in everything.items() if v["balance"] >= 5000 and v["days"] >= 60}
    assert big and big != set(everything)
    assert set(_listed(slack, "overdue-invoices", BIG)) == big
    mine = {k for k, v in everything.items() if v["client"] == client}
    assert set(_listed(slack, "overdue-invoices", "C0ONECLIENT")) == mine


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "subscribe sla trade:HVCA",
            ["No trade named “HVCA”", "Did you mean “HVAC”?", "Solar", "Nothing was changed"],
        ),
        (
            'subscribe sla workflow:"Residential Solr Install"',
            ["No workflow named", "Did you mean “Residential Solar Install”?", "HVAC Service Call"],
        ),
        (
            'subscribe sla workflow:"HVAC Service Call" phase:Permitting',
            ["No phase named “Permitting”", "in HVAC Service Call", "Dispatch", "Intake"],
        ),
        ("subscribe sla stage:Permitting", ["`stage:` is not a filter", "Did you mean `phase:`?"]),
        ("subscribe sla level:orange", ["`level:orange` is not a level", "yellow", "red"]),
        ("subscribe invoices min:lots", ["`min:lots` is not valid", "dollars"]),
        ("subscribe invoices days:30,60", ["`days:` takes one value"]),
        ("subscribe invoices trade:HVAC", ["`trade:` is not a filter for invoices"]),
        ("subscribe sla Permitting", ["“Permitting” is not a filter", "key:value"]),
        ("subscribe forms", ["“forms” is not something to subscribe", "subscribe sla"]),
    ],
)
def test_a_bad_filter_is_answered_precisely_and_nothing_is_stored(
    slack: SlackHarness, text: str, says: list[str]
) -> None:
    answer = _say(slack, text, SOLAR)
    for words in says:
        assert words in answer, answer
    assert slack.store.db.execute("select count(*) from subscriptions").fetchone()[0] == 0
    assert slack.fake_slack.messages(SOLAR) == []


def test_the_filter_names_come_from_coperniq_once_a_day(slack: SlackHarness) -> None:
    for channel in (SOLAR, HVAC, "C0THIRD"):
        assert "Done" in _say(slack, "subscribe sla trade:Solar", channel)
    names = [r.path for r in slack.sandbox.requests if r.path in ("/workflows", "/properties")]
    assert names == ["/workflows", "/properties"]


def test_a_channel_without_the_bot_is_told_how_to_add_it(slack: SlackHarness) -> None:
    slack.fake_slack.add_channel("C0NOTIN", is_member=False)
    answer = _say(slack, "subscribe sla level:red", "C0NOTIN")
    assert "I'm not in this channel" in answer and "/invite <@" in answer
    assert _stored(slack, "C0NOTIN", "form-sla") is None


def test_a_direct_message_points_to_the_app_home(slack: SlackHarness) -> None:
    answer = _say(slack, "subscribe sla", "D0DIRECT")
    assert "Subscriptions are for channels" in answer and "App Home" in answer


def test_who_may_subscribe(slack: SlackHarness) -> None:
    stranger = "U0STRANGER"  # a Slack email no Coperniq user has
    assert "Only people linked to a Coperniq user" in _say(slack, "subscribe sla", HVAC, stranger)
    assert "Done" in _say(slack, "subscribe sla trade:HVAC", HVAC, TECH)
    refused = _say(slack, "subscribe invoices", AR, TECH)
    assert "needs the Coperniq role Admin" in refused
    assert _stored(slack, AR, "overdue-invoices") is None
    assert "Done" in _say(slack, "subscribe invoices min:1000", AR, ADMIN)  # a Slack admin


def test_subscribing_again_replaces_the_filters_and_says_what_it_had(slack: SlackHarness) -> None:
    _say(slack, "subscribe sla level:red", SOLAR)
    answer = _say(slack, "subscribe sla level:red,yellow trade:Solar", SOLAR)
    assert "it had level: red" in answer
    assert _stored(slack, SOLAR, "form-sla") == {"level": ["red", "yellow"], "trade": ["Solar"]}


def test_subscriptions_lists_this_channel_and_every_channel_for_admins(
    slack: SlackHarness,
) -> None:
    _say(slack, "subscribe sla level:red", SOLAR)
    _say(slack, "subscribe invoices days:60", AR)
    here = _say(slack, "subscriptions", SOLAR, TECH)
    assert "This channel gets" in here and "level: red" in here and "Every channel" not in here
    admin = _say(slack, "subscriptions", "C0ELSEWHERE", ADMIN)
    assert "This channel gets no alerts" in admin
    assert f"<#{SOLAR}>" in admin and f"<#{AR}>" in admin and "at least 60 days overdue" in admin


def test_nobody_subscribed_means_no_run_and_no_coperniq_call(slack: SlackHarness) -> None:
    result = run_digest(slack, "form-sla")
    assert not result.ran and "no channel is subscribed" in " ".join(result.notes)
    assert slack.sandbox.requests == []
    assert JOBS["form-sla"].config.channels(slack.settings, slack.store.db) == []
