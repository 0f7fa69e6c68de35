"""Options loads for the record pickers: answered within 3 s, at most 100 "kind:id" options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.common import MIN_SEARCH_CHARS, OPTIONS_MAX
from bot.blocks.records import record_option, record_options
from bot.records import CLIENT, KINDS, PROJECT, search

if TYPE_CHECKING:
    from slack_bolt import Ack

    from bot.coperniq import CoperniqClient

PER_TYPE = 20
SINGLE_TYPE = 50


def _query(body: dict[str, Any]) -> str:
    return " ".join(str(body.get("value") or "").split())


def any_record(ack: Ack, body: dict[str, Any], coperniq: CoperniqClient) -> None:
    """Projects, requests and clients matching what was typed, grouped by kind."""
    query = _query(body)
    if len(query) < MIN_SEARCH_CHARS:
        ack(options=[])
        return
    found, _ = search(coperniq.interactive, query, KINDS, PER_TYPE)
    ack(**record_options(found))


def _single(ack: Ack, body: dict[str, Any], coperniq: CoperniqClient, kind: str) -> None:
    query = _query(body)
    if len(query) < MIN_SEARCH_CHARS:
        ack(options=[])
        return
    found, _ = search(coperniq.interactive, query, (kind,), SINGLE_TYPE)
    ack(options=[record_option(kind, r) for r in found.get(kind, [])][:OPTIONS_MAX])


def clients(ack: Ack, body: dict[str, Any], coperniq: CoperniqClient) -> None:
    """Clients (accounts) for the request modal."""
    _single(ack, body, coperniq, CLIENT.kind)


def projects(ack: Ack, body: dict[str, Any], coperniq: CoperniqClient) -> None:
    """Projects for the photo modal."""
    _single(ack, body, coperniq, PROJECT.kind)
