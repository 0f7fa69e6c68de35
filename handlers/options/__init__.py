"""Search-as-you-type for the external selects: the modals' (clients, records, projects) and the
App Home's clients in my summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ids import Action
from handlers.options import home, records, workorder

if TYPE_CHECKING:
    from slack_bolt import App


def register(app: App) -> None:
    """One options listener per external select."""
    app.options(Action.REQUEST_CLIENT.value)(records.clients)
    app.options(Action.CALL_RECORD.value)(records.any_record)
    app.options(Action.PHOTO_PROJECT.value)(records.projects)
    app.options(Action.HOME_CLIENTS.value)(home.clients)
    app.options(Action.WORKORDER_RECORD.value)(records.any_record)
    app.options(Action.WORKORDER_ASSIGNEE.value)(workorder.assignees)
