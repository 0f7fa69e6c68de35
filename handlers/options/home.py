"""Options load for the App Home's clients select: client titles from the local invoices copy
(no Coperniq call), at most 100, matching what was typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.common import OPTIONS_MAX
from bot.blocks.home import client_option
from bot.home import client_titles

if TYPE_CHECKING:
    from slack_bolt import Ack

    from bot.store import Store


def clients(ack: Ack, body: dict[str, Any], store: Store) -> None:
    """Clients whose title contains what was typed (all, A to Z, when nothing was)."""
    query = " ".join(str(body.get("value") or "").split())
    titles = client_titles(store.db, query, limit=OPTIONS_MAX)
    ack(options=[o for o in map(client_option, titles) if o is not None])
