"""`POST /coperniq/webhooks/<COPERNIQ_WEBHOOK_SECRET>`: store the delivery, answer, process later.

Coperniq signs nothing: the secret in the path is the only proof a delivery is Coperniq's. A
wrong or missing secret is answered 404 exactly like any unknown path (nothing read, stored or
done), compared in constant time. The path is logged only as `/coperniq/webhooks/***`, and this
app never raises (a WSGI server logs the path of a request that raised).

With the right secret: a body over MAX_WEBHOOK_BYTES is refused 413 from its Content-Length
without being read; a body that is not JSON or has no `event.eventId` 400. Anything else is
stored in `webhook_events` and answered 200 at once (a redelivered eventId too, stored once);
processing is the worker's (bot.webhooks.worker), so a burst is acked as fast as rows insert.
A store that cannot be written is answered 503, so Coperniq delivers again later.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.webhook_setup import WEBHOOK_PATH
from bot.webhooks import events
from bot.webhooks.process import KNOWN_TRIGGERS, initial_status

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

MASKED_PATH = WEBHOOK_PATH + "***"
# Coperniq's bodies are one event with its record or work order: a few KiB. Far above that, far
# below what would let a stranger who learnt the URL fill the disk quickly.
MAX_WEBHOOK_BYTES = 256 * 1024

StartResponse = Callable[..., Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def is_webhook_path(path: str) -> bool:
    """Is this request for the receiver (whatever its secret)?"""
    return path.startswith(WEBHOOK_PATH) or path == WEBHOOK_PATH.rstrip("/")


def not_found(start_response: StartResponse) -> list[bytes]:
    """The 404 every unknown path gets (serve's), so a wrong secret looks like no receiver."""
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"Not Found"]


def _answer(
    start_response: StartResponse,
    status: str,
    payload: dict[str, Any],
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers + (extra or []))
    return [body]


class WebhookReceiver:
    """The WSGI app for the webhook path; `enqueue(event_id)` hands new work to the worker."""

    def __init__(
        self,
        store: Store,
        secret: str,
        enqueue: Callable[[str], None],
        *,
        max_body_bytes: int = MAX_WEBHOOK_BYTES,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not secret:
            raise ValueError("the webhook receiver needs COPERNIQ_WEBHOOK_SECRET")
        self._store = store
        self._secret = secret.encode("utf-8")
        self._enqueue = enqueue
        self.max_body_bytes = max_body_bytes
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookReceiver(path={MASKED_PATH!r})"  # never the secret

    def _secret_matches(self, path: str) -> bool:
        given = path[len(WEBHOOK_PATH) :] if path.startswith(WEBHOOK_PATH) else ""
        # Constant time over the secret's length whatever was given; an empty or a longer
        # guess is simply unequal.
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        try:
            if not self._secret_matches(environ.get("PATH_INFO") or ""):
                log.warning("Refused %s %s: not the webhook secret (404)", method, MASKED_PATH)
                return not_found(start_response)
            return self._deliver(method, environ, start_response)
        except Exception:
            # Nothing here may reach the server's own error log, which prints the path.
            log.exception("Coperniq webhook %s %s failed", method, MASKED_PATH)
            return _answer(start_response, "500 Internal Server Error", {"error": "internal"})

    def _refuse(
        self, start_response: StartResponse, status: str, why: str, size: str
    ) -> list[bytes]:
        log.warning("Refused POST %s (%s bytes): %s", MASKED_PATH, size, why)
        return _answer(start_response, status, {"error": why})

    def _deliver(
        self, method: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        if method != "POST":
            log.warning("Refused %s %s: only POST", method, MASKED_PATH)
            return _answer(
                start_response,
                "405 Method Not Allowed",
                {"error": "only POST"},
                [("Allow", "POST")],
            )
        raw = (environ.get("CONTENT_LENGTH") or "").strip()
        if not raw.isdigit():
            return self._refuse(start_response, "411 Length Required", "no Content-Length", "?")
        length = int(raw)
        if length > self.max_body_bytes:
            return self._refuse(
                start_response,
                "413 Content Too Large",
                f"body over {self.max_body_bytes} bytes",
                raw,
            )
        stream = environ.get("wsgi.input")
        body = stream.read(length) if stream is not None and length else b""
        if len(body) != length:
            return self._refuse(
                start_response, "400 Bad Request", "body shorter than its Content-Length", raw
            )
        try:
            delivery = events.parse(body)
        except events.BadDelivery as bad:
            return self._refuse(start_response, "400 Bad Request", str(bad), raw)
        status, outcome = initial_status(delivery)
        now = self._clock()
        try:
            new = events.store(self._store.db, delivery, status, now, outcome)
        except Exception:
            log.exception("Storing Coperniq webhook event %s failed", delivery.event_id)
            # Not stored, so not acknowledged: Coperniq retries any non-2xx.
            return _answer(start_response, "503 Service Unavailable", {"error": "not stored"})
        if not new:
            log.info(
                "Coperniq webhook event %s (%s) delivered again; processed once",
                delivery.event_id,
                delivery.trigger_key[:60],
            )
            return _answer(start_response, "200 OK", {"ok": True, "duplicate": True})
        if delivery.trigger_key not in KNOWN_TRIGGERS:
            log.warning(
                "Coperniq webhook event %s has an unknown triggerKey %r; stored as ignored",
                delivery.event_id,
                delivery.trigger_key[:60],
            )
        if status == events.RECEIVED:
            self._enqueue(delivery.event_id)
        return _answer(start_response, "200 OK", {"ok": True})
