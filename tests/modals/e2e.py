"""Helpers for the modal end-to-end tests: open a modal, fill it as Slack would, submit, wait.

They live in sandbox/scenarios/modals.py, shared with the fault scenarios and their benchmark;
this module keeps the tests' import path.
"""

from __future__ import annotations

from sandbox.scenarios.modals import current, open_modal, posts_to, resubmit, submit, writes

__all__ = ["current", "open_modal", "posts_to", "resubmit", "submit", "writes"]
