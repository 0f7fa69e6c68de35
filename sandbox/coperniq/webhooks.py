"""Coperniq Automation webhooks from the sandbox: the bodies Coperniq sends and a sender for them.

What Coperniq documents (../shared/COPERNIQ_NOTES.md, "Webhooks"): a `POST` of `application/json`,
no signature (the secret is in the URL), retried on any non-2xx, sometimes delivered twice; the body
has `event` (always), `record` (record and phase triggers) and `workOrder` (work-order triggers).
Where the notes name a key but not its shape, the choice is commented where it is made.

    sender = WebhookSender("http://127.0.0.1:3000/coperniq/webhooks/<secret>", duplicate=True)
    sender.emit("TASK_COMPLETED", record_id=40001, fields={...}, work_order={...}, fired_at=...)
    sender.wait_idle(5); sender.deliveries   # [(body, status), ...] one per attempt; 0 = no answer
"""

from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.timeutil import at, iso

log = logging.getLogger(__name__)

# triggerKey -> triggerName. Coperniq shows a name beside the key; these are the sandbox's wording.
TRIGGER_NAMES = {
    "PROJECT_PHASE_STARTED": "Project phase started",
    "PROJECT_PHASE_COMPLETED": "Project phase completed",
    "PROJECT_PHASE_SLA_VIOLATION": "Project phase SLA violation",
    "TASK_STATUS_MOVEMENT": "Work order status changed",
    "TASK_COMPLETED": "Work order completed",
}

# `slaType` values are not documented. The sandbox sends these two, one per threshold, so that a
# receiver is exercised with both levels; the bot is told to accept any value and log unknown ones.
SLA_TYPES = (("YELLOW", "yellowSla"), ("RED", "redSla"))

DEFAULT_TRIES = 4  # Coperniq retries "any non-2xx"; how often is not documented: a few tries here
DEFAULT_BACKOFF = 0.05  # seconds before the 2nd try, doubled each time: tests stay fast
DEFAULT_TIMEOUT = 5.0


class Delivery(NamedTuple):
    """One delivery attempt: the body sent and the receiver's status (0: no answer)."""

    body: dict[str, Any]
    status: int


# ----- bodies
# -----------------------------------------------------------------------------------------
def sla_threshold(value: Any) -> int | None:
    """An SLA in days, or None when unset (null, or 0 from an unconfigured template)."""
    return int(value) if isinstance(value, int | float) and value > 0 else None


def crossed_levels(phase: Mapping[str, Any], before: int, after: int) -> list[tuple[str, int]]:
    """The (slaType, days) thresholds reached when time in phase goes from `before` to `after`.

    "Reaching" is days >= SLA, the moment the phase becomes overdue (overdueAt = start + SLA days),
    which is also when the bot's own selection calls a phase yellow or red.
    """
    out = []
    for sla_type, key in SLA_TYPES:
        days = sla_threshold(phase.get(key))
        if days is not None and before < days <= after:
            out.append((sla_type, days))
    return out


def overdue_at(started: date, days: int) -> str:
    """When a phase started on `started` passes an SLA of `days` (midnight UTC of that day)."""
    return iso(at(started + timedelta(days=days)))


def record_payload(project: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The `record` key for a project, from its rendered (API) and stored forms."""
    owner_id = raw.get("_projectManager")
    owner = None
    if isinstance(owner_id, int):
        u = seeddata.user_summary(owner_id)
        owner = {k: u[k] for k in ("id", "firstName", "lastName", "email")}
    return {
        "id": project["id"],
        "uid": project.get("number"),
        "type": "PROJECT",
        "title": project.get("title"),
        "status": project.get("status"),
        # The notes name `stage` without a shape: the sandbox sends the current phase as the API
        # renders it (name, type, SLAs, timeInStageDays), the richest reading a receiver could use.
        "stage": project.get("phase") or project.get("stage"),
        "address": project.get("address"),
        "owner": owner,
        "primaryContact": {
            "name": raw.get("_primaryName"),
            "email": project.get("primaryEmail"),
            "phone": project.get("primaryPhone"),
        },
        "createdAt": project.get("createdAt"),
        "updatedAt": project.get("updatedAt"),
    }


def status_id(work_order: Mapping[str, Any]) -> str | None:
    """A work order's status as one word (the API renders it as {id, label})."""
    st = work_order.get("status")
    return st.get("id") if isinstance(st, dict) else st


def work_order_payload(wo: Mapping[str, Any]) -> dict[str, Any]:
    """The `workOrder` key for a stored work order."""
    assignee = wo.get("assignee")
    return {
        "id": wo["id"],
        "uid": wo.get("uid"),
        "title": wo.get("title"),
        # A plain status word, as in the event's currentStatus/previousStatus.
        "status": status_id(wo),
        "priority": wo.get("priority"),
        "assigneeId": assignee.get("id") if isinstance(assignee, dict) else None,
        "isField": wo.get("isField"),
        "startDate": wo.get("startDate"),
        "endDate": wo.get("endDate"),
        "completionDate": wo.get("completedAt"),
        "createdAt": wo.get("createdAt"),
        "updatedAt": wo.get("updatedAt"),
    }


# ----- sending
# ----------------------------------------------------------------------------------------
class WebhookSender:
    """Numbers events and POSTs them from one background thread, in order, retrying failures."""

    def __init__(
        self,
        url: str,
        *,
        duplicate: bool = False,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError("webhook_url must be an http(s) URL")
        self.url = url
        self.duplicate = duplicate
        self.tries, self.backoff, self.timeout = max(1, tries), backoff, timeout
        # Ids start from the clock in milliseconds rather than 1: a receiver keeps the eventIds it
        # has seen, and a restarted sandbox (in memory) starting at 1 again would have its new
        # events dropped as redeliveries.
        self._last_id = int(time.time() * 1000)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._deliveries: list[Delivery] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def emit(
        self,
        trigger_key: str,
        *,
        record_id: int,
        fields: Mapping[str, Any],
        fired_at: str,
        record: Mapping[str, Any] | None = None,
        work_order: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Queue one event (twice with `duplicate`), return its body; never waits on the network."""
        with self._lock:
            self._last_id += 1
            event = {
                "eventId": self._last_id,
                "recordId": record_id,
                "triggerKey": trigger_key,
                "triggerName": TRIGGER_NAMES.get(trigger_key, trigger_key),
                "firedAt": fired_at,
                **fields,
            }
            body: dict[str, Any] = {"event": event}
            if record is not None:
                body["record"] = dict(record)
            if work_order is not None:
                body["workOrder"] = dict(work_order)
            copies = 2 if self.duplicate else 1
            self._pending += copies
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="coperniq-sandbox-webhooks", daemon=True
                )
                self._thread.start()
        for _ in range(copies):
            self._queue.put(body)
        return body

    @property
    def deliveries(self) -> list[Delivery]:
        """Every attempt so far, in order: (body, status), status 0 when nothing answered."""
        with self._lock:
            return list(self._deliveries)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event is delivered or given up; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        """Stop the sender thread (what is still queued is not sent)."""
        self._closed.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            if body is None or self._closed.is_set():
                return
            try:
                self._deliver(body)
            except Exception:  # a bug here must not stop later deliveries
                log.exception("webhook delivery failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        for attempt in range(self.tries):
            status = self._post(data)
            with self._lock:
                self._deliveries.append(Delivery(body, status))
            if 200 <= status < 300:
                return
            if attempt + 1 < self.tries and self._closed.wait(self.backoff * 2**attempt):
                return
        log.warning(
            "webhook event %s (%s) not accepted after %d tries",
            body["event"]["eventId"],
            body["event"]["triggerKey"],
            self.tries,
        )

    def _post(self, data: bytes) -> int:
        """One POST; the status, or 0 when the connection failed or timed out."""
        split = urlsplit(self.url)
        cls = http.client.HTTPSConnection if split.scheme == "https" else http.client.HTTPConnection
        path = (split.path or "/") + (f"?{split.query}" if split.query else "")
        # http.client rather than urllib: no proxy from the environment is ever consulted.
        conn = cls(split.hostname or "", split.port, timeout=self.timeout)
        try:
            conn.request(
                "POST",
                path,
                body=data,
                headers={"Content-Type": "application/json", "User-Agent": "coperniq-sandbox"},
            )
            resp = conn.getresponse()
            resp.read()
            return resp.status
        except (OSError, http.client.HTTPException):
            # The URL holds the secret: say only that this attempt had no answer.
            log.debug("webhook delivery attempt had no answer")
            return 0
        finally:
            conn.close()
