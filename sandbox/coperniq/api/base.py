"""The sandbox API's vocabulary and core: errors, requests, answers, the clock and the router."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.coperniq.db import RecordDB
from sandbox.coperniq.timeutil import iso
from sandbox.coperniq.webhooks import WebhookSender

MAX_PAGE_SIZE = 100
# The notes say uploads of about 6 MB are the most that go through (a gateway payload limit): above
# it the sandbox answers 413 like such a gateway does (413 is not declared in the spec; allow-
# listed).
MAX_UPLOAD_BYTES = 6 * 1024 * 1024
RECORD_TYPES = {"projects": "project", "opportunities": "opportunity", "accounts": "account"}


class ApiError(Exception):
    """An error answer: status and the spec's body {message, code, field?}."""

    def __init__(self, status: int, message: str, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.field = status, message, code, field

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.field is not None:
            out["field"] = self.field
        return out


def bad_request(message: str, field: str) -> ApiError:
    """400 with the offending field, as the API reports validation failures."""
    return ApiError(400, message, "VALIDATION_ERROR", field)


def not_found(what: str, rec_id: Any) -> ApiError:
    """404 for an unknown id."""
    return ApiError(404, f"{what} {rec_id} not found", "NOT_FOUND")


@dataclass
class ApiRequest:
    """One parsed request, path relative to /v1."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes = b""
    content_type: str = ""
    json: Any = None


@dataclass
class ApiResponse:
    """What to send back: status, JSON-able body (None = empty body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[..., ApiResponse]


class ApiBase:
    """The state every resource mixin shares: the record database, the clock and the routes."""

    def __init__(self, db: RecordDB, *, today: date | None, origin: Callable[[], str]) -> None:
        self.db = db
        self._fixed_today = today
        self._origin = origin
        self._lock = threading.RLock()
        self._last_now: datetime | None = None
        # A benchmark that plays days in minutes sets this, so that updatedAt follows its clock
        # (and `updated_after` listings see what changed since its last run, not since a real
        # minute ago). None: the real time, on the sandbox's date.
        self.clock: Callable[[], datetime] | None = None
        # Tests lower it to play a server that caps page_size below the documented 100.
        self.max_page_size = MAX_PAGE_SIZE
        # Set when the sandbox sends Coperniq webhooks (CoperniqSandbox(webhook_url=...)).
        self.webhooks: WebhookSender | None = None
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._register()  # the routing table (sandbox/coperniq/api/__init__.py)

    # ----- clock
    # -----------------------------------------------------------------------------------
    def today(self) -> date:
        """The sandbox's date: fixed when given, else the real current date."""
        return self._fixed_today or datetime.now(UTC).date()

    def set_today(self, day: date) -> None:
        """Fix the sandbox's date (the clock moves on a day at a time, for time in phase)."""
        self._fixed_today = day

    def now(self) -> datetime:
        """Strictly increasing UTC timestamps on the sandbox's date (for updatedAt)."""
        real = self.clock() if self.clock is not None else datetime.now(UTC)
        if self.clock is None and self._fixed_today is not None:
            real = datetime.combine(self._fixed_today, real.timetz())
        with self._lock:
            if self._last_now is not None and real <= self._last_now:
                real = self._last_now + timedelta(milliseconds=1)
            self._last_now = real
        return real

    def now_iso(self) -> str:
        """now() as API text."""
        return iso(self.now())

    # ----- routing
    # ---------------------------------------------------------------------------------
    def _route(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str], str] | None:
        """Find the handler, path params and spec path template for a request."""
        found_path = False
        for m, rx, template, handler in self.routes:
            mt = rx.match(path)
            if mt:
                found_path = True
                if m == method:
                    return handler, mt.groupdict(), template
        if found_path:
            raise ApiError(404, f"Cannot {method} {path}", "NOT_FOUND")
        return None

    def handle(self, req: ApiRequest) -> tuple[ApiResponse, str | None]:
        """Answer one request; also returns the spec path template it matched."""
        try:
            found = self.match(req.method, req.path)
            if found is None:
                raise ApiError(404, f"Cannot {req.method} {req.path}", "NOT_FOUND")
            handler, params, template = found
            return handler(req, **params), template
        except ApiError as exc:
            return ApiResponse(exc.status, exc.body()), None

    def _register(self) -> None:
        raise NotImplementedError

    @staticmethod
    def _bind(fn: Callable[..., ApiResponse], coll: str, id_name: str | None = None) -> Handler:
        def handler(req: ApiRequest, **params: str) -> ApiResponse:
            if id_name is not None:
                params["record_id"] = params.pop(id_name)
            return fn(req, coll, **params)

        return handler
