"""The app served on loopback with the Coperniq webhook receiver and its worker, as serve runs them.

`hooked` is a Hooked: the SlackHarness (fake Slack, Coperniq sandbox, store) plus the webhook
`worker`, the receiver `url` (with the secret) and `post(body)` that POSTs JSON to it over HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Secret
from bot.webhooks import WebhookReceiver, WebhookWorker
from sandbox.slackclient import SlackHarness
from sandbox.wiring import fake_deps

SECRET = "wh-test-9f3c2a71b64e4d0f8a5c"  # noqa: S105 - the test receiver's secret
WEBHOOK_PATH = "/coperniq/webhooks/"
_ids = count(900_000_001)


@dataclass
class Hooked:
    slack: SlackHarness
    worker: WebhookWorker
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def url(self) -> str:
        return self.slack.server.url + WEBHOOK_PATH + SECRET

    @property
    def db(self) -> Any:
        return self.slack.store.db

    def post(self, body: Any, *, secret: str = SECRET, raw: bytes | None = None) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        return self.http.post(
            self.slack.server.url + WEBHOOK_PATH + secret,
            content=content,
            headers={"Content-Type": "application/json"},
        )

    def rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute("select * from webhook_events order by received_at")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until the sandbox has sent every webhook and the worker has processed them."""
        assert self.slack.sandbox.wait_webhooks_idle(timeout)
        assert self.worker.wait_idle(timeout)


def event_body(trigger: str, record_id: int | None = 40003, **fields: Any) -> dict[str, Any]:
    """A delivery shaped like COPERNIQ_NOTES "Webhooks" (event, and record for record triggers)."""
    event = {
        "eventId": fields.pop("eventId", next(_ids)),
        "recordId": record_id,
        "triggerKey": trigger,
        "triggerName": trigger.replace("_", " ").capitalize(),
        "firedAt": fields.pop("firedAt", "2025-01-01T00:00:00Z"),
        **fields,
    }
    body: dict[str, Any] = {"event": event}
    if record_id is not None:
        body["record"] = {"id": record_id, "type": "PROJECT", "title": "A project"}
    return body


def build_hooked(
    fake_slack: Any,
    sandbox: Any,
    tmp_path: Path,
    *,
    processor: Callable[..., Any] | None = None,
    start_worker: bool = True,
    **overrides: Any,
) -> tuple[Hooked, Callable[[], None]]:
    """The harness and its closer (servers, worker, then store), as bot.serve wires them."""
    from bot.app import create_app
    from bot.serve import make_wsgi_server

    deps = fake_deps(
        sandbox,
        fake_slack,
        db_path=tmp_path / "bot.db",
        coperniq_webhook_secret=Secret(SECRET),
        **overrides,
    )
    kw: dict[str, Any] = {"retry_base": 0.05, "retry_max": 0.2}
    if processor is not None:
        kw["processor"] = processor
    worker = WebhookWorker(deps, **kw)
    receiver = WebhookReceiver(deps.store, SECRET, worker.enqueue)
    app = create_app(deps, listener_threads=8, request_verification_enabled=False)
    server = make_wsgi_server(
        app,
        "127.0.0.1",
        0,
        threads=32,
        signing_secret=deps.settings.slack_signing_secret,
        webhooks=receiver,
    ).start()
    if start_worker:
        worker.start()
    slack = SlackHarness(
        app=app,
        server=server,
        fake_slack=fake_slack,
        sandbox=sandbox,
        settings=deps.settings,
        store=deps.store,
        coperniq=deps.coperniq,
    )
    hooked = Hooked(slack, worker)

    def close() -> None:
        hooked.http.close()
        slack.close()
        worker.stop()
        deps.store.close()

    return hooked, close


@pytest.fixture
def hooked(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[Hooked]:
    h, close = build_hooked(fake_slack, coperniq_sandbox, tmp_path)
    try:
        yield h
    finally:
        close()


class Recorder:
    """A processor that records each call (and on which thread), optionally held at a gate."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, deps: Any, event: Any, now: Any, stop: Any) -> Any:
        from bot.webhooks.process import Processed

        if self.gate is not None:
            self.gate.wait(10)
        with self.lock:
            self.calls.append(event.event_id)
            self.threads.add(threading.current_thread().name)
        return Processed("done", "recorded")
