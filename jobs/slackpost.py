"""Posting alerts: one message (or file) a second per channel at most, `ratelimited` honoured."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

# Shared by every poster in the process: both jobs may post to one channel from two threads.
_last_post: dict[str, float] = {}
_pace_lock = threading.Lock()


def retry_after_seconds(exc: SlackApiError, default: float = 1.0) -> float | None:
    """Seconds to wait when Slack answered `ratelimited`; None for any other error."""
    resp = exc.response
    error = resp.get("error") if hasattr(resp, "get") else None
    status = getattr(resp, "status_code", None)
    if error != "ratelimited" and status != 429:
        return None
    headers = getattr(resp, "headers", {}) or {}
    raw = None
    for k, v in headers.items():
        if k.lower() == "retry-after":
            raw = v[0] if isinstance(v, list) else v
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


def slack_error(exc: SlackApiError) -> str | None:
    """Slack's error code of a failed call (`missing_scope`), if it answered with one."""
    response = exc.response
    try:
        return response.get("error") if response is not None else None
    except ValueError:  # a binary answer (an HTML error page read as bytes)
        return None


def slack_failure(exc: SlackApiError) -> str:
    """Slack's error code and HTTP status of a failed call, for one log line."""
    status = getattr(exc.response, "status_code", None)
    return f"{slack_error(exc) or 'no error code'} (HTTP {status})"


class SlackPoster:
    """chat.postMessage / chat.update / files_upload_v2, paced per channel, patient with limits."""

    def __init__(
        self,
        client: WebClient,
        *,
        min_interval: float = 1.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.min_interval = min_interval
        self.max_retries = max_retries
        self.sleep = sleep
        self.monotonic = monotonic

    def _pace(self, channel: str) -> None:
        # Reserve the next slot under the lock, sleep outside it, so other channels are not held up.
        with _pace_lock:
            now = self.monotonic()
            slot = max(now, _last_post.get(channel, float("-inf")) + self.min_interval)
            _last_post[channel] = slot
        if slot > now:
            self.sleep(slot - now)

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                return method(**kwargs)
            except SlackApiError as exc:
                wait = retry_after_seconds(exc)
                if wait is None or attempt >= self.max_retries:
                    raise
                attempt += 1
                log.warning("Slack rate limit; waiting %.1f s before retry %d", wait, attempt)
                self.sleep(wait)

    def post(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None
    ) -> str:
        """Post a message (or thread reply); its ts."""
        self._pace(channel)
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        resp = self._call(self.client.chat_postMessage, **kwargs)
        return str(resp["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message's content in place."""
        self._call(self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)

    def upload(
        self,
        channel: str,
        thread_ts: str,
        *,
        filename: str,
        content: str,
        title: str,
        comment: str,
    ) -> str:
        """Share a text file in a message's thread (files_upload_v2, scope files:write); its id."""
        # Sharing it posts a message in the channel: paced like one.
        self._pace(channel)
        resp = self._call(
            self.client.files_upload_v2,
            channel=channel,
            thread_ts=thread_ts,
            filename=filename,
            content=content,
            title=title,
            initial_comment=comment,
        )
        file = resp.get("file") or {}
        return str(file.get("id") or "")
