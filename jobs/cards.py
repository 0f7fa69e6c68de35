"""Changing a posted digest message (a card) so that every change shows, whoever makes it.

Message updates in Slack carry no version: two people clicking on one message at once, or a
click during a run, would each render what they read and the last `chat.update` to land would
win, hiding the other's change. Here each change is applied to the stored model under the
store's write lock (which bumps its version), then rendered and sent; after sending, a writer
whose version is no longer the latest sends the latest model again. Whatever order the updates
land in, the message ends showing every change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs import state

if TYPE_CHECKING:
    from sqlite_utils import Database

    from jobs.digest import DigestJob

# (channel, ts, text, blocks) -> None; chat.update in effect, raising what Slack raised.
Update = Callable[[str, str, str, list[dict[str, Any]]], None]
CATCH_UP = 3  # re-sends after a newer change landed meanwhile (each is one chat.update)


def change_card(
    db: Database,
    job: DigestJob,
    channel: str,
    ts: str,
    change: Callable[[dict[str, Any]], None],
    now: datetime,
    update: Update,
) -> dict[str, Any] | None:
    """Apply `change` to message `ts`'s model, then show it; the model, or None if forgotten.

    A Slack failure propagates after the model is stored, so a later change (or the next run)
    shows it.
    """
    changed = state.change_model(db, channel, ts, change, now)
    if changed is None:
        return None
    model, version = changed
    for _ in range(1 + CATCH_UP):
        text, blocks = job.render(model)
        update(channel, ts, text, blocks)
        latest = state.model_version(db, channel, ts)
        if latest is None or latest[1] <= version:
            break
        model, version = latest
    return model
