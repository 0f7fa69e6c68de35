"""The fake Slack's HTTP side: Web API calls, response_url posts, uploads and file downloads."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from sandbox.slack.fake import FakeSlack

# Arguments slack-sdk sends JSON-encoded inside a form body.
_JSON_ARGS = {"blocks", "attachments", "view", "metadata", "files", "unfurls"}


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

    def _wait(self) -> None:
        # Outside the fake's lock: requests in flight wait side by side, as they would on Slack.
        latency = getattr(self.owner, "latency", 0.0)
        if latency > 0:
            time.sleep(latency)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._wait()
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
        self._wait()
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
