"""link_shared: a message (or a draft in the composer) holds Coperniq links; answer chat.unfurl.

Wrapped in once_per_event (handlers.events): a Slack retry of the same event neither reads
Coperniq nor calls chat.unfurl again; the cache (bot.unfurls) keeps any other message with the
same link within a few minutes from reading it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.unfurls import unfurl_client, unfurls_for

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

COMPOSER = "composer"


def where_to_unfurl(event: dict[str, Any]) -> dict[str, str] | None:
    """chat.unfurl's target: unfurl_id + source for a draft, else channel + ts of the message."""
    if event.get("source") == COMPOSER or not (event.get("channel") and event.get("message_ts")):
        if event.get("unfurl_id") and event.get("source"):
            return {"unfurl_id": event["unfurl_id"], "source": event["source"]}
        return None
    return {"channel": event["channel"], "ts": event["message_ts"]}


def unfurl_links(
    event: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    clock: Callable[[], datetime],
) -> None:
    """Unfurl the first Coperniq links of the message; links elsewhere cost nothing."""
    target = where_to_unfurl(event)
    if target is None:
        log.warning("link_shared without channel/ts or unfurl_id/source: nothing to answer")
        return
    urls = [link.get("url") for link in event.get("links") or [] if isinstance(link, dict)]
    # A draft's channel is not known yet: no amounts there (the money rule needs the channel).
    channel = None if event.get("source") == COMPOSER else event.get("channel")
    unfurls = unfurls_for(
        [u for u in urls if isinstance(u, str)],
        channel,
        db=store.db,
        coperniq=unfurl_client(coperniq),
        settings=settings,
        now=clock(),
    )
    if not unfurls:
        return
    try:
        client.chat_unfurl(unfurls=unfurls, **target)
    except SlackApiError as exc:
        # Slack refuses unfurls it no longer wants (message deleted, link edited away): nothing
        # to retry, and raising would only make the dedupe let a retry read Coperniq again.
        log.warning("chat.unfurl failed: %s", (exc.response or {}).get("error"))
