"""The sandbox's wire: the threaded HTTP server, recorded requests, the rolling budget."""

from __future__ import annotations

import collections
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sandbox.coperniq.server import CoperniqSandbox


DEFAULT_TIMEOUT_HOLD = (
    60.0  # seconds a `timeout` fault holds a request before dropping the connection
)
MAX_BODY = (
    11 * 1024 * 1024
)  # the API's documented 10 MB request limit, with headroom for multipart framing
DAY = 24 * 3600.0

ALIASES = {
    "work-orders": "work_orders",
    "work-order-templates": "work_order_templates",
    "line-items": "line_items",
    "catalog-items": "catalog_items",
    "requests": "opportunities",
    "clients": "accounts",
    "comments": "notes",
}
ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
ERROR_MESSAGES = {
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


@dataclass(frozen=True)
class RecordedRequest:
    """A request the sandbox received (path relative to /v1; status 0 = connection dropped)."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str] = field(repr=False)
    body: Any
    status: int
    # With an `apply_first` fault: the status the API gave before the fault replaced its answer.
    applied: int | None = None

    def __repr__(self) -> str:
        # The key is a test key, but keep the habit: never print credentials.
        applied = "" if self.applied is None else f" applied={self.applied}"
        return (
            f"RecordedRequest({self.method} {self.path} query={self.query!r} "
            f"status={self.status}{applied})"
        )


class _Budget:
    """Requests per rolling 24 hours for the one key."""

    def __init__(self, limit: int, per_second: int | None = None) -> None:
        self.limit = limit
        self.per_second = per_second
        self._stamps: collections.deque[float] = collections.deque()
        self._recent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self.clock = time.time  # replaceable in tests

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - DAY:
            self._stamps.popleft()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()

    def consume(self) -> tuple[str | None, int]:
        """Count one request if allowed: (None, remaining) or ("day" | "second", remaining)."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            if len(self._stamps) >= self.limit:
                return "day", 0
            if self.per_second is not None and len(self._recent) >= self.per_second:
                return "second", self.limit - len(self._stamps)
            self._stamps.append(now)
            self._recent.append(now)
            return None, self.limit - len(self._stamps)

    def remaining(self) -> int:
        """Requests left in the window."""
        with self._lock:
            self._prune(self.clock())
            return max(self.limit - len(self._stamps), 0)

    def add(self, n: int) -> None:
        """Count n requests now (tests use it to exhaust the budget quickly)."""
        with self._lock:
            self._stamps.extend([self.clock()] * n)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks send 20 at a time; the stdlib default backlog is 5

    def __init__(self, addr: tuple[str, int], sandbox: CoperniqSandbox) -> None:
        self.sandbox = sandbox
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, dropped connections) are normal here; anything else is a
        # bug.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError | socket.timeout):
            log.debug("sandbox connection closed by %s", client_address, exc_info=True)
        else:
            log.exception("sandbox failed serving %s", client_address)

    def close_all(self) -> None:
        with self.sockets_lock:
            socks = list(self.open_sockets)
            self.open_sockets.clear()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30  # idle keep-alive connections end on their own
    disable_nagle_algorithm = (
        True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: tests and benchmarks read sb.requests instead

    def do_GET(self) -> None:  # noqa: N802
        self.server.sandbox._dispatch(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET  # noqa: N815


def _read_chunked(h: BaseHTTPRequestHandler, limit: int) -> bytes | None:
    """A chunked request body (None when it exceeds limit)."""
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = h.rfile.readline(1024)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        total += size
        if total > limit:
            return None
        parts.append(h.rfile.read(size))
        h.rfile.readline(1024)
