"""Buttons and selects: open the call and photo modals, and the modals' own dispatch actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ids import Action
from handlers.actions import open_modals
from handlers.views import call, photo

if TYPE_CHECKING:
    from slack_bolt import App


def register(app: App) -> None:
    """Buttons that open modals, then the in-modal updates (direction, project, form)."""
    app.action(Action.OPEN_CALL_MODAL.value)(open_modals.open_call)
    app.action(Action.OPEN_PHOTO_MODAL.value)(open_modals.open_photo)
    app.action(Action.ATTACH_DM_FILES.value)(open_modals.open_photo_with_files)
    app.action(Action.CALL_DIRECTION.value)(call.direction_changed)
    app.action(Action.PHOTO_PROJECT.value)(photo.project_chosen)
    app.action(Action.PHOTO_FORM.value)(photo.form_chosen)
