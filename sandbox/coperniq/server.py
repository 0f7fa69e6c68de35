"""CoperniqSandbox: the stateful local Coperniq API on loopback (threaded HTTP over SQLite)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api import CoperniqAPI
from sandbox.coperniq.data import DataMixin
from sandbox.coperniq.db import RecordDB
from sandbox.coperniq.faults import Fault, FaultTable
from sandbox.coperniq.http import (
    DEFAULT_TIMEOUT_HOLD,
    RecordedRequest,
    _Budget,
    _Server,
)
from sandbox.coperniq.pipeline import HttpMixin
from sandbox.coperniq.webhooks import DEFAULT_TRIES, Delivery, WebhookSender

__all__ = ["CoperniqSandbox", "RecordedRequest"]


class CoperniqSandbox(DataMixin, HttpMixin):
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
        webhook_url: str | None = None,
        webhook_duplicate: bool = False,
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
        if webhook_url:
            self.send_webhooks_to(webhook_url, duplicate=webhook_duplicate)

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
        """Stop, stop sending webhooks, and close the database."""
        self.stop()
        if self.api.webhooks is not None:
            self.api.webhooks.close()
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

    # ----- webhooks
    # --------------------------------------------------------------------------------------------
    def send_webhooks_to(
        self, url: str, *, duplicate: bool = False, tries: int | None = None
    ) -> WebhookSender:
        """Send Coperniq webhooks to `url` from now on (the URL carries the receiver's secret).

        As in Coperniq, what happened before (a phase already overdue) is not sent. `duplicate`
        delivers every event twice, as Coperniq sometimes does; `tries` per event (default 4).
        """
        old = self.api.webhooks
        self.api.webhooks = WebhookSender(url, duplicate=duplicate, tries=tries or DEFAULT_TRIES)
        if old is not None:
            old.close()
        return self.api.webhooks

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """Every webhook delivery attempt so far: (body, status), status 0 when none answered."""
        return self.api.webhooks.deliveries if self.api.webhooks is not None else []

    def wait_webhooks_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every webhook event is delivered (or given up); False on timeout."""
        return self.api.webhooks.wait_idle(timeout) if self.api.webhooks is not None else True

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
