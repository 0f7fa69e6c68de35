"""Buttons on messages: open the call and photo modals (find's results, the DM photo prompt), and
act on alert items (Take it, Nudge, Snooze…, Record payment, Log collection call), and the App
Home's Take it, notification toggles and Refresh."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.ids import Action
from handlers.actions import forms, home, invoices, open_modals, snooze, workorder, workorder_card

if TYPE_CHECKING:
    from slack_bolt import App


def register(app: App) -> None:
    """Buttons that open modals, the buttons on alert items, and the App Home's."""
    app.action(Action.OPEN_CALL_MODAL.value)(open_modals.open_call)
    app.action(Action.OPEN_PHOTO_MODAL.value)(open_modals.open_photo)
    app.action(Action.ATTACH_DM_FILES.value)(open_modals.open_photo_with_files)
    app.action(Action.OPEN_WORKORDER_MODAL.value)(workorder.open_workorder)
    app.action(Action.ALERT_TAKE.value)(forms.take)
    app.action(Action.ALERT_NUDGE.value)(forms.nudge)
    app.action(Action.ALERT_SNOOZE.value)(snooze.snooze)
    app.action(Action.ALERT_PAY.value)(invoices.record_payment)
    app.action(Action.ALERT_CALL.value)(invoices.collection_call)
    app.action(Action.HOME_TAKE.value)(home.take)
    app.action(Action.HOME_NOTIFY.value)(home.notify)
    app.action(Action.HOME_CLIENTS.value)(home.clients)
    app.action(Action.HOME_REFRESH.value)(home.refresh)
    # A card's status buttons carry the status in the action id (unique within the block).
    app.action(re.compile(rf"^{re.escape(Action.WO_STATUS.value)}(:.+)?$"))(
        workorder_card.set_status
    )
    app.action(Action.WO_PHOTOS.value)(workorder_card.add_photos)
    app.action(Action.WO_NOTE.value)(workorder_card.add_note)
