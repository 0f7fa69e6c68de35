"""The wire: one logical Coperniq call sent with retries, the budget asked and the ledger written.

`Transport.request` decides whether an attempt is retried (per a `RetryPolicy`: reads on 5xx,
timeouts and dropped connections; anything on 429; never past the policy's sleep allowance),
honours Retry-After, records every attempt in the budget's ledger and logs method, path, status
and duration only. Errors are worded in `errors.py`; the key is revealed only into the header.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.config import Secret
from bot.coperniq import errors
from bot.coperniq.budget import BACKGROUND, INTERACTIVE, Budget
from bot.coperniq.redact import REDACTOR

logger = logging.getLogger("bot.coperniq")

USER_AGENT = f"coperniq-slack-bot/0.1 httpx/{httpx.__version__}"
# Coperniq's documented burst limit per key. The spec itself documents no X-RateLimit-* header
# and lists a 429 answer on one operation only (create-work-order-note), although every
# operation can be rate limited: 429 is handled everywhere.
PER_SECOND_LIMIT = 100
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, backoff base and cap, and the most time spent sleeping."""

    name: str
    attempts: int
    base: float
    cap: float
    max_total_sleep: float
    timeout: float | None = None  # per-request timeout override (None: the client's)

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number `retry` (1-based): capped exponential with equal jitter."""
        ceiling = min(self.cap, self.base * (2 ** (retry - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


# Background jobs can wait; 5,000 calls a day is the real limit, not latency.
BACKGROUND_POLICY = RetryPolicy("background", attempts=5, base=1.0, cap=30.0, max_total_sleep=90.0)
# A person is waiting in Slack (trigger_id dies at 3 s): one quick retry, at most ~2 s asleep.
INTERACTIVE_POLICY = RetryPolicy(
    "interactive", attempts=2, base=0.2, cap=1.0, max_total_sleep=2.0, timeout=10.0
)
# The policy each purpose gets unless told otherwise.
POLICIES = {INTERACTIVE: INTERACTIVE_POLICY, BACKGROUND: BACKGROUND_POLICY}


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Transport:
    """Sends one logical call: budget check, attempts with backoff, ledger, logging, errors."""

    def __init__(
        self,
        api_key: str | Secret,
        base_url: str,
        *,
        budget: Budget,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        if not key:
            raise ValueError("a Coperniq API key is required")
        self._key = key
        REDACTOR.add(key.reveal())
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # The one place the key is revealed, straight into the outgoing header.
    def _headers(self) -> dict[str, str]:
        return {
            "x-api-key": self._key.reveal(),
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        purpose: str,
        policy: RetryPolicy,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        """Send `method path`, retrying per `policy`; return the decoded JSON (None when empty)."""
        method = method.upper()
        is_read = method in READ_METHODS
        url = self.base_url + path
        query = _clean_params(params)
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            if purpose == BACKGROUND:
                self.budget.require(1)
            try:
                response = self._send(
                    method, url, path, query, json, files, purpose, policy, attempt
                )
            except (errors.Timeout, errors.ConnectionFailed) as exc:
                if not is_read:
                    raise
                error: errors.CoperniqError = exc
                delay = policy.backoff(attempt, self._rng)
            else:
                if response.status_code < 400:
                    return _decode(response, method, path)
                # Honoured on 429 and on a 503 that says when to come back.
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
                error = errors.from_response(
                    response.status_code,
                    _json_or_none(response),
                    retry_after,
                    method=method,
                    path=path,
                    is_read=is_read,
                    redact=REDACTOR.redact,
                )
                retryable = isinstance(error, errors.RateLimited) or (
                    is_read and isinstance(error, errors.ServerError)
                )
                if not retryable:
                    raise error
                delay = policy.backoff(attempt, self._rng)
                if retry_after is not None:
                    if retry_after > policy.cap:
                        # Don't sleep for minutes; say when instead.
                        raise error
                    delay = max(delay, retry_after)
            if attempt >= policy.attempts or slept + delay > policy.max_total_sleep:
                raise error
            logger.info(
                "coperniq %s %s: %s; retry %d/%d in %.2fs (%s)",
                method,
                path,
                type(error).__name__,
                attempt,
                policy.attempts - 1,
                delay,
                policy.name,
            )
            self.sleep(delay)
            slept += delay

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        query: dict[str, str],
        json: Any,
        files: dict[str, Any] | None,
        purpose: str,
        policy: RetryPolicy,
        attempt: int,
    ) -> httpx.Response:
        timeout = policy.timeout if policy.timeout is not None else self.timeout
        timeout = min(timeout, self.timeout)
        started = time.perf_counter()
        is_read = method in READ_METHODS
        try:
            response = self._http.request(
                method,
                url,
                params=query or None,
                json=json,
                files=files,
                headers=self._headers(),
                timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never connected: nothing reached Coperniq, so nothing to record and nothing half-done.
            self._log(method, path, None, started, attempt, purpose, type(exc).__name__)
            raise errors.not_connected(
                method,
                path,
                str(exc) or type(exc).__name__,
                timed_out=isinstance(exc, httpx.TimeoutException),
                redact=REDACTOR.redact,
            ) from exc
        except httpx.TimeoutException as exc:
            self.budget.record(method=method, path=path, status=None, purpose=purpose)
            self._log(method, path, None, started, attempt, purpose, "timeout")
            raise errors.timed_out(method, path, timeout, is_read=is_read) from exc
        except httpx.TransportError as exc:
            self.budget.record(method=method, path=path, status=None, purpose=purpose)
            self._log(method, path, None, started, attempt, purpose, type(exc).__name__)
            raise errors.dropped(method, path, type(exc).__name__, is_read=is_read) from exc
        remaining = _int_header(response.headers.get("X-RateLimit-Remaining"))
        limit = _int_header(response.headers.get("X-RateLimit-Limit"))
        if limit is not None and limit <= PER_SECOND_LIMIT:
            # The spec documents neither header; if they describe the 100/s window rather than
            # the day, they say nothing about the daily budget and must not starve background work.
            remaining = None
        self.budget.record(
            method=method,
            path=path,
            status=response.status_code,
            purpose=purpose,
            rate_remaining=remaining,
        )
        self._log(method, path, response.status_code, started, attempt, purpose, None)
        return response

    def _log(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        attempt: int,
        purpose: str,
        failure: str | None,
    ) -> None:
        # Method, path, status and duration only: query strings and bodies can hold personal data.
        ms = (time.perf_counter() - started) * 1000
        level = logging.DEBUG if status is not None and status < 400 else logging.INFO
        logger.log(
            level,
            "coperniq %s %s -> %s in %.0f ms (attempt %d, %s)",
            method,
            path,
            status if status is not None else failure,
            ms,
            attempt,
            purpose,
        )


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    if not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise errors.not_json(response.status_code, method, path) from exc


def _clean_params(params: dict[str, Any] | None) -> dict[str, str]:
    """Drop None values and render booleans and datetimes the way Coperniq reads them."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, datetime):
            out[key] = iso_z(value)
        else:
            out[key] = str(value)
    return out


def iso_z(value: datetime) -> str:
    """UTC ISO-8601 with a Z, from an aware datetime."""
    if value.tzinfo is None:
        raise ValueError("give an aware datetime (with a time zone)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
