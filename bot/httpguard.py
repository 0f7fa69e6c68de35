"""The guard in front of Bolt in HTTP mode: size, then Slack's signature, then the body's shape.

Anyone on the internet can POST to the Request URL. Before this guard, Bolt read any body, parsed
it before checking the signature (a malformed one was a 500 and a traceback) and logged a refused
body in full. Here nothing is parsed or logged beyond method, path and size until the v0
signature is valid; a body over the limit is refused (413) without being read. What passes is
handed to Bolt as the same form (see _for_bolt); this guard is the HTTP mode's signature check.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

# Slack documents no size for what it sends; its largest requests (a view_submission or a
# block_actions from a 100-block modal, JSON inside a form field) stay well under this.
MAX_BODY_BYTES = 1024 * 1024

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
# Slack's SSL certificate check is the one request it does not sign: `ssl_check=1&token=…`.
_SSL_CHECK_MAX_BYTES = 256

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Clock(Clock):
    """slack_sdk's clock interface over an injectable `now()` (seconds since the epoch)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class Refused(Exception):
    """A request the guard answers itself: HTTP status and a short reason (never the body)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackRequestGuard:
    """WSGI middleware for the Request URL; `inner` (Bolt's adapter) sees only good requests."""

    def __init__(
        self,
        inner: WsgiApp,
        signing_secret: str,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(now))
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        try:
            if method != "POST":
                raise Refused("405 Method Not Allowed", "only POST")
            body = self._read(environ)
            if not self._signed(environ, body):
                if _is_ssl_check(environ, body):
                    return _answer(start_response, "200 OK", b"", "text/plain")
                raise Refused("401 Unauthorized", "missing or invalid Slack signature")
            _check_shape(environ, body)
        except Refused as refused:
            size = environ.get("CONTENT_LENGTH") or "?"
            log.warning("Refused %s %s (%s bytes): %s", method, path, size, refused.reason)
            extra = [("Allow", "POST")] if refused.status.startswith("405") else []
            payload = json.dumps({"error": refused.reason}).encode()
            return _answer(start_response, refused.status, payload, JSON, extra)
        body = _for_bolt(environ, body)
        # Bolt reads exactly CONTENT_LENGTH bytes from wsgi.input: give it the ones verified here.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._inner(environ, start_response)

    def _read(self, environ: dict[str, Any]) -> bytes:
        raw = (environ.get("CONTENT_LENGTH") or "0").strip()
        if not raw.isdigit():
            raise Refused("400 Bad Request", "bad Content-Length")
        length = int(raw)
        if length > self.max_body_bytes:
            raise Refused("413 Content Too Large", f"body over {self.max_body_bytes} bytes")
        stream = environ.get("wsgi.input")
        body = stream.read(length) if stream is not None and length else b""
        if len(body) != length:
            raise Refused("400 Bad Request", "body shorter than its Content-Length")
        return body

    def _signed(self, environ: dict[str, Any], body: bytes) -> bool:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        # SignatureVerifier raises on a non-numeric timestamp or a non-ASCII signature, and
        # decodes the body as UTF-8: check the forms first so a stranger cannot make it raise.
        if not _TIMESTAMP.match(timestamp) or not _SIGNATURE.match(signature):
            return False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return self._verifier.is_valid(text, timestamp, signature)


def _answer(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(status, headers + (extra or []))
    return [body]


def _media_type(environ: dict[str, Any]) -> str:
    return (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def _is_ssl_check(environ: dict[str, Any], body: bytes) -> bool:
    """Slack's unsigned certificate check, answered 200 as Bolt does; anything more is refused."""
    if _media_type(environ) != FORM or not body or len(body) > _SSL_CHECK_MAX_BYTES:
        return False
    if "HTTP_X_SLACK_SIGNATURE" in environ:
        return False
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("ssl_check") == ["1"] and set(fields) <= {"ssl_check", "token"}


def _check_shape(environ: dict[str, Any], body: bytes) -> None:
    """Refuse (400) a signed body Bolt could not parse: Slack sends a JSON object or a form."""
    from slack_bolt.request import BoltRequest

    media = _media_type(environ)
    if media not in (FORM, JSON):
        raise Refused("400 Bad Request", f"unsupported content type {media or 'none'!r}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("400 Bad Request", "body is not UTF-8") from None
    if media == JSON:
        _json_object(text, "body")
    else:
        try:
            fields = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise Refused("400 Bad Request", "body is not a form") from None
        for name, value in fields:
            if name == "payload":
                _json_object(value, "payload")
    # Bolt's own parse (it also reads fields such as `authorizations` and `team`): a body it
    # cannot turn into a request is refused here rather than raising in its adapter.
    headers = {"content-type": environ.get("CONTENT_TYPE", "")}
    try:
        BoltRequest(body=text, headers=headers)
    except Exception:  # noqa: BLE001 - whatever Bolt raises on it, the body is malformed
        raise Refused("400 Bad Request", "body has an unexpected shape") from None


def _for_bolt(environ: dict[str, Any], body: bytes) -> bytes:
    """The verified body, written so that Bolt reads what Slack sent.

    Bolt takes any form body that contains the letters "payload" for an interactivity payload
    (`"payload" in body`): a slash command whose text, channel or user name has the word was
    parsed to {} and silently dropped. Percent-encoding the 'p' keeps the form's meaning
    (parse_qsl decodes it back) and hides the word from that test. Since the bytes may change,
    this guard is the one signature check in HTTP mode (Bolt's own is off).
    """
    if _media_type(environ) != FORM or b"payload" not in body:
        return body
    if any(name == "payload" for name, _ in parse_qsl(body.decode("utf-8"))):
        return body  # a real interactivity payload
    return body.replace(b"payload", b"%70ayload")


def _json_object(text: str, what: str) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        raise Refused("400 Bad Request", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused("400 Bad Request", f"{what} is not a JSON object")
