"""One run of a Workflow Builder step: exactly once per function execution, always completed.

Slack delivers `function_executed` at least once. The execution id is claimed in the store
(the same table, and the same rules, as every other event: handlers.events.dedupe) before any
work: a redelivery of an execution that finished or is still running does nothing; one whose
first run could not tell Slack how it ended runs again, and the write-once flows underneath
answer it from the stored record instead of writing twice.

Every ending tells Slack: `functions.completeSuccess` with the outputs, or
`functions.completeError` with a sentence for the person (StepFailed's, or a generic one for a
bug: never a traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.store import finish_event
from handlers.events.dedupe import claim
from handlers.functions.inputs import StepFailed

if TYPE_CHECKING:
    from slack_bolt import Complete, Fail

    from bot.store import Store

log = logging.getLogger(__name__)

# The key an execution is claimed under, beside Slack's event ids in slack_events.
EXECUTION_KEY = "function_execution:{}"

GENERIC_FAILURE = (
    "Something went wrong in the Coperniq bot and this step did not finish. Run the workflow "
    "again; if it keeps failing, tell whoever runs the bot."
)


def run_step(
    *,
    what: str,
    store: Store,
    execution_id: str,
    now: datetime,
    complete: Complete,
    fail: Fail,
    work: Callable[[], dict[str, Any]],
) -> bool:
    """Run `work` once for `execution_id` and complete the step; False when it was not run.

    `work` returns the step's outputs or raises StepFailed with what the person should read.
    """
    key = EXECUTION_KEY.format(execution_id)
    if not claim(store.db, key, now):
        log.info("%s: execution %s is done or running already", what, execution_id)
        return False
    told = False
    try:
        try:
            outputs = work()
        except StepFailed as exc:
            log.info("%s did not finish: %s", what, exc.user_message)
            fail(error=exc.user_message)
        except Exception:
            log.exception("%s failed unexpectedly", what)
            fail(error=GENERIC_FAILURE)
        else:
            complete(outputs=outputs)
        told = True
    except SlackApiError as exc:
        # Slack's error code only: its exception text quotes the whole answer.
        log.warning("%s: Slack was not told how it ended: %s", what, exc.response.get("error"))
    finally:
        # Not told: a redelivery runs it again (the writes underneath are write-once).
        finish_event(store.db, key, told)
    return True
