"""`coperniq-bot serve`: Socket Mode when SLACK_APP_TOKEN is set (and not --http), else HTTP.

HTTP mode serves `POST /slack/events` (commands, interactivity, options, events) through Bolt's
WSGI adapter, behind bot.httpguard (size limit, signature, body shape), and `GET /healthz`, on
waitress: a thread pool and a deep listen backlog, unlike Bolt's single-threaded development
server. SIGTERM/SIGINT stop the transport, the jobs, the listener pool and the store, in that order.
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


def make_wsgi_app(
    app: App,
    *,
    signing_secret: Secret | str | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    now: Callable[[], float] = time.time,
    started_at: float | None = None,
) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: /healthz answered here, POST /slack/events guarded then Bolt's; else 404."""
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
        # Nothing else is served: answered without reading the body.
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"Not Found"]

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
) -> WsgiServer:
    """The app behind a threaded WSGI server (port 0: any free port); .start() and .close()."""
    wsgi = make_wsgi_app(app, signing_secret=signing_secret, max_body_bytes=max_body_bytes)
    return WsgiServer(wsgi, host, port, threads, max_body_bytes)


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
        else:
            port = settings.port if getattr(args, "port", None) is None else args.port
            # All interfaces: HTTP mode runs behind the platform's router or a reverse proxy.
            transport = make_wsgi_server(
                app,
                host="0.0.0.0",  # noqa: S104
                port=port,
                signing_secret=settings.slack_signing_secret,
            ).start()
            log.info("Serving HTTP on port %s (POST %s)", transport.port, EVENTS_PATH)
        while not stop.wait(1.0):
            pass
    finally:
        if transport is not None:
            transport.close()
        if stop_jobs is not None:
            stop_jobs()
        if app is not None:
            shutdown_app(app)
        close = getattr(deps.coperniq, "close", None)
        if callable(close):
            close()
        deps.store.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
