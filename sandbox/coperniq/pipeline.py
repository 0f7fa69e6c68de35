"""Serving one sandbox request: auth, budget, faults, routing to the API, recording, answering."""

from __future__ import annotations

import hmac
import json
import logging
import socket
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.coperniq.api import ApiRequest, ApiResponse
from sandbox.coperniq.faults import Fault
from sandbox.coperniq.http import (
    ERROR_CODES,
    ERROR_MESSAGES,
    MAX_BODY,
    RecordedRequest,
    _Handler,
    _read_chunked,
)

log = logging.getLogger(__name__)


class HttpMixin:
    """The request pipeline of CoperniqSandbox (sandbox/coperniq/server.py)."""

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
