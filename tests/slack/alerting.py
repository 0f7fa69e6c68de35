"""Helpers for alert-card tests: run a digest into the fake Slack, read its cards, click them.

A card is one item of a posted digest message as Slack shows it now: its line and its row of
buttons. Clicks are signed block_actions payloads built from the message as the fake Slack holds
it, as Slack would send them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from bot.blocks.common import base_id
from bot.deps import Deps
from jobs import engine
from jobs.blocks import ITEM_BLOCK
from jobs.digest import RunResult
from jobs.registry import JOBS
from sandbox.slackclient import Reply, SlackHarness
from sandbox.wiring import INVOICE_CHANNEL, SLA_CHANNEL

CHANNEL = {"form-sla": SLA_CHANNEL, "overdue-invoices": INVOICE_CHANNEL}


def email(first: str, last: str) -> str:
    """A seeded Coperniq user's email (sandbox/coperniq/seed.py)."""
    return f"{first}.{last}@sunbelt.example.com".lower()


def deps_of(slack: SlackHarness) -> Deps:
    """The jobs' Deps on the app's own store and Coperniq client, posting to the fake Slack."""
    fs = slack.fake_slack
    return Deps(
        settings=slack.settings,
        store=slack.store,
        coperniq=slack.coperniq,
        slack=WebClient(token=fs.bot_token, base_url=fs.base_url),
    )


def run_digest(slack: SlackHarness, job: str, now: datetime | None = None) -> RunResult:
    """One run of a job (the sandbox's data is dated from today, so `now` defaults to now)."""
    return engine.run(JOBS[job], deps_of(slack), now or datetime.now(UTC), out=lambda s: None)


@dataclass(frozen=True)
class Card:
    channel: str
    message: dict[str, Any]
    key: str
    line: str
    elements: list[dict[str, Any]]

    def labels(self) -> list[str]:
        return [
            (e.get("text") or e.get("placeholder") or {}).get("text", "") for e in self.elements
        ]


def cards(slack: SlackHarness, job: str) -> list[Card]:
    """Every item card in the job's channel as Slack shows it now (main messages, then replies)."""
    channel = CHANNEL[job]
    out = []
    for message in slack.fake_slack.messages(channel):
        blocks = message.get("blocks") or []
        for n, block in enumerate(blocks):
            if block.get("type") != "section" or n + 1 >= len(blocks):
                continue
            after = blocks[n + 1]
            row_key = (after.get("block_id") or "").removeprefix(ITEM_BLOCK)
            if after.get("type") == "actions" and row_key != after.get("block_id"):
                out.append(
                    Card(channel, message, row_key, block["text"]["text"], after["elements"])
                )
    return out


def card_of(slack: SlackHarness, job: str, key: str, message_ts: str | None = None) -> Card | None:
    """The item's card (with buttons), if one shows now."""
    for card in cards(slack, job):
        if card.key == key and (message_ts is None or card.message["ts"] == message_ts):
            return card
    return None


def line_of(slack: SlackHarness, job: str, key: str, message_ts: str) -> str:
    """The item's line in one message, buttons or not (its section mentions the item)."""
    for message in slack.fake_slack.messages(CHANNEL[job]):
        if message["ts"] != message_ts:
            continue
        blocks = message.get("blocks") or []
        for n, block in enumerate(blocks):
            after = blocks[n + 1] if n + 1 < len(blocks) else {}
            if after.get("block_id") == ITEM_BLOCK + key:
                return str(block["text"]["text"])
        # Without buttons the line stands alone: find it by the card it was.
        return "\n".join(str(b.get("text", {}).get("text", "")) for b in blocks)
    raise LookupError(message_ts)


def click(
    slack: SlackHarness,
    card: Card,
    action_id: str,
    *,
    user: str,
    option: str | None = None,
    action_ts: str | None = None,
) -> Reply:
    """Press one of the card's buttons (or pick `option` in its Snooze… menu)."""
    element = next(e for e in card.elements if e.get("action_id") == action_id)
    action: dict[str, Any] = {"block_id": ITEM_BLOCK + card.key, "type": element["type"]}
    if action_ts:
        action["action_ts"] = action_ts
    if option is not None:
        chosen = next(o for o in element["options"] if o["value"] == option)
        action["selected_option"] = chosen
    reply = slack.block_action(
        action_id,
        value=element.get("value"),
        block_id=ITEM_BLOCK + card.key,
        user=user,
        channel=card.channel,
        message=card.message,
        action=action,
    )
    assert reply.status == 200, reply.text
    return reply


def view_state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """view.state.values as Slack sends it: `values` by base block id, else each input's initial.

    Text inputs take text, selects an option value, datepickers "YYYY-MM-DD"; None leaves an
    input empty.
    """
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        el = block["element"]
        kind = el["type"]
        key = base_id(block["block_id"])
        if kind == "datepicker":
            chosen = values.get(key, el.get("initial_date"))
            value: dict[str, Any] = {"type": kind, "selected_date": chosen}
        elif kind == "static_select":
            picked = values.get(key, (el.get("initial_option") or {}).get("value"))
            option = next((o for o in el.get("options", []) if o["value"] == picked), None)
            value = {"type": kind, "selected_option": option}
        else:
            value = {"type": kind, "value": values.get(key, el.get("initial_value"))}
        state[block["block_id"]] = {el["action_id"]: value}
    return state
