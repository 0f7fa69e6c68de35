"""FakeSlack's side for tests: faults to inject, files, users and channels to add, what it saw."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.slack.state import (
    SlackCall,
    _Fault,
    _Trigger,
)


class ControlsMixin:
    """Test controls and inspection of FakeSlack (sandbox/slack/fake.py); state under its lock."""

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

    def set_latency(self, seconds: float) -> None:
        """Wait `seconds` before answering every request: Web API calls, file downloads,
        response_url posts and uploads alike (benchmarks play a far-away Slack); 0 turns it off."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self.latency = float(seconds)

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
        """Give users.info specific fields (name, real_name, tz, email, is_admin, is_owner...).

        email=None answers a profile without an email; not_found=True answers user_not_found.
        """
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
