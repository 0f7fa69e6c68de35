"""Fault injection: latency, error statuses and held-then-dropped connections, per path glob."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    """One injected fault; `times` None means until cleared."""

    path: str
    method: str | None
    status: int | None
    latency: float
    timeout: float | None
    times: int | None
    retry_after: float | None
    body: Any

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (path relative to /v1, glob)."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)


class FaultTable:
    """Thread-safe list of faults; the first matching fault with uses left is consumed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Register a fault."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, counting one use."""
        with self._lock:
            for f in self._faults:
                if f.matches(method, path) and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None
