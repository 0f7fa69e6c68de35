"""Options load for the work-order modal's assignee when there are too many users for a static
select: read from the cached Coperniq users, no Coperniq call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks.common import OPTIONS_MAX
from bot.blocks.workorder import user_option
from bot.flows.workorder import search_users

if TYPE_CHECKING:
    from slack_bolt import Ack

    from bot.store import Store


def assignees(ack: Ack, body: dict[str, Any], store: Store) -> None:
    """Coperniq users whose name or email contains what was typed."""
    query = " ".join(str(body.get("value") or "").split())
    if not query:
        ack(options=[])
        return
    ack(options=[user_option(u) for u in search_users(store.db, query, OPTIONS_MAX)])
