"""FakeSlack: the fake's controls for tests, what it recorded, and how it answers each request."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from sandbox.slack import limits
from sandbox.slack.controls import ControlsMixin
from sandbox.slack.methods import METHODS
from sandbox.slack.state import (
    _LOGIN_PAGE,
    TRIGGER_TTL_SECONDS,
    SlackApiError,
    SlackCall,
    _Fault,
    _State,
    _Trigger,
)
from sandbox.slack.wire import _Handler


class FakeSlack(ControlsMixin):
    """Slack's Web API, response_url endpoint and file downloads, in one loopback HTTP server."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",  # noqa: S107 - a fake token for the fake
        bot_user_id: str = "UBOT",
        team_id: str = "T0TEST",
        *,
        app_token: str = "xapp-test",  # noqa: S107 - a fake token for the fake
        bot_id: str = "B0BOT",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.app_token = app_token
        self.bot_id = bot_id
        self.app_id = "A0FAKE"
        self._clock = clock
        self._offset = 0.0
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._state = _State()
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # The URL apps.connections.open hands out (a local websocket server in Socket Mode tests).
        self.socket_mode_url: str | None = None
        # Seconds added before answering every request (see set_latency); 0: answer at once.
        self.latency = 0.0

    # ---------------------------------------------------------------- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeSlack:
        """Serve on host:port (0 picks a free port) in a daemon thread."""
        fake = self

        class Handler(_Handler):
            owner = fake

        server = ThreadingHTTPServer((host, port), Handler, bind_and_activate=False)
        # Benchmarks fire many concurrent calls; the default backlog of 5 resets connections.
        server.request_queue_size = 256
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        self._server = server
        self._thread = threading.Thread(
            # A short poll interval makes stop() quick (tests start and stop many fakes).
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT/ ."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def base_url(self) -> str:
        """The Web API base for WebClient(base_url=...), ending in /api/."""
        return self.root_url + "api/"

    # ---------------------------------------------------------------- clock

    def now(self) -> float:
        """The fake's clock (monotonic seconds plus any advance())."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (expires trigger ids without sleeping)."""
        with self._lock:
            self._offset += seconds

    # ---------------------------------------------------------------- request handling

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        ok: bool,
        error: str | None,
        response: dict[str, Any] | None = None,
    ) -> None:
        with self._cond:
            self._state.calls.append(SlackCall(method, args, time.monotonic(), ok, error, response))
            self._cond.notify_all()

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._state.faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    def handle_api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one Web API call: (HTTP status, extra headers, JSON body)."""
        fault = self._take_fault(method)
        if fault is not None:
            self._record(method, args, False, fault.error)
            if fault.error == "ratelimited":
                retry = fault.retry_after if fault.retry_after is not None else 1
                return 429, {"Retry-After": str(int(retry))}, {"ok": False, "error": "ratelimited"}
            return fault.status, {}, {"ok": False, "error": fault.error}
        try:
            self._check_auth(method, token)
            impl = METHODS.get(method)
            if impl is None:
                raise SlackApiError("unknown_method")
            with self._lock:
                body = impl(self, args)
        except SlackApiError as exc:
            self._record(method, args, False, exc.error)
            answer: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.messages:
                answer["response_metadata"] = {"messages": exc.messages}
            return 200, {}, answer
        answer = {"ok": True, **body}
        self._record(method, args, True, None, answer)
        return 200, {}, answer

    def _check_auth(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackApiError("not_authed")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            raise SlackApiError("invalid_auth")

    def handle_response_url(self, path: str, body: Any) -> str | None:
        """Record a post to a response_url; the Slack error code when it is refused."""
        entry = dict(body) if isinstance(body, dict) else {"_raw": body}
        entry["_url"] = self.root_url + path.lstrip("/")
        try:
            with self._lock:
                if isinstance(body, dict):
                    self._check_message(body, "response_url")
                self._state.responses.append(entry)
        except SlackApiError as exc:
            self._record("response_url", entry, False, exc.error)
            return exc.error
        self._record("response_url", entry, True, None)
        return None

    def handle_download(self, path: str, token: str | None) -> tuple[str, bytes]:
        """(content type, bytes) of a file URL: the file with the bot token, else a login page."""
        parts = path.strip("/").split("/")
        # files-pri/<team>-<file id>/[download/]<name>
        file_id = parts[1].split("-", 1)[-1] if len(parts) >= 3 else ""
        with self._lock:
            info = self._state.files.get(file_id)
            ok = (
                info is not None
                and token == self.bot_token
                and file_id not in self._state.login_only
            )
            if not ok:
                self._record("file_download", {"path": path, "served": "login_page"}, False, None)
                return "text/html; charset=utf-8", _LOGIN_PAGE
            content = self._state.file_bytes[file_id]
        self._record("file_download", {"path": path, "file": file_id}, True, None)
        return info["mimetype"], content

    def handle_upload(self, upload_id: str, content: bytes) -> bool:
        with self._lock:
            upload = self._state.uploads.get(upload_id)
            if upload is None:
                return False
            upload["content"] = content
        self._record("file_upload", {"upload_id": upload_id, "size": len(content)}, True, None)
        return True

    # ------------------------------------------------ helpers (called under the lock)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _new_view_id(self) -> str:
        return f"V{next(self._ids):010d}"

    def _use_trigger(self, trigger_id: Any) -> _Trigger:
        if not trigger_id:
            raise SlackApiError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        trigger = self._state.triggers.get(str(trigger_id))
        if trigger is None or self.now() - trigger.minted_at > TRIGGER_TTL_SECONDS:
            raise SlackApiError("expired_trigger_id")
        if trigger.used:
            raise SlackApiError("exchanged_trigger_id")
        trigger.used = True
        return trigger

    def _check_view(self, view: Any) -> dict[str, Any]:
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                raise SlackApiError("invalid_arguments", ["[ERROR] view is not JSON"]) from None
        if not isinstance(view, dict):
            raise SlackApiError("invalid_arguments", ["[ERROR] missing required field: view"])
        problems = limits.view_problems(view)
        if problems:
            raise SlackApiError("invalid_arguments", problems)
        return view

    def _check_message(self, args: dict[str, Any], method: str) -> None:
        blocks = args.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackApiError("invalid_blocks_format")
            problems = limits.message_block_problems(blocks)
            if problems:
                raise SlackApiError("invalid_blocks", problems)
        has_text = bool(args.get("text"))
        if not has_text and not blocks and not args.get("attachments"):
            if method in ("chat.update", "response_url") and (
                args.get("delete_original") or args.get("replace_original") is False
            ):
                return
            raise SlackApiError("no_text")
        if not has_text and blocks:
            self._state.warnings.append(f"{method}: blocks without a text fallback (missing_text)")

    def _channel_info(self, channel: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": channel,
            "name": channel.lower(),
            "is_channel": channel.startswith("C"),
            "is_group": channel.startswith("G"),
            "is_im": channel.startswith("D"),
            "is_private": not channel.startswith("C"),
            "is_member": True,
            "is_archived": False,
        }
        info.update(self._state.channels.get(channel, {}))
        return info
