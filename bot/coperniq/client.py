"""Transport for the Coperniq REST API: pooled httpx client, retries, errors, logging, budget.

Resources (`resources/`) build paths and bodies with the id checks of `paths.py`; everything about
the wire lives here.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from bot.config import Secret
from bot.coperniq import errors
from bot.coperniq import resources as r
from bot.coperniq.budget import BACKGROUND, INTERACTIVE, Budget
from bot.coperniq.paths import check_id  # noqa: F401 - still importable from here

if TYPE_CHECKING:
    from bot.store import Store

logger = logging.getLogger("bot.coperniq")

USER_AGENT = f"coperniq-slack-bot/0.1 httpx/{httpx.__version__}"
# Coperniq's documented burst limit per key. The spec itself documents no X-RateLimit-* header
# and lists a 429 answer on one operation only (create-work-order-note), although every
# operation can be rate limited: 429 is handled everywhere.
PER_SECOND_LIMIT = 100
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_QUERY = re.compile(r"\?[^\s\"'>]*")


# --- redaction --------------------------------------------------------------------------------


class _Redactor(logging.Filter):
    """Logging filter that masks every registered secret in a record's message and arguments."""

    def __init__(self) -> None:
        super().__init__("coperniq-redactor")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        # Very short strings would mask innocent text; real keys are long.
        if len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for s in secrets:
            if s in text:
                text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            message = str(record.msg)
        clean = self.redact(message)
        if record.name.startswith(("httpx", "httpcore")):
            # httpx logs whole URLs at INFO; search filters (emails, phones) sit in the query.
            clean = _QUERY.sub("?…", clean)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


REDACTOR = _Redactor()
# Loggers that see our traffic; belt and braces, since nothing logs the key on purpose.
for _name in ("bot.coperniq", "httpx", "httpcore"):
    logging.getLogger(_name).addFilter(REDACTOR)


# --- retry policy -----------------------------------------------------------------------------


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


# --- transport --------------------------------------------------------------------------------


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
        self.views: dict[str, Any] = {}
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
                error = self._error_from(response, method, path, is_read)
                retryable = isinstance(error, errors.RateLimited) or (
                    is_read and isinstance(error, errors.ServerError)
                )
                if not retryable:
                    raise error
                delay = policy.backoff(attempt, self._rng)
                # Honoured on 429 and on a 503 that says when to come back.
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
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
            cls = (
                errors.Timeout
                if isinstance(exc, httpx.TimeoutException)
                else errors.ConnectionFailed
            )
            raise cls(
                f"Could not connect to Coperniq for {method} {path}: "
                f"{self._clean(str(exc)) or type(exc).__name__}. "
                "Check the network and COPERNIQ_BASE_URL.",
                method=method,
                path=path,
                outcome_unknown=False,
            ) from exc
        except httpx.TimeoutException as exc:
            self.budget.record(method=method, path=path, status=None, purpose=purpose)
            self._log(method, path, None, started, attempt, purpose, "timeout")
            raise errors.Timeout(
                f"Coperniq did not answer {method} {path} within {timeout:g}s."
                + ("" if is_read else " The change may or may not have been made."),
                method=method,
                path=path,
                outcome_unknown=not is_read,
            ) from exc
        except httpx.TransportError as exc:
            self.budget.record(method=method, path=path, status=None, purpose=purpose)
            self._log(method, path, None, started, attempt, purpose, type(exc).__name__)
            raise errors.ConnectionFailed(
                f"The connection to Coperniq failed during {method} {path} ({type(exc).__name__})."
                + ("" if is_read else " The change may or may not have been made."),
                method=method,
                path=path,
                outcome_unknown=not is_read,
            ) from exc
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

    def _clean(self, text: str) -> str:
        return REDACTOR.redact(text)

    def _error_from(
        self, response: httpx.Response, method: str, path: str, is_read: bool
    ) -> errors.CoperniqError:
        status = response.status_code
        api_message = code = field = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            api_message = body.get("message")
            code = body.get("code")
            field = body.get("field")
            if isinstance(api_message, list):  # some validators answer a list of messages
                api_message = "; ".join(str(m) for m in api_message)
        api_message = self._clean(str(api_message)) if api_message else None
        code = str(code) if code is not None else None
        field = str(field) if field is not None else None
        said = f": {api_message}" if api_message else ""
        where = f"{method} {path}"
        common: dict[str, Any] = {
            "status": status,
            "code": code,
            "field": field,
            "method": method,
            "path": path,
        }
        if status == 400 or status == 422:
            on = f" (field '{field}')" if field else ""
            return errors.ValidationError(
                f"Coperniq rejected {where}{on}{said}. Fix the request and try again.", **common
            )
        if status == 413:
            return errors.PayloadTooLarge(
                f"Coperniq refused {where}: the body is too large (about 6 MB goes through).",
                **common,
            )
        if status == 401:
            return errors.AuthenticationError(
                f"Coperniq refused the API key on {where}{said}. Check COPERNIQ_API_KEY.", **common
            )
        if status == 403:
            return errors.PermissionDenied(
                f"Coperniq denied {where}{said}: the key's user lacks permission for this.",
                **common,
            )
        if status == 404:
            return errors.NotFound(
                f"Coperniq found nothing at {where}{said}. The record may not exist or may be "
                "outside "
                "the API key user's scope.",
                **common,
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
            wait = (
                f" Retry after {retry_after:g}s."
                if retry_after is not None
                else " Try again shortly."
            )
            return errors.RateLimited(
                f"Coperniq rate limit hit on {where}{said}.{wait}",
                retry_after=retry_after,
                **common,
            )
        if status >= 500:
            unknown = not is_read
            return errors.ServerError(
                f"Coperniq failed with {status} on {where}{said}."
                + (
                    " The change may or may not have been made." if unknown else " Try again later."
                ),
                outcome_unknown=unknown,
                **common,
            )
        return errors.CoperniqError(f"Coperniq answered {status} to {where}{said}.", **common)


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    if not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise errors.CoperniqError(
            f"Coperniq answered {method} {path} with a body that is not JSON.",
            status=response.status_code,
            method=method,
            path=path,
        ) from exc


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


# --- the client -------------------------------------------------------------------------------


class CoperniqClient:
    """The Coperniq API, one attribute per resource; `.interactive`/`.background` pick the policy.

    The bare client behaves like `.background` (patient retries, refused past the reserve):
    code that runs while a person waits in Slack must say so with `.interactive`.
    """

    def __init__(
        self,
        api_key: str | Secret,
        base_url: str,
        *,
        store: Store | None = None,
        daily_budget: int = 5000,
        reserve_fraction: float = 0.2,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 20.0,
    ) -> None:
        budget = Budget(daily_budget, reserve_fraction, store=store, clock=clock)
        transport = Transport(
            api_key,
            base_url,
            budget=budget,
            http_client=http_client,
            sleep=sleep,
            clock=clock,
            timeout=timeout,
        )
        self._bind(transport, BACKGROUND, BACKGROUND_POLICY)

    @classmethod
    def _view(cls, transport: Transport, purpose: str, policy: RetryPolicy) -> CoperniqClient:
        view = cls.__new__(cls)
        view._bind(transport, purpose, policy)
        return view

    def _bind(self, transport: Transport, purpose: str, policy: RetryPolicy) -> None:
        self._transport = transport
        self.purpose = purpose
        self.policy = policy
        self.budget = transport.budget
        # Calls made through this view (see metered()); retries of one call count once here,
        # every attempt counts in the budget's ledger.
        self.calls_made = 0
        self.projects = r.Records(self, "projects")
        self.opportunities = r.Records(self, "opportunities")
        self.accounts = r.Records(self, "accounts")
        self.requests = self.opportunities  # what people in Slack call them
        self.clients = self.accounts
        self.work_orders = r.WorkOrders(self)
        self.line_items = r.LineItems(self)
        self.files = r.Files(self)
        self.workflows = r.Workflows(self)
        self.invoices = r.Invoices(self)
        self.forms = r.Forms(self)
        self.calls = r.Calls(self)
        self.users = r.Users(self)
        self.teams = r.Teams(self)
        self.roles = r.Roles(self)
        self.properties = r.Properties(self)
        self.notes = r.Notes(self)

    @property
    def interactive(self) -> CoperniqClient:
        """Same transport and budget; short retries; never refused by the budget."""
        return self._view_for(INTERACTIVE, INTERACTIVE_POLICY)

    @property
    def background(self) -> CoperniqClient:
        """Same transport and budget; patient retries; refused past the reserve kept for people."""
        return self._view_for(BACKGROUND, BACKGROUND_POLICY)

    def _view_for(self, purpose: str, policy: RetryPolicy) -> CoperniqClient:
        # One view per purpose, built on first use (handlers ask for it on every request).
        views = self._transport.views
        view = views.get(purpose)
        if view is None:
            view = views.setdefault(purpose, CoperniqClient._view(self._transport, purpose, policy))
        return view

    def metered(self) -> CoperniqClient:
        """A fresh view with this one's purpose and policy, counting its calls in `calls_made`."""
        return CoperniqClient._view(self._transport, self.purpose, self.policy)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        """Send one call under this view's purpose and policy (resources use this)."""
        try:
            result = self._transport.request(
                method,
                path,
                purpose=self.purpose,
                policy=self.policy,
                params=params,
                json=json,
                files=files,
            )
        except errors.BudgetExceeded:
            raise  # refused before anything was sent
        except errors.CoperniqError:
            self.calls_made += 1
            raise
        self.calls_made += 1
        return result

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> CoperniqClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CoperniqClient(base_url={self.base_url!r}, purpose={self.purpose!r})"
