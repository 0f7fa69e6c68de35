"""The one thread that processes stored deliveries, so the HTTP threads only insert and answer.

The receiver enqueues the event id of each new delivery that needs processing. The worker claims
the row (bot.webhooks.events.claim: one worker gets it, even across processes), processes it
(bot.webhooks.process) and records the outcome. An event that must wait (the form-sla job's
lease is held by a polled run, Coperniq is failing) goes back to `received` and is tried again
after 1, 2, 4 ... s, at most RETRY_MAX apart; a busy job is waited for without limit.

At start, and every SWEEP_EVERY after, the worker picks up rows left `received` (a process that
died after storing, before processing) or `processing` for longer than STALE_PROCESSING (died
while processing): a delivery answered 200 is never lost, and a claim makes each processed once.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.webhooks import events
from bot.webhooks.process import MAX_TRANSIENT_ATTEMPTS, Processed, Retry, process

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

RETRY_BASE = 1.0  # seconds before the first retry of an event that must wait
RETRY_MAX = 60.0
SWEEP_EVERY = 60.0  # seconds between looks for rows nobody is processing

Processor = Callable[["Deps", events.StoredEvent, datetime, threading.Event], Processed]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _default_processor(
    deps: Deps, event: events.StoredEvent, now: datetime, stop: threading.Event
) -> Processed:
    return process(deps, event, now, stop=stop)


class WebhookWorker:
    """Processes stored Coperniq deliveries on one background thread; start() and stop()."""

    def __init__(
        self,
        deps: Deps,
        *,
        clock: Callable[[], datetime] = _utcnow,
        processor: Processor = _default_processor,
        stale_after: timedelta = events.STALE_PROCESSING,
        retry_base: float = RETRY_BASE,
        retry_max: float = RETRY_MAX,
        sweep_every: float = SWEEP_EVERY,
    ) -> None:
        self.deps = deps
        self.clock = clock
        self.processor = processor
        self.stale_after = stale_after
        self.retry_base, self.retry_max = retry_base, retry_max
        self.sweep_every = sweep_every
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._later: list[tuple[float, str]] = []  # (monotonic due time, event id), a heap
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = 0  # events taken off the queue and not yet finished or rescheduled
        self._idle = threading.Condition()

    # --- what the receiver and serve call --------------------------------------------------

    def enqueue(self, event_id: str) -> None:
        """Process this stored event soon (called by the HTTP thread right after the insert)."""
        with self._idle:
            self._busy += 1
        self._queue.put(event_id)

    def start(self) -> WebhookWorker:
        """Start the thread; it first picks up what a previous process left unprocessed."""
        self._stop.clear()
        # Queued before the thread runs, so that wait_idle() right after start() waits for them.
        self._sweep()
        self._thread = threading.Thread(target=self._run, name="coperniq-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the event in hand (its run stops at its next safe point); unfinished rows
        stay `received` for the next start."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued, in hand or waiting for a retry; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0 and not self._later, timeout=timeout)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        next_sweep = time.monotonic() + self.sweep_every  # start() swept once already
        while not self._stop.is_set():
            now_m = time.monotonic()
            if now_m >= next_sweep:
                self._sweep()
                next_sweep = now_m + self.sweep_every
            self._due_retries(now_m)
            wait = next_sweep - now_m
            with self._idle:
                if self._later:
                    wait = min(wait, self._later[0][0] - now_m)
            try:
                event_id = self._queue.get(timeout=max(0.01, wait))
            except queue.Empty:
                continue
            if event_id is None:
                break
            try:
                self._handle(event_id)
            except Exception:
                # The store refused the outcome (locked, disk full): the row stays claimed and
                # is taken again once stale; this thread must live on for the others.
                log.exception("Coperniq webhook event %s: recording its outcome failed", event_id)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _sweep(self) -> None:
        try:
            rows = events.unfinished(self.deps.store.db, self.clock(), self.stale_after)
        except Exception:
            log.exception("Looking for unprocessed Coperniq webhook events failed")
            return
        with self._idle:
            waiting = {event_id for _, event_id in self._later}
        fresh = [event_id for event_id, _ in rows if event_id not in waiting]
        if fresh:
            log.info("Coperniq webhooks: %d stored event(s) to process", len(fresh))
        for event_id in fresh:
            self.enqueue(event_id)  # a second enqueue of one id is harmless: one claim wins

    def _due_retries(self, now_m: float) -> None:
        with self._idle:
            while self._later and self._later[0][0] <= now_m:
                _, event_id = heapq.heappop(self._later)
                self._busy += 1
                self._queue.put(event_id)

    def _later_by(self, event_id: str, attempts: int) -> float:
        delay = min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1))
        with self._idle:
            heapq.heappush(self._later, (time.monotonic() + delay, event_id))
        return delay

    def _handle(self, event_id: str) -> None:
        db = self.deps.store.db
        now = self.clock()
        try:
            event = events.claim(db, event_id, now, self.stale_after)
        except Exception:
            log.exception("Claiming Coperniq webhook event %s failed", event_id)
            return
        if event is None:
            return  # done already, or another worker has it
        try:
            done = self.processor(self.deps, event, now, self._stop)
        except Retry as retry:
            if not retry.forever and event.attempts >= MAX_TRANSIENT_ATTEMPTS:
                events.finish(db, event_id, events.FAILED, retry.reason, self.clock())
                log.warning(
                    "Coperniq webhook event %s (%s) failed after %d tries: %s",
                    event_id,
                    event.trigger_key,
                    event.attempts,
                    retry.reason,
                )
                return
            events.release(db, event_id, f"waiting: {retry.reason}")
            if self._stop.is_set():
                return  # left `received`: the next start processes it
            delay = self._later_by(event_id, event.attempts)
            log.info(
                "Coperniq webhook event %s (%s) waits %.0f s: %s",
                event_id,
                event.trigger_key,
                delay,
                retry.reason,
            )
            return
        except Exception as exc:
            log.exception("Processing Coperniq webhook event %s (%s)", event_id, event.trigger_key)
            events.finish(
                db, event_id, events.FAILED, f"{type(exc).__name__}: {str(exc)[:200]}", self.clock()
            )
            return
        events.finish(db, event_id, done.status, done.outcome, self.clock())
        log.info("Coperniq webhook event %s (%s): %s", event_id, event.trigger_key, done.outcome)
