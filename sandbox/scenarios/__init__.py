"""Fault scenarios: every Slack-initiated write and both digests, under Coperniq and Slack faults.

One table, SCENARIOS, shared by tests/faults/ and benchmarks/bench_faults.py. A scenario drives
the real app (signed HTTP, as Slack sends it) or a job run against the Coperniq sandbox and the
fake Slack, injects one fault, then does what comes next in real life: the person presses the
button again when told the save failed or may not have happened, Slack delivers the same
submission again, the next scheduled run comes. Then it counts:

  lost        what should exist in Coperniq (or have been announced in Slack) does not, and the
              person was not told so with what they typed kept
  duplicates  copies beyond the first: records, calls, photos on the field, uploads to the
              project, digests listing the same item

Writes go through interactive policy (one quick retry, 429 only for writes); faults are
`times=1` unless named "stays". "timeout" holds the request, then drops it without an answer;
"after" faults apply the write first (`apply_first`), so only the answer is lost.

slack.py has the write surfaces and their faults, jobs.py the digests', modals.py drives a modal
as Slack would, outcome.py says what a scenario is and what it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.scenarios.jobs import (
    JOB_FAULTS,
    JOB_NOW,
    JOB_PROJECTS,
    JOB_TODAY,
    JobWorld,
    play_job_fault,
    start_job_sandbox,
)
from sandbox.scenarios.outcome import Outcome, Scenario
from sandbox.scenarios.slack import (
    WRITE_FAULTS,
    play_double_click,
    play_slack_retry,
    play_write_fault,
)

__all__ = [
    "JOB_NOW",
    "JOB_PROJECTS",
    "JOB_TODAY",
    "SCENARIOS",
    "JobWorld",
    "Outcome",
    "Scenario",
    "start_job_sandbox",
]


def _build() -> list[Scenario]:
    table: list[Scenario] = []

    def add(surface: str, fault: str, play: Callable[[Any], Outcome], kind: str = "slack") -> None:
        table.append(Scenario(surface, fault, kind, play))

    for surface in ("request modal", "call modal"):
        for fault in (
            "500",
            "500-after",
            "429",
            "429-twice",
            "timeout",
            "timeout-after",
            "drop",
            "drop-after",
            "400",
        ):
            add(surface, WRITE_FAULTS[fault].label, play_write_fault(surface, "create", fault))
        add(surface, "double click", play_double_click(surface, "create"))
        add(surface, "Slack retry of the submission", play_slack_retry(surface))
    for fault in ("500", "500-after", "429", "timeout-after", "drop", "drop-after", "400"):
        label = WRITE_FAULTS[fault].label
        add("photo modal", f"upload: {label}", play_write_fault("photo modal", "upload", fault))
        add("photo modal", f"attach: {label}", play_write_fault("photo modal", "attach", fault))
    add("photo modal", "double click", play_double_click("photo modal", "upload"))
    add("photo modal", "Slack retry of the submission", play_slack_retry("photo modal"))
    for fault in ("500-after", "drop-after"):
        label = WRITE_FAULTS[fault].label
        for surface in ("photo shortcut", "photo DM"):
            add(surface, f"upload: {label}", play_write_fault(surface, "upload", fault))
            add(surface, f"attach: {label}", play_write_fault(surface, "attach", fault))
    add("photo shortcut", "Slack retry of the submission", play_slack_retry("photo shortcut"))
    add("photo DM", "Slack retry of the event and the submission", play_slack_retry("photo DM"))
    for job in ("overdue-invoices", "form-sla"):
        for fault, spec in JOB_FAULTS.items():
            add(job, spec.label, play_job_fault(job, fault), kind="job")
    return table


SCENARIOS: list[Scenario] = _build()
