"""Add a note to a Coperniq record exactly once: any record kind, any text, signed with its author.

Generic on purpose: a Workflow Builder step, a modal or a button gives the record (kind, id), the
text and an `occasion` (what makes two notes with the same text two notes: a workflow execution
id, a modal's view id) and gets a submissions.Written back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot import submissions
from bot.people import Author, attribution

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.coperniq import CoperniqClient

ACTION = "add_note"
# Coperniq's spec gives no limit; Slack's longest text input is 3,000 characters.
MAX_NOTE_CHARS = 5000


def note_body(text: str, author: Author) -> str:
    """The note as Coperniq shows it: the text, then who wrote it from Slack."""
    return f"{text.strip()}\n— {attribution(author)}"


def _same_text(a: object, b: str) -> bool:
    return " ".join(str(a or "").split()) == " ".join(b.split())


def find_noted(
    coperniq: CoperniqClient, record: tuple[str, int], sent: str
) -> dict[str, Any] | None:
    """The note an earlier, unanswered try posted, if the record has one with exactly its text."""
    for note in coperniq.notes.list(*record):
        # The list answers `note` (the spec's Note); older answers said `body`.
        if _same_text(note.get("note", note.get("body")), sent):
            return note
    return None


def add_note(
    db: Database,
    coperniq: CoperniqClient,
    *,
    user: str,
    record: tuple[str, int],
    text: str,
    occasion: str,
    on_claim: Callable[[submissions.Claim], None] | None = None,
    author: Callable[[], Author],
) -> submissions.Written:
    """Post `text` on `record` (kind, id) once per `occasion`; `author` is asked after the claim.

    After an unknown outcome the retry looks for the very text the earlier try sent (kept in the
    submission's progress, since the signature may read otherwise now) before posting again.
    """
    kind, record_id = record
    by = functools.cache(author)

    def lookup(claim: submissions.Claim) -> dict[str, Any] | None:
        sent = str((claim.progress or {}).get("note") or "")
        return find_noted(coperniq, record, sent) if sent else None

    def create(claim: submissions.Claim) -> dict[str, Any]:
        body = (claim.progress or {}).get("note") or note_body(text, by())
        submissions.note_progress(db, claim.key, note=body)
        return coperniq.notes.create(kind, record_id, body)

    def saved_as(note: dict[str, Any]) -> submissions.Saved:
        return submissions.Saved(
            "note",
            note.get("id"),
            audit_type=kind,
            audit_id=record_id,
            audit_detail={"note_id": note.get("id")},
            coperniq_user=by().coperniq_id,
        )

    write = submissions.Write(
        slack_user=user,
        action=ACTION,
        details={"record": f"{kind}:{record_id}", "occasion": occasion, "text": text.strip()},
        what=f"Adding a note to {kind} {record_id}",
        lookup=lookup,
        create=create,
        saved_as=saved_as,
    )
    return submissions.write_once(db, write, on_claim=on_claim)
