"""Exactly-once event handling: Slack delivers events at least once, retrying slow or failed acks.

    @once_per_event
    def handle_file_share(event, client, context, logger): ...
    app.event("message")(handle_file_share)

The wrapper claims the delivery's `event_id` in the store before running the listener and records
the outcome after: a retry of an event that is done or still in progress is skipped; a retry of
one whose first delivery failed (the listener raised) runs again. Bolt acks events before the
listener runs, so the claim must live here, around the listener, not in a middleware.
A claim left "processing" by a process that died is taken over once it is STALE_AFTER old, so
Slack's later retries (about 1 and 5 minutes after the first delivery) still get through.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.kwargs_injection.args import Args

from bot.store import claim_event, finish_event

log = logging.getLogger(__name__)

# Longer than any listener runs; shorter than Slack's last retry (about 5 minutes after the first).
STALE_AFTER = timedelta(minutes=4)


def claim(db: Any, event_id: str, now: datetime | None = None) -> bool:
    """Claim `event_id` to process: new, failed before, or abandoned by a process that died."""
    return claim_event(db, event_id, now or datetime.now(UTC), stale_after=STALE_AFTER)


def _argument(args: Args, name: str) -> Any:
    if hasattr(args, name):
        return getattr(args, name)
    return args.context.get(name)


def once_per_event(listener: Callable[..., Any]) -> Callable[[Args], None]:
    """Wrap an event listener so each event_id is processed once (failed ones may be retried)."""
    names = inspect.getfullargspec(inspect.unwrap(listener)).args

    def run_once(args: Args) -> None:
        kwargs = {name: _argument(args, name) for name in names}
        event_id = (args.body or {}).get("event_id")
        store = args.context.get("store")
        if not event_id or store is None:
            listener(**kwargs)
            return
        if not claim(store.db, event_id):
            retry = args.request.headers.get("x-slack-retry-num", ["?"])[0] if args.request else "?"
            log.info("Skipping event %s already handled (retry %s)", event_id, retry)
            return
        ok = False
        try:
            listener(**kwargs)
            ok = True
        finally:
            finish_event(store.db, event_id, ok)

    # No functools.wraps: Bolt reads the wrapped signature through __wrapped__ and would then
    # pass the listener's arguments instead of `args`.
    run_once.__name__ = getattr(listener, "__name__", "event_listener")
    run_once.__qualname__ = getattr(listener, "__qualname__", run_once.__name__)
    run_once.__doc__ = listener.__doc__
    return run_once
