"""Fault injection: latency, error statuses and held-then-dropped connections, per path glob.

A fault answers instead of the API (nothing is applied), or, with `apply_first`, after it: the
request is handled and its changes kept, and only then is the answer replaced by the fault's
status or the connection dropped, as when Coperniq saved a write but the answer never arrived.
`page` limits a fault to one page of a listing (the `page` query parameter; absent means 1).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping
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
    apply_first: bool = False
    page: int | None = None

    def matches(self, method: str, path: str, query: Mapping[str, str] | None = None) -> bool:
        """Whether this fault applies to a request (path relative to /v1, glob; query by name)."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.page is not None and _page_of(query or {}) != self.page:
            return False
        return fnmatch.fnmatchcase(path, self.path)


def _page_of(query: Mapping[str, str]) -> int | None:
    """The page a request asks for (the API's default is 1); None when it is not a number."""
    raw = str(query.get("page") or "1").strip()
    return int(raw) if raw.isdigit() else None


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

    def take(self, method: str, path: str, query: Mapping[str, str] | None = None) -> Fault | None:
        """The fault to apply to this request, counting one use."""
        with self._lock:
            for f in self._faults:
                if f.matches(method, path, query) and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None
