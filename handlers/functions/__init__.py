"""Workflow Builder custom steps (Slack "functions"): one listener per step's callback id.

The steps are declared in the manifest's `functions` section (handlers.functions.specs, read by
bot.manifest) and arrive as `function_executed` events; Bolt acks each at once and runs the
listener after, with `complete`/`fail` bound to the execution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ids import Callback
from handlers.functions.specs import STEPS, functions_manifest
from handlers.functions.steps import add_note, create_service_request, log_call

if TYPE_CHECKING:
    from slack_bolt import App

__all__ = ["STEPS", "functions_manifest", "register"]


def register(app: App) -> None:
    """create_service_request, log_call and add_note (ack first, work after)."""
    app.function(Callback.STEP_CREATE_REQUEST.value)(create_service_request)
    app.function(Callback.STEP_LOG_CALL.value)(log_call)
    app.function(Callback.STEP_ADD_NOTE.value)(add_note)
