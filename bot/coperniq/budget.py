"""The daily request budget: a ledger of every call sent, and the reserve kept for people.

Coperniq allows a fixed number of requests per rolling 24 h per key. Every request the client
actually sends is written to the ledger (the store's `api_calls` table, or an in-memory deque
when there is no store), so the count survives restarts and is shared by every process using
the same database. Background work asks before spending; interactive work is only counted.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.coperniq.errors import BudgetExceeded

if TYPE_CHECKING:
    from bot.store import Store

WINDOW = timedelta(hours=24)
# X-RateLimit-Remaining is only trusted while it is this fresh; older, the ledger alone decides.
HEADER_FRESHNESS = timedelta(minutes=10)

INTERACTIVE = "interactive"
BACKGROUND = "background"


class Budget:
    """Counts calls per rolling 24 h and answers how many are left, for whom."""

    def __init__(
        self,
        daily_budget: int = 5000,
        reserve_fraction: float = 0.2,
        *,
        store: Store | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if daily_budget < 1:
            raise ValueError("daily_budget must be at least 1")
        if not 0.0 <= reserve_fraction < 1.0:
            raise ValueError("reserve_fraction must be in [0, 1)")
        self.daily_budget = daily_budget
        self.reserve_fraction = reserve_fraction
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: deque[datetime] = deque()
        self._last_header: tuple[datetime, int] | None = None

    def __repr__(self) -> str:
        return (
            f"Budget(daily_budget={self.daily_budget}, reserve={self.reserve}, "
            f"ledger={'store' if self._store is not None else 'memory'})"
        )

    @property
    def reserve(self) -> int:
        """Calls kept for people in Slack."""
        return math.ceil(self.daily_budget * self.reserve_fraction)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the budget clock must return an aware datetime")
        return now

    def record(
        self,
        *,
        method: str,
        path: str,
        status: int | None,
        purpose: str,
        rate_remaining: int | None = None,
    ) -> None:
        """Write one sent request to the ledger and remember the server's remaining count."""
        now = self._now()
        with self._lock:
            if rate_remaining is not None:
                self._last_header = (now, rate_remaining)
            if self._store is None:
                self._calls.append(now)
                self._prune(now)
                return
        from bot.store import record_api_call

        record_api_call(
            self._store.db,
            at=now,
            method=method,
            path=path,
            status=status,
            purpose=purpose,
            rate_remaining=rate_remaining,
        )

    def _prune(self, now: datetime) -> None:
        cutoff = now - WINDOW
        while self._calls and self._calls[0] < cutoff:
            self._calls.popleft()

    def used(self, window: timedelta = WINDOW) -> int:
        """Requests sent within `window` (at most 24 h back for the in-memory ledger)."""
        now = self._now()
        since = now - window
        if self._store is not None:
            from bot.store import api_calls_since

            return api_calls_since(self._store.db, since)
        with self._lock:
            self._prune(now)
            return sum(1 for at in self._calls if at >= since)

    def _fresh_header(self, now: datetime) -> int | None:
        with self._lock:
            seen = self._last_header
        if self._store is not None:
            # Another process sharing the database may have seen a newer header than we did.
            row = self._store.db.execute(
                "select at, rate_remaining from api_calls where rate_remaining is not null "
                "order by at desc limit 1"
            ).fetchone()
            if row is not None:
                at = datetime.fromisoformat(row[0])
                if seen is None or at > seen[0]:
                    seen = (at, int(row[1]))
        if seen is None or now - seen[0] > HEADER_FRESHNESS:
            return None
        return seen[1]

    def remaining(self) -> int:
        """Requests left in the rolling 24 h: the ledger's count, or the server's if lower."""
        now = self._now()
        left = self.daily_budget - self.used()
        header = self._fresh_header(now)
        if header is not None:
            left = min(left, header)
        return max(0, left)

    def available_for_background(self) -> int:
        """Requests background work may still spend before touching the reserve."""
        return max(0, self.remaining() - self.reserve)

    def require(self, n: int = 1) -> None:
        """Raise BudgetExceeded unless background work may spend `n` more requests."""
        available = self.available_for_background()
        if available < n:
            raise BudgetExceeded(
                f"Background work needs {n} Coperniq request(s) but only {available} are available "
                f"before the reserve of {self.reserve} kept for people "
                f"({self.remaining()} of {self.daily_budget} left in the last 24 h).",
            )
