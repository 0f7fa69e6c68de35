"""What a fault scenario is (Scenario) and what it counts once everything settled (Outcome)."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What a scenario found once everything settled."""

    lost: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)
    raised: int = 0  # job runs that ended in an exception instead of a result


@dataclass(frozen=True)
class Scenario:
    """One write surface (or job) under one fault; `play` takes a SlackHarness or a JobWorld."""

    surface: str
    fault: str
    kind: str  # "slack" | "job"
    play: Callable[[Any], Outcome]

    @property
    def name(self) -> str:
        return f"{self.surface} / {self.fault}"

    @property
    def id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


_COUNTER = itertools.count(1)
_COUNTER_LOCK = threading.Lock()


def new_tag() -> str:
    """A name part no other scenario in this process uses (records are told apart by it)."""
    with _COUNTER_LOCK:
        return f"t{next(_COUNTER)}"
