"""Modals (new service request, log a call, attach photos): submissions and in-modal actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ids import Action, Callback
from handlers.views import call, note, payment, photo, request, workorder

if TYPE_CHECKING:
    from slack_bolt import App


def register(app: App) -> None:
    """One view_submission listener per modal, then the actions that update an open modal."""
    app.view(Callback.REQUEST_MODAL.value)(request.submit)
    app.view(Callback.CALL_MODAL.value)(call.submit)
    app.view(Callback.PHOTO_MODAL.value)(photo.submit)
    app.view(Callback.PAYMENT_MODAL.value)(payment.submit)
    app.view(Callback.NOTE_MODAL.value)(note.submit)
    app.view(Callback.WORKORDER_MODAL.value)(workorder.submit)
    app.action(Action.CALL_DIRECTION.value)(call.direction_changed)
    app.action(Action.PHOTO_PROJECT.value)(photo.project_chosen)
    app.action(Action.PHOTO_FORM.value)(photo.form_chosen)
    app.action(Action.WORKORDER_RECORD.value)(workorder.record_chosen)
