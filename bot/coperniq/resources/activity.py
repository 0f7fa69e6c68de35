"""What happens on a record: phone call logs and notes (the summary's "comments"), with mentions.

Calls and notes live under projects, opportunities and accounts alike. `mention()` writes the
`[Name|~id:USER_ID]` form that makes a note notify a Coperniq user.
"""

from __future__ import annotations

from typing import Any

from bot.coperniq.paths import check_id, record_path
from bot.coperniq.resources.base import Resource, _as_list


def mention(name: str, user_id: int | str) -> str:
    """A note mention that notifies a Coperniq user: `[Name|~id:USER_ID]`."""
    uid = check_id(user_id, "user id")
    # '|' and brackets would end the mention early; newlines would split it.
    clean = " ".join(name.replace("|", " ").replace("[", "(").replace("]", ")").split())
    return f"[{clean or 'user'}|~id:{uid}]"


class Calls(Resource):
    """Phone call logs on projects, opportunities and accounts."""

    def create(
        self, record_type: str, record_id: int | str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Log a call (POST /{type}s/{id}/calls); the spec lists its required fields."""
        return self._send("POST", record_path(record_type, record_id) + "/calls", body)

    def list(self, record_type: str, record_id: int | str) -> list[dict[str, Any]]:
        """The record's calls (GET /{type}s/{id}/calls)."""
        return _as_list(self._get(record_path(record_type, record_id) + "/calls"))


class Notes(Resource):
    """Notes (the summary's "comments") on projects, opportunities and accounts."""

    mention = staticmethod(mention)

    def create(
        self,
        record_type: str,
        record_id: int | str,
        body: str,
        *,
        reply_to_id: int | str | None = None,
    ) -> dict[str, Any]:
        """Add a note (POST /{type}s/{id}/notes {body}); write mentions with `mention()`."""
        if not isinstance(body, str) or not body.strip():
            raise ValueError("a note needs some text")
        payload: dict[str, Any] = {"body": body}
        if reply_to_id is not None:
            payload["replyToId"] = int(check_id(reply_to_id, "note id"))
        return self._send("POST", record_path(record_type, record_id) + "/notes", payload)

    def list(self, record_type: str, record_id: int | str) -> list[dict[str, Any]]:
        """The record's notes (GET /{type}s/{id}/notes answers {notes, totalCount})."""
        return _as_list(self._get(record_path(record_type, record_id) + "/notes"), "notes")
