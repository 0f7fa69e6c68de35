"""A recording fake of Slack's Web API on loopback, for tests, benchmarks and the demo.

    fs = FakeSlack(bot_token="xoxb-test"); fs.start()
    WebClient(token="xoxb-test", base_url=fs.base_url)   # base_url ends in "/api/"
    fs.calls (SlackCall: method, args, at, ok, error, response) / fs.calls_to("views.open")
    fs.wait_for("chat.postMessage", count=1) / fs.wait_call(lambda call: ...)
    fs.fail("chat.postMessage", "ratelimited", times=1, retry_after=0) / fs.clear_faults()
    fs.new_trigger_id() / fs.advance(seconds) / fs.new_response_url() / fs.responses(url)
    fs.add_file(b"...", login_page=False) / fs.add_user(id, **fields) / fs.add_channel(id, **fields)
    fs.messages(channel) / fs.ephemerals() / fs.view(view_id) / fs.view_ids() / fs.home(user)
    fs.uploaded() / fs.warnings / fs.socket_mode_url = "ws://..." (for apps.connections.open)
    fs.stop()

It answers with the response shapes Slack documents, checks the bot token (or the app-level
token for apps.connections.open), enforces the Block Kit limits Slack enforces (answering
`invalid_arguments` or `invalid_blocks`), expires trigger ids after 3 s of its clock, serves file
downloads only with `Authorization: Bearer <bot token>` (else a 200 HTML login page, as Slack
does) and records every call, with a `time.monotonic()` timestamp, for assertions and benchmarks.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TRIGGER_TTL_SECONDS = 3.0
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_TITLE = 24
MAX_VIEW_STACK = 3
MAX_PRIVATE_METADATA = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_SECTION_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000

# Arguments slack-sdk sends JSON-encoded inside a form body.
_JSON_ARGS = {"blocks", "attachments", "view", "metadata", "files", "unfurls"}

_LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Slack</title></head>"
    b"<body><h1>Sign in to your workspace</h1></body></html>"
)


@dataclass
class SlackCall:
    """One recorded request to the fake."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None
    response: dict[str, Any] | None = None


@dataclass
class _Fault:
    error: str
    times: int | None
    retry_after: float | None
    status: int = 200  # the HTTP status of the error answer (ratelimited is always 429)


@dataclass
class _Trigger:
    minted_at: float
    view_id: str | None = None
    used: bool = False


@dataclass
class _State:
    calls: list[SlackCall] = field(default_factory=list)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    triggers: dict[str, _Trigger] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    login_only: set[str] = field(default_factory=set)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class SlackApiError(Exception):
    """An error answer: {"ok": false, "error": code} (with details for invalid_arguments)."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


class FakeSlack:
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

    # ---------------------------------------------------------------- test controls

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        times: int | None = 1,
        retry_after: float | None = None,
        status: int = 200,
    ) -> None:
        """Answer the next `times` calls (None: all) with `error`; ratelimited is HTTP 429.

        `status` sends the error answer with another HTTP status (500: Slack failing outright).
        """
        with self._lock:
            self._state.faults.setdefault(method, []).append(
                _Fault(error, times, retry_after, status)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def new_trigger_id(self, view_id: str | None = None) -> str:
        """Mint a trigger id as Slack would put in a command or interaction payload (valid 3 s)."""
        with self._lock:
            trigger_id = f"{next(self._ids)}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"
            self._state.triggers[trigger_id] = _Trigger(minted_at=self.now(), view_id=view_id)
            return trigger_id

    def new_response_url(self) -> str:
        """Mint a response_url (commands, block_actions); posts to it land in responses()."""
        return f"{self.root_url}response/{uuid.uuid4().hex}"

    def add_file(
        self,
        content: bytes,
        name: str = "photo.jpg",
        mimetype: str = "image/jpeg",
        login_page: bool = False,
        user: str = "U0USER",
    ) -> dict[str, Any]:
        """Store a file and return its Slack file object; login_page=True serves only HTML."""
        with self._lock:
            file_id = f"F{next(self._ids):09d}"
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
            base = f"{self.root_url}files-pri/{self.team_id}-{file_id}/"
            info = {
                "id": file_id,
                "created": int(time.time()),
                "timestamp": int(time.time()),
                "name": name,
                "title": name,
                "mimetype": mimetype,
                "filetype": ext,
                "pretty_type": ext.upper(),
                "user": user,
                "mode": "hosted",
                "is_external": False,
                "is_public": False,
                "size": len(content),
                "url_private": base + name,
                "url_private_download": base + "download/" + name,
                "permalink": f"{self.root_url}files/{user}/{file_id}/{name}",
            }
            self._state.files[file_id] = info
            self._state.file_bytes[file_id] = content
            if login_page:
                self._state.login_only.add(file_id)
            return dict(info)

    def add_user(self, user_id: str, **fields: Any) -> None:
        """Give users.info specific fields (name, real_name, tz, email, is_bot...)."""
        with self._lock:
            self._state.users[user_id] = fields

    def add_channel(self, channel_id: str, **fields: Any) -> None:
        """Give conversations.info specific fields (name, is_member, is_private...)."""
        with self._lock:
            self._state.channels[channel_id] = fields

    # ---------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._state.calls)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every call to `method` (successful or not), oldest first."""
        with self._lock:
            return [c.args for c in self._state.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until `method` was called `count` times; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c.args for c in self._state.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self._state.calls})
                    raise TimeoutError(
                        f"{method} called {len(found)} time(s), wanted {count}; calls seen: {seen}"
                    )
                self._cond.wait(left)

    def wait_call(self, predicate: Callable[[SlackCall], bool], timeout: float = 5.0) -> SlackCall:
        """The first recorded call matching `predicate` (waits; TimeoutError after `timeout`)."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                calls = self._state.calls
                for call in calls[seen:]:
                    if predicate(call):
                        return call
                seen = len(calls)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching Slack call in time")
                self._cond.wait(left)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Current messages in `channel` (chat.update edits in place), oldest first."""
        with self._lock:
            return [dict(m) for m in self._state.messages.get(channel, [])]

    def ephemerals(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """chat.postEphemeral messages, optionally for one channel and/or user."""
        with self._lock:
            return [
                dict(m)
                for m in self._state.ephemerals
                if (channel is None or m["channel"] == channel)
                and (user is None or m["user"] == user)
            ]

    def responses(self, url: str | None = None) -> list[dict[str, Any]]:
        """Bodies posted to response_urls (each with "_url"), optionally for one url."""
        with self._lock:
            return [dict(r) for r in self._state.responses if url is None or r["_url"] == url]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of an opened view."""
        with self._lock:
            v = self._state.views.get(view_id)
            return json.loads(json.dumps(v)) if v else None

    def view_ids(self) -> list[str]:
        """Ids of the modals opened or pushed so far, oldest first (updates keep their id)."""
        with self._lock:
            return [v for v, view in self._state.views.items() if view["type"] == "modal"]

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for `user_id`."""
        with self._lock:
            v = self._state.homes.get(user_id)
            return json.loads(json.dumps(v)) if v else None

    def uploaded(self) -> list[dict[str, Any]]:
        """Files uploaded with files_upload_v2 (each with its bytes under "content")."""
        with self._lock:
            return [dict(u) for u in self._state.uploads.values() if u.get("completed")]

    @property
    def warnings(self) -> list[str]:
        """Problems Slack would tolerate but log (e.g. blocks without a text fallback)."""
        with self._lock:
            return list(self._state.warnings)

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
            impl = _METHODS.get(method)
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
        problems: list[str] = []
        kind = view.get("type")
        if kind not in ("modal", "home"):
            problems.append("[ERROR] must be one of modal, home [json-pointer:/view/type]")
        if kind == "modal":
            for key in ("title", "submit", "close"):
                part = view.get(key)
                if part is None:
                    if key == "title":
                        problems.append(
                            "[ERROR] missing required field: title [json-pointer:/view]"
                        )
                    continue
                if not isinstance(part, dict) or part.get("type") != "plain_text":
                    problems.append(
                        f"[ERROR] must be a plain_text object [json-pointer:/view/{key}]"
                    )
                elif len(part.get("text", "")) > MAX_VIEW_TITLE:
                    problems.append(
                        f"[ERROR] must be less than {MAX_VIEW_TITLE + 1} characters "
                        f"[json-pointer:/view/{key}/text]"
                    )
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            problems.append("[ERROR] missing required field: blocks [json-pointer:/view]")
            blocks = []
        if len(blocks) > MAX_VIEW_BLOCKS:
            problems.append(
                f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"
            )
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if kind == "modal" and has_input and not view.get("submit"):
            problems.append(
                "[ERROR] submit is required when an input block is present [json-pointer:/view]"
            )
        if len(view.get("private_metadata", "") or "") > MAX_PRIVATE_METADATA:
            problems.append(
                f"[ERROR] must be less than {MAX_PRIVATE_METADATA + 1} characters "
                "[json-pointer:/view/private_metadata]"
            )
        problems += _check_blocks(blocks, "/view/blocks")
        if problems:
            raise SlackApiError("invalid_arguments", problems)
        return view

    def _check_message(self, args: dict[str, Any], method: str) -> None:
        blocks = args.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackApiError("invalid_blocks_format")
            problems = []
            if len(blocks) > MAX_MESSAGE_BLOCKS:
                problems.append(
                    f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed "
                    "[json-pointer:/blocks]"
                )
            problems += _check_blocks(blocks, "/blocks")
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


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else len(str(obj or ""))


def _check_blocks(blocks: list[Any], pointer: str) -> list[str]:
    """Block Kit limits Slack rejects: ids unique, option/button/section sizes."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"[ERROR] missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                problems.append(f"[ERROR] duplicate block_id {block_id} [json-pointer:{where}]")
            seen_ids.add(block_id)
            if len(block_id) > 255:
                problems.append(f"[ERROR] block_id too long [json-pointer:{where}/block_id]")
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{where}]")
            if _text_len(block.get("text")) > MAX_SECTION_TEXT:
                problems.append(f"[ERROR] text too long [json-pointer:{where}/text]")
            if len(block.get("fields", [])) > 10:
                problems.append(f"[ERROR] no more than 10 fields [json-pointer:{where}/fields]")
        if kind == "input" and ("label" not in block or "element" not in block):
            problems.append(f"[ERROR] input needs label and element [json-pointer:{where}]")
        if kind == "actions" and len(block.get("elements", [])) > 25:
            problems.append(f"[ERROR] no more than 25 elements [json-pointer:{where}/elements]")
        elements = list(block.get("elements", [])) if kind in ("actions", "context") else []
        for key in ("element", "accessory"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        action_ids: set[str] = set()
        for j, element in enumerate(elements):
            if not isinstance(element, dict):
                continue
            epath = f"{where}/elements/{j}"
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in action_ids:
                    problems.append(f"[ERROR] duplicate action_id [json-pointer:{epath}]")
                action_ids.add(action_id)
            if element.get("type") == "button":
                if _text_len(element.get("text")) > MAX_BUTTON_TEXT:
                    problems.append(f"[ERROR] button text too long [json-pointer:{epath}/text]")
                if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
                    problems.append(f"[ERROR] button value too long [json-pointer:{epath}/value]")
                if len(str(element.get("url", ""))) > MAX_URL:
                    problems.append(f"[ERROR] url too long [json-pointer:{epath}/url]")
            options = list(element.get("options", []))
            for group in element.get("option_groups", []):
                options += group.get("options", [])
            if len(options) > MAX_OPTIONS:
                problems.append(
                    f"[ERROR] no more than {MAX_OPTIONS} options [json-pointer:{epath}]"
                )
            for k, option in enumerate(options):
                if _text_len(option.get("text")) > MAX_OPTION_TEXT:
                    problems.append(
                        f"[ERROR] option text too long [json-pointer:{epath}/options/{k}]"
                    )
                if len(str(option.get("value", ""))) > MAX_OPTION_VALUE:
                    problems.append(
                        f"[ERROR] option value too long [json-pointer:{epath}/options/{k}]"
                    )
    return problems


# ---------------------------------------------------------------- Web API methods


def _auth_test(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": fs.root_url,
        "team": "Test Team",
        "user": "coperniq",
        "team_id": fs.team_id,
        "user_id": fs.bot_user_id,
        "bot_id": fs.bot_id,
        "is_enterprise_install": False,
    }


def _require(args: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not args.get(n)]
    if missing:
        raise SlackApiError(
            "invalid_arguments", [f"[ERROR] missing required field: {n}" for n in missing]
        )


def _post_message(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("channel"):
        raise SlackApiError("channel_not_found")
    fs._check_message(args, "chat.postMessage")
    channel = str(args["channel"])
    if channel.startswith("U") or channel.startswith("W"):
        channel = _dm_channel(channel)
    message = {
        "type": "message",
        "ts": fs._next_ts(),
        "channel": channel,
        "user": fs.bot_user_id,
        "bot_id": fs.bot_id,
        "text": args.get("text", ""),
        "blocks": args.get("blocks"),
        "thread_ts": args.get("thread_ts"),
        "metadata": args.get("metadata"),
    }
    fs._state.messages.setdefault(channel, []).append(message)
    shown = {k: v for k, v in message.items() if v is not None and k != "channel"}
    return {"channel": channel, "ts": message["ts"], "message": shown}


def _update(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "ts")
    fs._check_message(args, "chat.update")
    for message in fs._state.messages.get(str(args["channel"]), []):
        if message["ts"] == str(args["ts"]):
            message["text"] = args.get("text", "")
            message["blocks"] = args.get("blocks")
            message["edited"] = {"user": fs.bot_user_id, "ts": fs._next_ts()}
            return {
                "channel": args["channel"],
                "ts": message["ts"],
                "text": message["text"],
                "message": {k: v for k, v in message.items() if v is not None and k != "channel"},
            }
    raise SlackApiError("message_not_found")


def _delete(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "ts")
    messages = fs._state.messages.get(str(args["channel"]), [])
    for i, message in enumerate(messages):
        if message["ts"] == str(args["ts"]):
            del messages[i]
            return {"channel": args["channel"], "ts": args["ts"]}
    raise SlackApiError("message_not_found")


def _post_ephemeral(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("channel"):
        raise SlackApiError("channel_not_found")
    if not args.get("user"):
        raise SlackApiError("user_not_found")
    fs._check_message(args, "chat.postEphemeral")
    ts = fs._next_ts()
    fs._state.ephemerals.append(
        {
            "channel": str(args["channel"]),
            "user": str(args["user"]),
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": args.get("blocks"),
            "thread_ts": args.get("thread_ts"),
        }
    )
    return {"message_ts": ts}


def _get_permalink(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "message_ts")
    channel, ts = str(args["channel"]), str(args["message_ts"])
    if not any(m["ts"] == ts for m in fs._state.messages.get(channel, [])):
        raise SlackApiError("message_not_found")
    return {
        "channel": channel,
        "permalink": f"{fs.root_url}archives/{channel}/p{ts.replace('.', '')}",
    }


def _store_view(
    fs: FakeSlack,
    view: dict[str, Any],
    *,
    view_id: str | None = None,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
) -> dict[str, Any]:
    view_id = view_id or fs._new_view_id()
    old = fs._state.views.get(view_id, {})
    stored = {
        "id": view_id,
        "team_id": fs.team_id,
        "type": view.get("type"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "external_id": view.get("external_id", old.get("external_id", "")),
        "root_view_id": root_view_id or old.get("root_view_id") or view_id,
        "previous_view_id": previous_view_id or old.get("previous_view_id"),
        "app_id": fs.app_id,
        "bot_id": fs.bot_id,
    }
    fs._state.views[view_id] = stored
    return json.loads(json.dumps(stored))


def _views_open(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view = fs._check_view(args.get("view"))
    if view.get("type") != "modal":
        raise SlackApiError("invalid_arguments", ["[ERROR] views.open needs a modal"])
    fs._use_trigger(args.get("trigger_id"))
    return {"view": _store_view(fs, view)}


def _views_push(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view = fs._check_view(args.get("view"))
    trigger = fs._use_trigger(args.get("trigger_id"))
    parent = fs._state.views.get(trigger.view_id or "")
    if parent is None:
        # Slack pushes only from an interaction inside an open modal.
        raise SlackApiError("not_found")
    root = parent["root_view_id"]
    depth = sum(1 for v in fs._state.views.values() if v["root_view_id"] == root)
    if depth >= MAX_VIEW_STACK:
        raise SlackApiError("push_limit_reached")
    return {"view": _store_view(fs, view, root_view_id=root, previous_view_id=parent["id"])}


def _views_update(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view = fs._check_view(args.get("view"))
    view_id = args.get("view_id")
    if not view_id and args.get("external_id"):
        view_id = next(
            (v["id"] for v in fs._state.views.values() if v["external_id"] == args["external_id"]),
            None,
        )
        if view_id is None:
            raise SlackApiError("not_found")
    if not view_id:
        raise SlackApiError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
    current = fs._state.views.get(str(view_id))
    if current is None:
        raise SlackApiError("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackApiError("hash_conflict")
    return {"view": _store_view(fs, view, view_id=str(view_id))}


def _views_publish(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "user_id")
    view = fs._check_view(args.get("view"))
    if view.get("type") != "home":
        raise SlackApiError("invalid_arguments", ["[ERROR] views.publish needs a home view"])
    stored = _store_view(fs, view)
    fs._state.homes[str(args["user_id"])] = stored
    return {"view": stored}


def _files_info(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "file")
    info = fs._state.files.get(str(args["file"]))
    if info is None:
        raise SlackApiError("file_not_found")
    return {"file": dict(info), "comments": [], "response_metadata": {"next_cursor": ""}}


def _get_upload_url(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "filename", "length")
    file_id = f"F{next(fs._ids):09d}"
    upload_id = uuid.uuid4().hex
    fs._state.uploads[upload_id] = {
        "file_id": file_id,
        "filename": args["filename"],
        "length": int(args["length"]),
        "completed": False,
    }
    return {"upload_url": f"{fs.root_url}upload/{upload_id}", "file_id": file_id}


def _complete_upload(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    files = args.get("files")
    if isinstance(files, str):
        files = json.loads(files)
    if not files:
        raise SlackApiError("invalid_arguments", ["[ERROR] missing required field: files"])
    done = []
    for item in files:
        upload = next(
            (u for u in fs._state.uploads.values() if u["file_id"] == item.get("id")), None
        )
        if upload is None or "content" not in upload:
            raise SlackApiError("file_not_found")
        upload.update(
            completed=True,
            title=item.get("title"),
            channel_id=args.get("channel_id"),
            initial_comment=args.get("initial_comment"),
            thread_ts=args.get("thread_ts"),
        )
        done.append({"id": upload["file_id"], "title": item.get("title") or upload["filename"]})
    return {"files": done}


def _dm_channel(user: str) -> str:
    return "D" + user.lstrip("UW")


def _conversations_open(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    users = args.get("users")
    if not users and not args.get("channel"):
        raise SlackApiError("users_list_not_supplied")
    if args.get("channel"):
        return {"channel": {"id": str(args["channel"])}}
    ids = [u for u in str(users).split(",") if u]
    if len(ids) != 1:
        return {"channel": {"id": "G" + "".join(i.lstrip("UW") for i in ids)[:10]}}
    return {"channel": {"id": _dm_channel(ids[0])}, "no_op": False, "already_open": False}


def _conversations_info(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel")
    channel = str(args["channel"])
    if channel[:1] not in ("C", "G", "D"):
        raise SlackApiError("channel_not_found")
    return {"channel": fs._channel_info(channel)}


def _users_info(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "user")
    user_id = str(args["user"])
    if user_id[:1] not in ("U", "W"):
        raise SlackApiError("user_not_found")
    extra = dict(fs._state.users.get(user_id, {}))
    name = extra.pop("name", user_id.lower())
    real_name = extra.pop("real_name", f"Test User {user_id}")
    email = extra.pop("email", f"{user_id.lower()}@example.com")
    user = {
        "id": user_id,
        "team_id": fs.team_id,
        "name": name,
        "real_name": real_name,
        "deleted": False,
        "tz": extra.pop("tz", "America/Chicago"),
        "is_bot": user_id == fs.bot_user_id,
        "profile": {"real_name": real_name, "display_name": name, "email": email},
    }
    user.update(extra)
    return {"user": user}


def _connections_open(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not fs.socket_mode_url:
        raise SlackApiError("internal_error")
    return {"url": fs.socket_mode_url}


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.delete": _delete,
    "chat.postEphemeral": _post_ephemeral,
    "chat.getPermalink": _get_permalink,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "files.info": _files_info,
    "files.getUploadURLExternal": _get_upload_url,
    "files.completeUploadExternal": _complete_upload,
    "conversations.open": _conversations_open,
    "conversations.info": _conversations_info,
    "users.info": _users_info,
    "apps.connections.open": _connections_open,
}


# ---------------------------------------------------------------- HTTP plumbing


def _parse_body(content_type: str, raw: bytes) -> Any:
    if not raw:
        return {}
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}
    if "form" in content_type or not content_type:
        return _decode_form(raw.decode("utf-8", "replace"))
    return {"_raw": raw.decode("utf-8", "replace")}


def _decode_form(text: str) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    for key in _JSON_ARGS & args.keys():
        if isinstance(args[key], str) and args[key][:1] in ("[", "{"):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr access log
        return

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _api(self, method: str, args: dict[str, Any]) -> None:
        token = self._bearer() or (args.pop("token", None) if isinstance(args, dict) else None)
        status, headers, body = self.owner.handle_api(method, args, token)
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            self._api(url.path[5:], _decode_form(url.query))
        elif url.path.startswith("/files-pri/"):
            content_type, content = self.owner.handle_download(url.path, self._bearer())
            self._send(200, content, content_type)
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        url = urlsplit(self.path)
        raw = self._read()
        content_type = self.headers.get("Content-Type", "")
        if url.path.startswith("/api/"):
            args = _parse_body(content_type, raw)
            if not isinstance(args, dict):
                args = {"_raw": args}
            if url.query:
                args = {**_decode_form(url.query), **args}
            self._api(url.path[5:], args)
        elif url.path.startswith("/response/"):
            error = self.owner.handle_response_url(
                url.path, _parse_body(content_type or "json", raw)
            )
            if error:
                self._send(400, error.encode(), "text/html")
            else:
                self._send(200, b"ok", "text/html")
        elif url.path.startswith("/upload/"):
            ok = self.owner.handle_upload(url.path.rsplit("/", 1)[-1], raw)
            self._send(200 if ok else 404, b"OK - " + str(len(raw)).encode(), "text/plain")
        else:
            self._send(404, b"not found", "text/plain")
