"""New service request modal: build, parse, validate, and the Coperniq opportunity body."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks.common import (
    context,
    escape,
    external_select,
    flatten_state,
    input_block,
    link_button,
    modal,
    mrkdwn,
    option,
    section,
    text_input,
    truncate,
)
from bot.ids import Action, Block, Callback
from bot.phones import display, to_e164
from bot.refs import parse_ref

TITLE = "New service request"

# Used when Coperniq's property list gives no trade options (or cannot be reached).
DEFAULT_TRADES: tuple[str, ...] = (
    "Solar",
    "HVAC",
    "Electrical",
    "Battery Storage",
    "Roofing",
    "Plumbing",
    "EV Charger",
    "Other",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def trades_from_properties(properties: Mapping[str, Any]) -> list[str]:
    """The trade options Coperniq knows for opportunities (GET /properties), else an empty list."""
    for key in ("opportunity", "request", "project"):
        for prop in properties.get(key) or []:
            if prop.get("keyName") == "trades" or str(prop.get("name", "")).lower() == "trades":
                opts = [str(o) for o in prop.get("options") or [] if str(o).strip()]
                if opts:
                    return opts
    return []


def build_request_modal(
    meta: Mapping[str, Any],
    trades: Sequence[str],
    *,
    values: Mapping[str, Any] | None = None,
    client_option: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The request form; `values` (a parse_request result) refills it after a failed save."""
    v = dict(values or {})
    # A blank trade is nothing anyone can choose (and an empty value fails the whole view).
    named = dict.fromkeys(t for t in trades if str(t).strip())
    trade_opts = [option(t, t[:150]) for t in named][:100]
    chosen = [o for o in trade_opts if o["value"] in (v.get("trades") or [])]
    trades_el: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": Action.INPUT,
        "options": trade_opts,
        "placeholder": {"type": "plain_text", "text": "Choose one or more"},
    }
    if chosen:
        trades_el["initial_options"] = chosen
    email_el: dict[str, Any] = {"type": "email_text_input", "action_id": Action.INPUT}
    if v.get("email"):
        email_el["initial_value"] = v["email"]
    blocks = [
        input_block(
            Block.REQUEST_TITLE,
            "Title",
            text_input(v.get("title"), placeholder="e.g. AC not cooling", max_length=200),
        ),
        input_block(
            Block.REQUEST_ADDRESS,
            "Service address",
            text_input(v.get("address"), placeholder="Street, city, state ZIP", max_length=300),
        ),
        input_block(Block.REQUEST_TRADES, "Trades", trades_el),
        input_block(
            Block.REQUEST_CONTACT, "Contact name", text_input(v.get("contact"), max_length=150)
        ),
        input_block(
            Block.REQUEST_PHONE,
            "Contact phone",
            text_input(v.get("phone"), placeholder="(512) 555-0100", max_length=40),
        ),
        input_block(Block.REQUEST_EMAIL, "Contact email", email_el, optional=True),
        input_block(
            Block.REQUEST_DESCRIPTION,
            "Description",
            text_input(v.get("description"), multiline=True, max_length=2900),
            optional=True,
        ),
        input_block(
            Block.REQUEST_CLIENT,
            "Existing client",
            external_select(
                Action.REQUEST_CLIENT,
                initial=client_option,
                min_query_length=2,
                placeholder="Type a name, phone or email",
            ),
            optional=True,
            hint="Leave empty for a new customer.",
        ),
    ]
    return modal(Callback.REQUEST_MODAL, TITLE, blocks, submit="Create", metadata=meta)


def parse_request(view: Mapping[str, Any]) -> dict[str, Any]:
    """The request form's values as a plain dict (strings stripped, trades a list)."""
    s = flatten_state(view)

    def text(block: str) -> str:
        return (s.get(block) or "").strip()

    return {
        "title": text(Block.REQUEST_TITLE),
        "address": text(Block.REQUEST_ADDRESS),
        "trades": [t for t in s.get(Block.REQUEST_TRADES) or [] if t],
        "contact": text(Block.REQUEST_CONTACT),
        "phone": text(Block.REQUEST_PHONE),
        "email": text(Block.REQUEST_EMAIL),
        "description": text(Block.REQUEST_DESCRIPTION),
        "client": s.get(Block.REQUEST_CLIENT) or None,
    }


def validate_request(data: Mapping[str, Any]) -> dict[str, str]:
    """Every problem with the form at once, keyed by input block id."""
    errors: dict[str, str] = {}
    if not data.get("title"):
        errors[Block.REQUEST_TITLE] = "Give the request a short title."
    if not data.get("address"):
        errors[Block.REQUEST_ADDRESS] = "Enter the service address."
    if not data.get("trades"):
        errors[Block.REQUEST_TRADES] = "Choose at least one trade."
    if not data.get("contact"):
        errors[Block.REQUEST_CONTACT] = "Enter the contact's name."
    if not data.get("phone"):
        errors[Block.REQUEST_PHONE] = "Enter the contact's phone number."
    elif to_e164(data["phone"]) is None:
        errors[Block.REQUEST_PHONE] = (
            "That is not a valid phone number. Use 10 digits, e.g. (512) 555-0100, "
            "or + and the country code."
        )
    if data.get("email") and not _EMAIL.match(data["email"]):
        errors[Block.REQUEST_EMAIL] = "That is not a valid email address, e.g. name@example.com."
    client = data.get("client")
    if client and not parse_ref(client, ("account",)):
        errors[Block.REQUEST_CLIENT] = "Choose the client from the list again."
    return errors


def client_id(data: Mapping[str, Any]) -> int | None:
    """The chosen client's account id, or None."""
    ref = parse_ref(data.get("client"), ("account",))
    return ref[1] if ref else None


def opportunity_body(data: Mapping[str, Any], signature: str | None = None) -> dict[str, Any]:
    """The POST /opportunities body (OpportunityUpsert) for valid form data; `signature`, a line
    saying who opened it from Slack, ends the description."""
    phone = to_e164(data["phone"])
    # The spec has no contact-name field on an opportunity: keep it readable in the description.
    contact_line = f"Contact: {data['contact']}, {display(phone)}"
    if data.get("email"):
        contact_line += f", {data['email']}"
    if signature:
        contact_line += f"\n{signature}"
    # No length limit in the spec; the modal caps the person's description at 2,900 characters.
    description = "\n\n".join(p for p in (data.get("description"), contact_line) if p)
    body: dict[str, Any] = {
        "title": data["title"],
        "address": [data["address"]],
        "trades": list(data["trades"]),
        "primaryPhone": phone,
        "description": description,
    }
    if data.get("email"):
        body["primaryEmail"] = data["email"].lower()
    if (acc := client_id(data)) is not None:
        body["accountId"] = acc
    return body


def fingerprint_details(data: Mapping[str, Any]) -> dict[str, Any]:
    """The details that make two submissions 'the same request' (normalised; what the person
    typed, never the signature, so a retry signed with another name is the same request)."""

    def norm(text: str | None) -> str:
        return " ".join((text or "").split()).casefold()

    return {
        "title": norm(data.get("title")),
        "address": norm(data.get("address")),
        "trades": sorted(norm(t) for t in data.get("trades") or []),
        "contact": norm(data.get("contact")),
        "phone": to_e164(data.get("phone")) or norm(data.get("phone")),
        "email": norm(data.get("email")),
        "description": norm(data.get("description")),
        "client": data.get("client") or "",
    }


def request_confirmation(record: Mapping[str, Any], url: str, user: str) -> dict[str, Any]:
    """The channel message after a request was created: number, title, link."""
    number = escape(record.get("number") or record.get("id"))
    title = escape(truncate(str(record.get("title") or ""), 150))
    address = ", ".join(record.get("address") or [])
    text = f"Service request #{number} created by <@{user}>: {title}"
    lines = f":white_check_mark: *Service request #{number}* created by <@{user}>\n*{title}*"
    if address:
        lines += f"\n{escape(truncate(address, 200))}"
    blocks = [
        {"type": "section", "text": mrkdwn(lines)},
        {"type": "actions", "elements": [link_button("Open in Coperniq", url)]},
    ]
    return {"text": text, "blocks": blocks}


def request_done_modal(
    record: Mapping[str, Any], url: str, *, already: bool = False
) -> dict[str, Any]:
    """What the modal shows once the request exists."""
    number = record.get("number") or record.get("id")
    head = "This request was already created" if already else "Service request created"
    blocks = [
        section(
            f":white_check_mark: *{head}: #{escape(number)}*\n"
            + escape(truncate(str(record.get("title") or ""), 200))
        ),
        {"type": "actions", "elements": [link_button("Open in Coperniq", url)]},
    ]
    return modal(Callback.REQUEST_MODAL, TITLE, blocks, close="Close")


def request_pending_modal() -> dict[str, Any]:
    """What the modal shows when the same request is being created already."""
    return modal(
        Callback.REQUEST_MODAL,
        TITLE,
        [
            section(
                ":hourglass_flowing_sand: This request is already being created. "
                "You will see a confirmation in the channel in a moment."
            ),
        ],
        close="Close",
    )


def request_saving_modal(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What the modal shows while Coperniq creates the request."""
    return modal(
        Callback.REQUEST_MODAL,
        TITLE,
        [
            section(":hourglass_flowing_sand: Creating the request in Coperniq…"),
            context("You can close this window; the confirmation is posted in the channel."),
        ],
        metadata=meta,
        close="Close",
    )
