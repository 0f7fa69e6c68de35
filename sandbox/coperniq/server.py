"""CoperniqSandbox: the stateful local Coperniq API on loopback (threaded HTTP over SQLite)."""

from __future__ import annotations

import collections
import copy
import hmac
import json
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api import ApiError, ApiRequest, ApiResponse, CoperniqAPI
from sandbox.coperniq.db import RecordDB
from sandbox.coperniq.faults import Fault, FaultTable

log = logging.getLogger(__name__)

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


class CoperniqSandbox:
    """A seeded, stateful Coperniq API on 127.0.0.1: auth, pagination, budget, faults."""

    def __init__(
        self,
        api_key: str = "sandbox-key",
        *,
        seed: int = 388,
        projects: int = 300,
        invoices: int | None = None,
        daily_budget: int = 5000,
        today: date | None = None,
        db_path: str | Path | None = None,
        validate: bool = False,
        latency: float = 0.0,
        per_second: int | None = None,
    ) -> None:
        self._api_key = str(api_key.reveal() if hasattr(api_key, "reveal") else api_key)
        self.seed, self.projects = seed, projects
        self.invoices = invoices if invoices is not None else 3 * projects
        self.validate = validate
        self.latency = latency
        # per_second mirrors the API's 100 requests/s limit; off by default so that tests and
        # benchmarks measure the client rather than the limit.
        self.budget = _Budget(daily_budget, per_second)
        self.db = RecordDB(db_path)
        self._origin = "http://127.0.0.1:0"
        self.api = CoperniqAPI(self.db, today=today, origin=lambda: self._origin)
        self.faults = FaultTable()
        # The spec documents no X-RateLimit-* header: False answers without them, as an account
        # whose API does not send them would (check --deep must notice).
        self.rate_limit_headers = True
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._warnings: list[str] = []
        self._rec_lock = threading.Lock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._checker: Any = None
        if self.db.is_empty():
            self._seed()
        if validate:
            from sandbox.coperniq.conformance import get_checker

            self._checker = get_checker()

    def __repr__(self) -> str:
        return (
            f"CoperniqSandbox(base_url={self.base_url!r}, projects={self.projects}, "
            f"invoices={self.invoices})"
        )

    # ----- lifecycle
    # -------------------------------------------------------------------------------
    def _seed(self) -> None:
        data = seeddata.generate(
            seed=self.seed, projects=self.projects, invoices=self.invoices, today=self.api.today()
        )
        for coll, recs in data.items():
            self.db.put_many(coll, recs)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> CoperniqSandbox:
        """Start serving in a background thread; port 0 picks a free port."""
        if self._server is not None:
            return self
        self._stop.clear()
        self._server = _Server((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        self._origin = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="coperniq-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        """The API base, e.g. http://127.0.0.1:PORT/v1 (no trailing slash)."""
        return f"{self._origin}/v1"

    @property
    def origin(self) -> str:
        """Scheme, host and port (sandbox-only paths such as /_sandbox/files/<id> live here)."""
        return self._origin

    @property
    def api_key(self) -> str:
        """The key the sandbox accepts (a test key)."""
        return self._api_key

    def stop(self) -> None:
        """Stop promptly, dropping held (timeout-fault) and keep-alive connections."""
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_all()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stop and close the database."""
        self.stop()
        self.db.close()

    def __enter__(self) -> CoperniqSandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----- faults
    # ----------------------------------------------------------------------------------
    def inject(
        self,
        path: str = "*",
        method: str | None = None,
        status: int | None = None,
        latency: float = 0.0,
        timeout: bool | float = False,
        times: int | None = None,
        retry_after: float | None = None,
        body: Any = None,
        drop: bool = False,
        apply_first: bool = False,
        page: int | None = None,
    ) -> Fault:
        """Inject a fault for requests whose path (relative to /v1) matches the glob.

        `timeout=True` holds the request DEFAULT_TIMEOUT_HOLD seconds (a number sets the hold) and
        then drops the connection without answering; `drop=True` drops it at once.
        `apply_first=True` handles the request as usual first (a write is saved) and only then
        answers `status` instead, or holds and drops the connection (`timeout` / `drop`).
        `page=N` faults only requests for page N of a listing (no `page` parameter is page 1).
        `times=None` applies until clear_faults().
        """
        if apply_first and status is None and timeout is False and not drop:
            raise ValueError("apply_first needs a status, a timeout or drop to answer with")
        hold = None
        if drop:
            hold = 0.0
        elif timeout is not False and timeout is not None:
            hold = DEFAULT_TIMEOUT_HOLD if timeout is True else float(timeout)
        return self.faults.add(
            Fault(
                path=path,
                method=method,
                status=status,
                latency=latency,
                timeout=hold,
                times=times,
                retry_after=retry_after,
                body=body,
                apply_first=apply_first,
                page=page,
            )
        )

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults.clear()

    # ----- observation
    # -----------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far."""
        with self._rec_lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        """Forget recorded requests."""
        with self._rec_lock:
            self._requests.clear()

    @property
    def conformance_errors(self) -> list[str]:
        """Spec violations seen so far (requests and responses), when validate=True."""
        with self._rec_lock:
            return list(self._errors)

    @property
    def conformance_warnings(self) -> list[str]:
        """Request body fields the spec does not list (valid as written; the API may drop them)."""
        with self._rec_lock:
            return list(self._warnings)

    def clear_conformance_errors(self) -> None:
        """Forget recorded spec violations (after a test sent a deliberately wrong request)."""
        with self._rec_lock:
            self._errors.clear()
            self._warnings.clear()

    def budget_remaining(self) -> int:
        """Requests left in the rolling 24-hour budget."""
        return self.budget.remaining()

    def consume_budget(self, n: int) -> None:
        """Count n requests against the budget without sending them."""
        self.budget.add(n)

    # ----- direct data access (tests)
    # --------------------------------------------------------------
    @staticmethod
    def _coll(collection: str) -> str:
        return ALIASES.get(collection, collection)

    def get(self, collection: str, rec_id: int) -> dict[str, Any] | None:
        """A record as GET on it would answer (detail view), or None."""
        coll = self._coll(collection)
        rec = self.db.get(coll, int(rec_id))
        return (
            self.api.render(coll, rec, detail=True, query={"include_contacts": "true"})
            if rec
            else None
        )

    def raw(self, collection: str, rec_id: int) -> dict[str, Any] | None:
        """A record as stored, internal `_` keys included."""
        return self.db.get(self._coll(collection), int(rec_id))

    def all(self, collection: str) -> list[dict[str, Any]]:
        """Every record of a collection, rendered, ordered by id."""
        coll = self._coll(collection)
        return [
            self.api.render(coll, r, detail=True, query={"include_contacts": "true"})
            for r in self.db.all(coll)
        ]

    def find(self, collection: str, **match: Any) -> list[dict[str, Any]]:
        """Rendered records whose fields equal the values (`phase__slaStatus="VIOLATED"` nests)."""
        coll = self._coll(collection)

        def matches(rec: dict[str, Any], keys: list[str]) -> bool:
            for key in keys:
                cur: Any = rec
                for part in key.split("__"):
                    cur = cur.get(part) if isinstance(cur, dict) else None
                if cur != match[key]:
                    return False
            return True

        # Plain stored fields are compared before rendering (benchmarks call find in loops over
        # thousands of records); computed or rewritten fields only on the rendered record.
        computed = {
            "phase",
            "stage",
            "phaseInstances",
            "title",
            "contacts",
            "id",
            "downloadUrl",
            "formLayouts",
            "fields",
            "createdBy",
            "createdByUser",
        }
        plain = [k for k in match if k.split("__")[0] not in computed]
        out = []
        for raw in self.db.all(coll):
            if plain and not matches(raw, plain):
                continue
            rec = self.api.render(coll, raw, detail=True, query={"include_contacts": "true"})
            if matches(rec, list(match)):
                out.append(rec)
        return out

    def put(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace a record directly (no id: one is assigned); returns it rendered."""
        coll = self._coll(collection)
        rec = copy.deepcopy(record)
        with self.api._lock:
            if "id" not in rec:
                rec["id"] = max(self.db.max_id(coll) + 1, 1)
            old = self.db.get(coll, int(rec["id"])) or {}
            for key, value in old.items():
                if key.startswith("_") and key not in rec:
                    rec[key] = value
            now = self.api.now_iso()
            rec.setdefault("createdAt", old.get("createdAt", now))
            rec.setdefault("updatedAt", now)
            self._link_parent(coll, rec)
            if coll == "projects":
                cur = rec.get("phase") or rec.get("stage")
                if isinstance(cur, dict) and cur.get("timeInStageDays") is not None:
                    start = self.api.today() - timedelta(days=int(cur["timeInStageDays"]))
                    rec["_phaseStartedAt"] = start.isoformat()
                for key in ("phase", "stage"):
                    if isinstance(rec.get(key), dict):
                        rec[key].pop("timeInStageDays", None)
                        rec[key].pop("slaStatus", None)
                if "phaseInstances" in rec:
                    rec["_phaseInstances"] = rec.pop("phaseInstances")
            self.db.put(coll, rec)
        return self.get(coll, rec["id"]) or rec

    @staticmethod
    def _link_parent(coll: str, rec: dict[str, Any]) -> None:
        if "_parentType" in rec:
            return
        if coll in ("forms", "line_items") and rec.get("projectId"):
            rec["_parentType"], rec["_parentId"] = "project", int(rec["projectId"])
        elif coll == "invoices" and isinstance(rec.get("record"), dict):
            rec["_parentType"], rec["_parentId"] = "project", int(rec["record"]["id"])
            if isinstance(rec.get("account"), dict):
                rec["_accountId"] = rec["account"]["id"]
        elif coll == "work_orders" and isinstance(rec.get("project"), dict):
            rec["_parentType"], rec["_parentId"] = "project", int(rec["project"]["id"])

    def update(self, collection: str, rec_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a stored record and bump updatedAt, like an edit in Coperniq would."""
        coll = self._coll(collection)
        with self.api._lock:
            rec = self.db.get(coll, int(rec_id))
            if rec is None:
                raise KeyError(f"{collection} {rec_id} not found")
            rec.update(copy.deepcopy(fields))
            rec["updatedAt"] = self.api.now_iso()
            self.db.put(coll, rec)
        return self.get(coll, rec_id) or rec

    def delete(self, collection: str, rec_id: int) -> bool:
        """Remove a record directly."""
        return self.db.delete(self._coll(collection), int(rec_id))

    def set_phase(
        self,
        project_id: int,
        *,
        template_id: int | None = None,
        name: str | None = None,
        time_in_stage_days: int | None = None,
    ) -> dict[str, Any]:
        """Move a project to a phase (template id or name) and/or set its days in the phase."""
        with self.api._lock:
            rec = self.db.get("projects", int(project_id))
            if rec is None:
                raise KeyError(f"project {project_id} not found")
            wid = rec.get("workflowId")
            phases = seeddata.WORKFLOWS.get(int(wid), ("", [], False, []))[3] if wid else []
            key = "stage" if "stage" in rec else "phase"
            cur = rec.get(key) or {}
            target_id = cur.get("templateId", cur.get("id"))
            if template_id is not None or name is not None:
                match = [
                    p for p in phases if p[0] == template_id or (name is not None and p[1] == name)
                ]
                if not match:
                    raise KeyError(f"no phase {template_id or name!r} in workflow {wid}")
                target_id = match[0][0]
                idx = [p[0] for p in phases].index(target_id)
                ph = phases[idx]
                now = self.api.now_iso()
                instances = rec.get("_phaseInstances", [])
                for k, inst in enumerate(instances):
                    if k < idx:
                        inst["status"] = "COMPLETED"
                        inst["completedAt"] = inst.get("completedAt") or now
                        inst["startedAt"] = inst.get("startedAt") or now
                    elif k == idx:
                        inst["status"] = "IN_PROGRESS"
                        inst["startedAt"] = now
                        inst["completedAt"] = None
                    else:
                        inst["status"] = "NOT_STARTED"
                        inst["startedAt"] = inst["completedAt"] = None
                if key == "stage":
                    rec["stage"] = {
                        "id": ph[0],
                        "name": ph[1],
                        "type": ph[2],
                        "scope": "PROJECT",
                        "redSla": ph[4],
                        "yellowSla": ph[3],
                    }
                else:
                    inst_id = (
                        instances[idx]["id"] if idx < len(instances) else cur.get("instanceId")
                    )
                    rec["phase"] = {
                        "instanceId": inst_id,
                        "templateId": ph[0],
                        "name": ph[1],
                        "status": "IN_PROGRESS",
                        "type": ph[2],
                        "redSla": ph[4],
                        "yellowSla": ph[3],
                    }
                rec["_phaseStartedAt"] = self.api.today().isoformat()
            if time_in_stage_days is not None:
                rec["_phaseStartedAt"] = (
                    self.api.today() - timedelta(days=time_in_stage_days)
                ).isoformat()
            rec["updatedAt"] = self.api.now_iso()
            self.db.put("projects", rec)
        return self.get("projects", project_id) or rec

    def pay_invoice(self, invoice_id: int, amount: float | None = None) -> dict[str, Any]:
        """Record a payment (None: the full balance); status becomes PAID or PARTIALLY_PAID."""
        with self.api._lock:
            rec = self.db.get("invoices", int(invoice_id))
            if rec is None:
                raise KeyError(f"invoice {invoice_id} not found")
            balance = round(rec["amount"] - rec["amountPaid"], 2)
            pay = balance if amount is None else min(float(amount), balance)
            rec["amountPaid"] = round(rec["amountPaid"] + pay, 2)
            rec["status"] = "PAID" if rec["amountPaid"] >= rec["amount"] else "PARTIALLY_PAID"
            rec["updatedAt"] = self.api.now_iso()
            self.db.put("invoices", rec)
        return self.get("invoices", invoice_id) or rec

    def set_form_status(self, form_id: int, status: str) -> dict[str, Any]:
        """Move a form to a status (COMPLETED sets isCompleted/completedAt) and bump updatedAt."""
        if status not in seeddata.FORM_STATUSES:
            raise ValueError(f"unknown form status {status!r}")
        with self.api._lock:
            rec = self.db.get("forms", int(form_id))
            if rec is None:
                raise KeyError(f"form {form_id} not found")
            self.api._set_form_status(rec, status)
            rec["updatedAt"] = self.api.now_iso()
            self.db.put("forms", rec)
        return self.get("forms", form_id) or rec

    def complete_form(self, form_id: int) -> dict[str, Any]:
        """Mark a form COMPLETED."""
        return self.set_form_status(form_id, "COMPLETED")

    def file_content(self, file_id: int) -> bytes | None:
        """The bytes of an uploaded file (None for seeded/URL files)."""
        return self.db.get_blob(int(file_id))

    # ----- request handling
    # ------------------------------------------------------------------------
    def _record(self, rec: RecordedRequest, errors: list[str]) -> None:
        with self._rec_lock:
            self._requests.append(rec)
            self._errors.extend(errors)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the sandbox stops first; True when stopping."""
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()

    def _dispatch(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = split.path
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query_multi: dict[str, list[str]] = {}
        for k, v in pairs:
            query_multi.setdefault(k, []).append(v)
        query = {k: v[-1] for k, v in query_multi.items()}
        recorded_query: dict[str, Any] = {
            k: (v[0] if len(v) == 1 else v) for k, v in query_multi.items()
        }
        headers = {k.lower(): v for k, v in h.headers.items()}
        method = h.command.upper()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            h.close_connection = True
            self._send(
                h,
                ApiResponse(
                    413, {"message": "Request body larger than 10 MB", "code": "PAYLOAD_TOO_LARGE"}
                ),
                rate=True,
            )
            return
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raw = _read_chunked(h, MAX_BODY)
            if raw is None:
                h.close_connection = True
                body = {"message": "Request body larger than 10 MB", "code": "PAYLOAD_TOO_LARGE"}
                self._send(h, ApiResponse(413, body), rate=True)
                return
        else:
            raw = h.rfile.read(length) if length else b""
        content_type = headers.get("content-type", "")

        if path.startswith("/_sandbox/files/"):
            try:
                resp = self.api.download(int(path.rsplit("/", 1)[-1]))
            except ValueError:
                resp = ApiResponse(404, {"message": "File not found", "code": "NOT_FOUND"})
            self._record(
                RecordedRequest(method, path, recorded_query, headers, None, resp.status), []
            )
            self._send(h, resp, rate=False)
            return
        if path != "/v1" and not path.startswith("/v1/"):
            resp = ApiResponse(404, {"message": f"Cannot {method} {path}", "code": "NOT_FOUND"})
            self._record(RecordedRequest(method, path, recorded_query, headers, None, 404), [])
            self._send(h, resp, rate=False)
            return
        rel = path[3:] or "/"
        if len(rel) > 1 and rel.endswith("/"):
            rel = rel.rstrip("/")
        body_value: Any = None
        json_body: Any = None
        bad_json = False
        if raw:
            if "json" in content_type:
                try:
                    json_body = body_value = json.loads(raw)
                except ValueError:
                    bad_json = True
                    body_value = raw
            elif content_type.startswith("multipart/"):
                body_value = {"multipart": True, "size": len(raw)}
            else:
                body_value = raw

        def check(resp: ApiResponse | None) -> list[str]:
            """Spec violations of this exchange (resp None: the request alone)."""
            if self._checker is None:
                return []
            try:
                warnings = self._checker.warnings(
                    method=method, path=path, body=raw, content_type=content_type
                )
                if warnings:
                    with self._rec_lock:
                        self._warnings.extend(warnings)
                return self._checker.check(
                    method=method,
                    path=path,
                    query=pairs,
                    headers=headers,
                    body=raw,
                    content_type=content_type,
                    response=resp,
                )
            except Exception as exc:  # a checker failure must surface, not drop the connection
                log.exception("conformance check failed for %s %s", method, path)
                return [f"{method} {path}: conformance checker failed: {exc!r}"]

        if self._sleep(self.latency):
            return self._drop(h)
        fault = self.faults.take(method, rel, query)
        if fault is not None:
            if self._sleep(fault.latency):
                return self._drop(h)
        if fault is not None and not fault.apply_first:
            if fault.timeout is not None:
                self._record(
                    RecordedRequest(method, rel, recorded_query, headers, body_value, 0),
                    check(None),
                )
                self._sleep(fault.timeout)
                return self._drop(h)
            if fault.status is not None:
                resp = self._fault_response(fault)
                # Injected answers are deliberate: the request is still checked, the answer is not.
                self._record(
                    RecordedRequest(method, rel, recorded_query, headers, body_value, resp.status),
                    check(None),
                )
                self._send(h, resp, rate=True)
                return None
        # apply_first: handled as usual below, then _finish answers with the fault instead.
        after = fault if fault is not None and fault.apply_first else None

        key = headers.get("x-api-key")
        if not key or not hmac.compare_digest(key.encode(), self._api_key.encode()):
            resp = ApiResponse(
                401, {"message": "Invalid or missing API key", "code": "UNAUTHORIZED"}
            )
            self._finish(
                h, resp, method, rel, recorded_query, headers, body_value, check(resp), after=after
            )
            return None
        refused, remaining = self.budget.consume()
        if refused is not None:
            message = {
                "day": "Daily API request limit exceeded for this key",
                "second": "Too many requests per second for this key",
            }[refused]
            resp = ApiResponse(429, {"message": message, "code": "RATE_LIMIT_EXCEEDED"})
            self._finish(
                h,
                resp,
                method,
                rel,
                recorded_query,
                headers,
                body_value,
                check(resp),
                remaining=remaining,
                after=after,
            )
            return None
        if bad_json:
            resp = ApiResponse(
                400,
                {
                    "message": "Request body is not valid JSON",
                    "code": "VALIDATION_ERROR",
                    "field": "body",
                },
            )
            self._finish(
                h,
                resp,
                method,
                rel,
                recorded_query,
                headers,
                body_value,
                check(resp),
                remaining=remaining,
                after=after,
            )
            return None
        req = ApiRequest(
            method=method,
            path=rel,
            query=query,
            headers=headers,
            raw_body=raw,
            content_type=content_type,
            json=json_body,
        )
        try:
            resp, _template = self.api.handle(req)
        except Exception:
            log.exception("sandbox handler failed for %s %s", method, rel)
            body = {"message": "Internal server error", "code": "INTERNAL_SERVER_ERROR"}
            resp = ApiResponse(500, body)
        self._finish(
            h,
            resp,
            method,
            rel,
            recorded_query,
            headers,
            body_value,
            check(resp),
            remaining=remaining,
            after=after,
        )
        return None

    def _finish(
        self,
        h: _Handler,
        resp: ApiResponse,
        method: str,
        rel: str,
        query: dict[str, Any],
        headers: dict[str, str],
        body: Any,
        errors: list[str],
        remaining: int | None = None,
        after: Fault | None = None,
    ) -> None:
        if after is not None:
            self._answer_after(h, after, resp, method, rel, query, headers, body, errors)
            return
        self._record(RecordedRequest(method, rel, query, headers, body, resp.status), errors)
        self._send(h, resp, rate=True, remaining=remaining)

    def _answer_after(
        self,
        h: _Handler,
        fault: Fault,
        applied: ApiResponse,
        method: str,
        rel: str,
        query: dict[str, Any],
        headers: dict[str, str],
        body: Any,
        errors: list[str],
    ) -> None:
        """The request was handled (`applied`); answer the fault instead, or drop the connection."""
        if fault.timeout is not None:
            rec = RecordedRequest(method, rel, query, headers, body, 0, applied=applied.status)
            self._record(rec, errors)
            self._sleep(fault.timeout)
            return self._drop(h)
        resp = self._fault_response(fault)
        rec = RecordedRequest(
            method, rel, query, headers, body, resp.status, applied=applied.status
        )
        self._record(rec, errors)
        self._send(h, resp, rate=True)
        return None

    @staticmethod
    def _fault_response(fault: Fault) -> ApiResponse:
        """The error answer an injected status gives (the API's error shape unless `body`)."""
        assert fault.status is not None
        body = (
            fault.body
            if fault.body is not None
            else {
                "message": ERROR_MESSAGES.get(fault.status, "Injected fault"),
                "code": ERROR_CODES.get(fault.status, "ERROR"),
            }
        )
        resp = ApiResponse(fault.status, body)
        if fault.retry_after is not None:
            ra = fault.retry_after
            resp.headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        return resp

    def _drop(self, h: _Handler) -> None:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(
        self, h: _Handler, resp: ApiResponse, *, rate: bool, remaining: int | None = None
    ) -> None:
        if resp.raw is not None:
            payload, ctype = resp.raw, resp.content_type
        elif resp.body is None:
            payload, ctype = b"", None
        else:
            payload, ctype = json.dumps(resp.body).encode(), "application/json; charset=utf-8"
        try:
            h.send_response(resp.status)
            if ctype:
                h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(payload)))
            if rate and self.rate_limit_headers:
                h.send_header("X-RateLimit-Limit", str(self.budget.limit))
                h.send_header(
                    "X-RateLimit-Remaining",
                    str(self.budget.remaining() if remaining is None else remaining),
                )
            for k, v in resp.headers.items():
                h.send_header(k, v)
            if h.close_connection:
                h.send_header("Connection", "close")
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True


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


__all__ = ["CoperniqSandbox", "RecordedRequest", "ApiError"]
