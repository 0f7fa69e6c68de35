"""Modal submissions: new service request, log a call, attach photos."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ids import Callback
from handlers.views import call, photo, request

if TYPE_CHECKING:
    from slack_bolt import App


def register(app: App) -> None:
    """One view_submission listener per modal."""
    app.view(Callback.REQUEST_MODAL.value)(request.submit)
    app.view(Callback.CALL_MODAL.value)(call.submit)
    app.view(Callback.PHOTO_MODAL.value)(photo.submit)
