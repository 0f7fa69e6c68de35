"""`coperniq-bot serve`: Socket Mode when SLACK_APP_TOKEN is set (and not --http), else HTTP.

HTTP mode serves `POST /slack/events` (commands, interactivity, options, events) through Bolt's
WSGI adapter, behind bot.httpguard (size limit, signature, body shape), and `GET /healthz`, on
waitress: a thread pool and a deep listen backlog, unlike Bolt's single-threaded development
server. With COPERNIQ_WEBHOOK_SECRET set it also takes Coperniq's webhooks at
`POST /coperniq/webhooks/<secret>` (bot.webhooks); in Socket Mode, where there is no HTTP server,
on WEBHOOK_PORT, that path alone. Deliveries are processed on one worker thread in this process.
SIGTERM/SIGINT stop the transport (and the webhook port), the jobs, the webhook worker, the
listener pool and the store, in that order.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.config import Secret, Settings, load_settings
from bot.httpguard import MAX_BODY_BYTES, SlackRequestGuard
from bot.slackstart import APP_TOKEN_HINTS, call_slack_at_start
from bot.webhooks import MASKED_PATH, MAX_WEBHOOK_BYTES, is_webhook_path

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.deps import Deps

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_HTTP_THREADS = 32
# Bursts (a busy channel, Slack retries) must queue, not be reset: far above the default 5.
LISTEN_BACKLOG = 1024
# Each Socket Mode message is dispatched on one of these threads; acks wait for a free one.
SOCKET_MODE_CONCURRENCY = 32

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_wsgi_app(
    app: App,
    *,
    signing_secret: Secret | str | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    now: Callable[[], float] = time.time,
    started_at: float | None = None,
    webhooks: WsgiApp | None = None,
) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: /healthz answered here, POST /slack/events guarded then Bolt's, the Coperniq
    webhook path to `webhooks` (bot.webhooks.WebhookReceiver) when given; else 404."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    secret = signing_secret.reveal() if isinstance(signing_secret, Secret) else signing_secret
    if not secret:
        raise ValueError("HTTP mode needs the signing secret")
    guarded = SlackRequestGuard(
        SlackRequestHandler(app, path=EVENTS_PATH), secret, max_body_bytes=max_body_bytes, now=now
    )
    started = started_at if started_at is not None else time.monotonic()

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
                return [b""]
            body = json.dumps(
                {
                    "ok": True,
                    "service": "coperniq-slack-bot",
                    "uptime_s": int(time.monotonic() - started),
                }
            ).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if environ.get("PATH_INFO") == EVENTS_PATH:
            return guarded(environ, start_response)
        if webhooks is not None and is_webhook_path(environ.get("PATH_INFO") or ""):
            return webhooks(environ, start_response)
        return _not_found(start_response)

    return wsgi


def _not_found(start_response: StartResponse) -> list[bytes]:
    # Nothing else is served: answered without reading the body.
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"Not Found"]


def make_webhook_wsgi_app(webhooks: WsgiApp) -> WsgiApp:
    """The WEBHOOK_PORT app of Socket Mode: the Coperniq webhook path alone; else 404."""

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if is_webhook_path(environ.get("PATH_INFO") or ""):
            return webhooks(environ, start_response)
        return _not_found(start_response)

    return wsgi


class WsgiServer:
    """A waitress server that runs in a background thread and can be closed (tests, serve)."""

    def __init__(
        self,
        wsgi_app: Callable[..., Any],
        host: str,
        port: int,
        threads: int,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        from waitress import create_server

        self._server = create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            backlog=LISTEN_BACKLOG,
            # Slack retries after 3 s anyway; drop idle keep-alive connections well before that.
            channel_timeout=30,
            # How often the loop looks up from select(): bounds how long close() waits for it.
            asyncore_loop_timeout=0.2,
            # waitress answers 413 itself, before buffering, to a Content-Length (or a chunked
            # body) of this size or more; the guard allows up to max_body_bytes, so the same limit.
            max_request_body_size=max_body_bytes + 1,
            ident="coperniq-bot",
        )
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        """http://host:port (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> WsgiServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="wsgi", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._server.run()
        except OSError:  # the loop's sockets were closed under it by close()
            pass

    def close(self) -> None:
        """Stop accepting, finish the worker threads and free the port."""
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def make_wsgi_server(
    app: App,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = DEFAULT_HTTP_THREADS,
    *,
    signing_secret: Secret | str | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    webhooks: WsgiApp | None = None,
) -> WsgiServer:
    """The app behind a threaded WSGI server (port 0: any free port); .start() and .close()."""
    wsgi = make_wsgi_app(
        app, signing_secret=signing_secret, max_body_bytes=max_body_bytes, webhooks=webhooks
    )
    return WsgiServer(wsgi, host, port, threads, max_body_bytes)


def make_webhook_server(
    webhooks: WsgiApp, host: str = "127.0.0.1", port: int = 0, threads: int = 8
) -> WsgiServer:
    """Socket Mode's listener on WEBHOOK_PORT: the webhook path alone (port 0: any free port)."""
    return WsgiServer(make_webhook_wsgi_app(webhooks), host, port, threads, MAX_WEBHOOK_BYTES)


def start_webhooks(deps: Deps) -> tuple[Any, WsgiApp] | None:
    """The webhook worker (started) and the receiver feeding it, when the secret is set."""
    secret = deps.settings.coperniq_webhook_secret
    if secret is None or not secret.reveal():
        return None
    from bot.webhooks import WebhookReceiver, WebhookWorker

    worker = WebhookWorker(deps).start()
    return worker, WebhookReceiver(deps.store, secret.reveal(), worker.enqueue)


def make_socket_mode_handler(app: App, app_token: str) -> Any:
    """Bolt's Socket Mode handler on slack-sdk's built-in client (no extra dependency)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(
        app,
        app_token=app_token,
        web_client=app.client,
        concurrency=SOCKET_MODE_CONCURRENCY,
    )


def start_jobs(deps: Deps, stop: threading.Event) -> Callable[[], None]:
    """Start the scheduled jobs in this process (`stop` ends their runs); returns their stop."""
    from jobs.scheduler import start_background

    return start_background(deps, stop)


def uses_socket_mode(settings: Settings, *, force_http: bool) -> bool:
    """Socket Mode when an app-level token is set and --http was not given."""
    return bool(settings.slack_app_token) and not force_http


def serve_needs(settings: Settings, *, force_http: bool) -> list[str]:
    """The settings serve cannot start without, in the mode it will run in."""
    if uses_socket_mode(settings, force_http=force_http):
        return ["slack_bot_token", "slack_app_token", "coperniq_api_key"]
    return ["slack_bot_token", "slack_signing_secret", "coperniq_api_key"]


def main(args: argparse.Namespace, *, sleep: Callable[[float], object] | None = None) -> int:
    """Run the Slack app until SIGTERM/SIGINT; `sleep` waits between start-up tries (tests)."""
    force_http = bool(getattr(args, "http", False))
    settings = load_settings(required=lambda s: serve_needs(s, force_http=force_http))
    socket_mode = uses_socket_mode(settings, force_http=force_http)

    from bot.app import create_app, shutdown_app
    from bot.deps import build_deps

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("Received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    # Installed before Slack is first called: a SIGTERM while Slack is down ends the waiting.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    deps = build_deps(settings)
    app: App | None = None
    stop_jobs: Callable[[], None] | None = None
    transport: Any = None
    webhook_server: WsgiServer | None = None
    webhook_worker: Any = None
    try:
        # Building the app calls auth.test: a refused token raises SlackRefused (one line, exit
        # 1), an outage is retried. Bolt's own signature check is off: Socket Mode requests
        # arrive over an authenticated websocket, and in HTTP mode the guard in front of Bolt
        # checks every request's signature before Bolt sees it (bot.httpguard).
        app = call_slack_at_start(
            lambda: create_app(deps, request_verification_enabled=False),
            stop=stop,
            where=settings.slack_api_url,
            sleep=sleep,
        )
        if app is None:
            return 0
        if not getattr(args, "no_jobs", False):
            stop_jobs = start_jobs(deps, stop)
        # The worker runs wherever serve runs (with or without --no-jobs: the web process takes
        # the deliveries); `clock` processes none.
        webhooks = start_webhooks(deps)
        receiver: WsgiApp | None = None
        if webhooks is not None:
            webhook_worker, receiver = webhooks
        if socket_mode:
            transport = make_socket_mode_handler(app, settings.slack_app_token.reveal())

            def connect() -> bool:
                transport.connect()
                return True

            connected = call_slack_at_start(
                connect,
                stop=stop,
                where=settings.slack_api_url + "apps.connections.open",
                variable="SLACK_APP_TOKEN",
                hints=APP_TOKEN_HINTS,
                sleep=sleep,
            )
            if connected:
                log.info("Connected to Slack in Socket Mode")
            if receiver is not None and settings.webhook_port is None:
                log.warning(
                    "COPERNIQ_WEBHOOK_SECRET is set but WEBHOOK_PORT is not: in Socket Mode "
                    "Coperniq webhooks are received only on WEBHOOK_PORT"
                )
            elif receiver is not None and connected:
                webhook_server = make_webhook_server(
                    receiver,
                    "0.0.0.0",  # noqa: S104 - behind the public URL Coperniq calls
                    settings.webhook_port or 0,
                ).start()
                log.info(
                    "Receiving Coperniq webhooks on port %s (POST %s)",
                    webhook_server.port,
                    MASKED_PATH,
                )
        else:
            port = settings.port if getattr(args, "port", None) is None else args.port
            # All interfaces: HTTP mode runs behind the platform's router or a reverse proxy.
            transport = make_wsgi_server(
                app,
                host="0.0.0.0",  # noqa: S104
                port=port,
                signing_secret=settings.slack_signing_secret,
                webhooks=receiver,
            ).start()
            log.info("Serving HTTP on port %s (POST %s)", transport.port, EVENTS_PATH)
            if receiver is not None:
                log.info("Receiving Coperniq webhooks on the same port (POST %s)", MASKED_PATH)
        while not stop.wait(1.0):
            pass
    finally:
        if transport is not None:
            transport.close()
        if webhook_server is not None:
            webhook_server.close()
        if stop_jobs is not None:
            stop_jobs()
        if webhook_worker is not None:
            # After the servers (nothing new is enqueued) and before the store closes; a run in
            # hand stops at its next safe point (`stop` is set) and its row waits for next start.
            webhook_worker.stop()
        if app is not None:
            shutdown_app(app)
        close = getattr(deps.coperniq, "close", None)
        if callable(close):
            close()
        deps.store.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
