"""Attach photos from Slack to a FILE field of a Coperniq form, each photo exactly once.

Per photo: get it from Slack, upload it to the project's files (once, even when an earlier try's
answer was lost), then attach it to the field. Each photo is one write_once keyed by (form, field,
Slack file), so a double click, a Slack retry or a second person sending the same photo never
attaches it twice.

Photos go through a bounded parallel pipeline: each photo on a worker thread with its own SQLite
connection (its own `submissions` row and progress, as before), at most PARALLEL_PHOTOS of them
downloading or uploading at once. A download streams into a spooled temporary file and the upload
streams from it, so memory holds at most a small head of each photo in transfer. A photo is
attached as soon as it is uploaded (small JSON calls, outside the transfer slots), so the field
lists them in the order they arrived, not always the order chosen: keeping that order would chain
the ten attaches one after another (ten round trips) and cost more than the transfers.

Then a note on the project says who added them ("3 photos added to Survey · Roof, from Slack by
Jane Doe: …"): Coperniq shows every file as the API key user's. The note is a write_once of its
own keyed by the photos it reports, its text kept in `progress` before it is sent, so a retry
after a lost answer looks for that text first. A failed note is logged; the photos stay attached.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from slack_sdk.errors import SlackApiError
from sqlite_utils import Database

from bot import submissions
from bot.blocks.photo import MAX_UPLOAD_BYTES, file_fields, open_forms
from bot.coperniq.errors import CoperniqError, NotFound
from bot.people import Author, attribution, clean_name
from bot.records import PROJECT
from bot.slackfiles import SlackFileError, download_spooled

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

ACTION = "attach_photo"
# Photos in transfer (downloading from Slack, uploading to Coperniq) at once per submission.
# A transfer is mostly waiting (two round trips and the bytes), so Slack's most (10 files) go
# in two rounds; more would send Coperniq that many multi-MB uploads at once from one key (its
# gateway takes ~6 MB bodies; 100 calls/s per key is shared with everything else), and each
# photo in transfer holds a temporary file and a spool's in-memory head (SPOOL_MEMORY_BYTES).
# With 150 ms per call, 4 took three rounds and 10 photos 2.4x the time of one; 5 take 2.1x.
PARALLEL_PHOTOS = 5
# Worker threads per submission: one per photo (Slack's file_input sends at most 10), so the
# small calls (files.info, the attach) of some photos overlap the transfers of others.
MAX_WORKERS = 10
# Seconds a Slack download may stall (connect, or between bytes) before that photo fails.
DOWNLOAD_TIMEOUT = 20.0
NOTE_ACTION = "photo_note"
# The note names this many photos, then says how many more.
NOTE_NAMES = 10
_SORRY = "something went wrong on our side; try again in a minute."
# files.info's answers for a file in a conversation the bot is not part of.
_NOT_VISIBLE = ("file_not_found", "access_denied", "not_in_channel")


@dataclass
class PhotoResults:
    """What became of each photo of one submission, by name."""

    attached: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # attached before (a retry, another person)
    pending: list[str] = field(default_factory=list)  # another submission is attaching it now
    failed: list[tuple[str, str | None]] = field(default_factory=list)  # (name, why)
    # How the project note about the photos this submission added ended (None: nothing added).
    note: submissions.Outcome | None = None

    @property
    def only_pending(self) -> bool:
        """Another submission of the same photos is at work (it reports the result itself)."""
        return bool(self.pending) and not (self.attached or self.failed)


def forms_for(coperniq: CoperniqClient, project_id: int) -> list[dict[str, Any]]:
    """The project's open forms."""
    return [dict(f) for f in open_forms(coperniq.forms.list_for_project(project_id))]


def fields_for(coperniq: CoperniqClient, form_id: int) -> list[dict[str, Any]]:
    """The form's FILE fields."""
    return file_fields(coperniq.forms.get(form_id))


def attach_photos(
    db: Database,
    coperniq: CoperniqClient,
    slack: WebClient,
    *,
    user: str,
    files: list[dict[str, Any]],
    project_id: int,
    form_id: int,
    column_id: int,
    author: Callable[[], Author],
    field_label: str,
) -> PhotoResults:
    """Attach each Slack file to the field; one photo's failure never stops the others.

    Then a note on the project names the photos this submission added, `field_label` ("form ·
    field") and `author`, who is asked once, only when a photo is about to be written.
    """
    results = PhotoResults()
    # Asked once, in the background as soon as a photo is about to be written (its Slack and
    # Coperniq look-ups then overlap the transfers); the workers wait for its answer.
    by = _Once(author)

    def attach(conn: Database, file: dict[str, Any], lane: Lane, *, http: httpx.Client) -> Any:
        return _attach_one(
            conn,
            coperniq,
            slack,
            http,
            file,
            user=user,
            project_id=project_id,
            form_id=form_id,
            column_id=column_id,
            by=by,
            lane=lane,
        )

    added: dict[str, str] = {}  # Slack file id -> name, of the photos this submission attached
    # One HTTP client for the submission's downloads (thread-safe; a client per photo would
    # build a TLS context per photo, tens of ms of CPU each).
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as http:
        done = run_pipeline(db, files, functools.partial(attach, http=http))
    for file, written in zip(files, done, strict=True):
        name = str(file.get("name") or file["id"])
        if written is None:
            results.failed.append((name, _SORRY))
        elif written.outcome.written:
            added[file["id"]] = name
            # FOUND: an earlier try whose answer was lost had attached it.
            target = results.already if written.outcome is submissions.Outcome.FOUND else None
            (target if target is not None else results.attached).append(name)
        elif written.outcome is submissions.Outcome.ALREADY:
            results.already.append(name)
        elif written.outcome is submissions.Outcome.IN_FLIGHT:
            results.pending.append(name)
        else:
            why = written.why or _SORRY
            results.failed.append((name, why))
    if added:
        who = by()
        results.note = _post_note(
            db,
            coperniq,
            user=user,
            where=(project_id, form_id, column_id),
            added=added,
            text=photo_note(list(added.values()), field_label, who),
            coperniq_user=who.coperniq_id,
        )
    return results


class Lane:
    """What a pipeline worker shares with the others: the PARALLEL_PHOTOS transfer slots."""

    def __init__(self, slots: threading.Semaphore) -> None:
        self._slots = slots

    @contextmanager
    def transfer(self) -> Iterator[None]:
        """Hold a transfer slot (the download and the upload, the spooled file's life, go in)."""
        with self._slots:
            yield


def run_pipeline(
    db: Database,
    items: list[dict[str, Any]],
    work: Callable[[Database, dict[str, Any], Lane], Any],
    *,
    parallel: int = PARALLEL_PHOTOS,
    workers: int = MAX_WORKERS,
) -> list[Any]:
    """`work(db, item, lane)` for each item on `workers` threads; the results in the items' order.

    At most `parallel` items are inside `lane.transfer()` at once. Each worker gets its own
    connection to `db`'s file (an SQLite connection stays on the thread that opened it). An item
    whose work raised gets None (logged). An in-memory database cannot be shared between
    connections: its items run one by one.
    """
    if not items:
        return []
    connections = _Connections(db)
    threads = min(workers, len(items)) if connections.shareable else 1
    lane = Lane(threading.BoundedSemaphore(max(1, parallel)))

    def one(item: dict[str, Any]) -> Any:
        try:
            return work(connections.get(), item, lane)
        except Exception:
            log.exception("Photo %s failed unexpectedly", item.get("id"))
            return None

    try:
        if threads == 1:
            return [one(item) for item in items]
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="photos") as pool:
            return list(pool.map(one, items))
    finally:
        connections.close()


class _Connections:
    """One SQLite connection per worker thread to the file of the caller's `db`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._owner = threading.get_ident()
        rows = db.execute("pragma database_list").fetchall()
        # "" for an in-memory or temporary database: nothing another connection could open.
        self.path = next((str(r[2] or "") for r in rows if r[1] == "main"), "")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []

    @property
    def shareable(self) -> bool:
        return bool(self.path)

    def get(self) -> Database:
        """The calling thread's connection: the caller's own `db` on the caller's thread."""
        if threading.get_ident() == self._owner:
            return self._db
        db = getattr(self._local, "db", None)
        if db is None:
            # As bot.store.Store opens its connections (WAL is a property of the file already);
            # closed by this object's owner once the workers are done, hence check_same_thread.
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            with self._lock:
                self._opened.append(conn)
            db = self._local.db = Database(conn)
        return db

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


class _Once:
    """`fn()` asked at most once, however many threads ask; `start()` asks it in the background."""

    def __init__(self, fn: Callable[[], Author]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = False
        self._answer: Author | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._ask, name="photo-author", daemon=True).start()

    def _ask(self) -> None:
        try:
            self._answer = self._fn()
        except BaseException as exc:  # handed to whoever waits for the answer
            self._error = exc
        finally:
            self._done.set()

    def __call__(self) -> Author:
        with self._lock:
            first = not self._started
            self._started = True
        if first:
            self._ask()
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._answer is not None
        return self._answer


def photo_note(names: list[str], field_label: str, author: Author) -> str:
    """The project note about photos added from Slack: how many, where, by whom, which."""
    count = len(names)
    where = clean_name(field_label, 200) or "a form"
    shown = [clean_name(n, 100) for n in names[:NOTE_NAMES]]
    more = f" and {count - len(shown)} more" if count > len(shown) else ""
    photos = "1 photo" if count == 1 else f"{count} photos"
    return f"{photos} added to {where}, {attribution(author)}: {', '.join(shown)}{more}"


def _post_note(
    db: Database,
    coperniq: CoperniqClient,
    *,
    user: str,
    where: tuple[int, int, int],
    added: dict[str, str],
    text: str,
    coperniq_user: int | None,
) -> submissions.Outcome:
    """Post `text` on the project (of `where`: project, form, field) once for the `added` photos."""
    project_id, form_id, column_id = where

    def lookup(claim: submissions.Claim) -> dict[str, Any] | None:
        sent = str((claim.progress or {}).get("note") or "").strip()
        if not sent:
            return None  # the earlier try stopped before sending anything
        notes = coperniq.notes.list(PROJECT.kind, project_id)
        return next((n for n in notes if str(n.get("note") or "").strip() == sent), None)

    def create(claim: submissions.Claim) -> dict[str, Any]:
        # An earlier try's text if it sent one (the name may read otherwise now): one to look for.
        body = (claim.progress or {}).get("note") or text
        submissions.note_progress(db, claim.key, note=body)
        return coperniq.notes.create(PROJECT.kind, project_id, body)

    def saved_as(note: dict[str, Any]) -> submissions.Saved:
        detail = {"note": note.get("id"), "form": form_id, "photos": len(added)}
        return submissions.Saved(
            "note",
            note.get("id"),
            audit_type=PROJECT.kind,
            audit_id=project_id,
            audit_detail=detail,
        )

    write = submissions.Write(
        slack_user=user,
        action=NOTE_ACTION,
        details={"form": form_id, "column": column_id, "files": sorted(added)},
        what=f"Noting {len(added)} photos on project {project_id}",
        lookup=lookup,
        create=create,
        saved_as=saved_as,
        fingerprint_user="",
        coperniq_user=coperniq_user,
    )
    return submissions.write_once(db, write).outcome


def _attach_one(
    db: Database,
    coperniq: CoperniqClient,
    slack: WebClient,
    http: httpx.Client,
    file: dict[str, Any],
    *,
    user: str,
    project_id: int,
    form_id: int,
    column_id: int,
    by: _Once,
    lane: Lane,
) -> submissions.Written:
    resolved: dict[str, Any] = {}

    def slack_file() -> dict[str, Any]:
        # Asked of Slack once per try, by whichever step needs it first.
        if not resolved:
            try:
                resolved.update(_resolve(slack, file))
            except SlackFileError as exc:
                raise submissions.NotWritten(str(exc)) from None
        return resolved

    def lookup(claim: submissions.Claim) -> dict[str, Any] | None:
        name = _name(slack_file())
        found = _already_on_field(coperniq, form_id, column_id, name)
        if found is None:
            raise submissions.NotWritten(
                "Coperniq could not be asked whether an earlier try already attached it; "
                "try again in a minute."
            )
        # The earlier attach timed out after Coperniq took it: do not attach a second copy.
        return {"id": form_id, "found": True} if found else None

    def create(claim: submissions.Claim) -> dict[str, Any]:
        by.start()  # something is about to be written: who by is asked meanwhile
        got = slack_file()
        name = _name(got)
        uploaded = _upload_once(
            db, coperniq, slack, http, claim, got, name=name, project_id=project_id, lane=lane
        )
        attached = coperniq.forms.attach_file_from_url(
            form_id,
            column_id,
            uploaded["downloadUrl"],
            name=name,
            project_id=project_id,
            action="add",
        )
        return {"id": form_id, "fileId": attached.get("fileId")}

    def saved_as(done: dict[str, Any]) -> submissions.Saved:
        detail: dict[str, Any] = {"slack_file": file["id"]}
        if done.get("found"):
            detail["found"] = True
        else:
            detail["file_id"] = done.get("fileId")
        return submissions.Saved(
            "form",
            form_id,
            detail=detail,
            audit_type=PROJECT.kind,
            audit_id=project_id,
            audit_detail={"form": form_id, "column": column_id, **detail},
            coperniq_user=by().coperniq_id,
        )

    write = submissions.Write(
        slack_user=user,
        action=ACTION,
        details={"form": form_id, "column": column_id, "file": file["id"]},
        what=f"Attaching {file['id']}",
        lookup=lookup,
        create=create,
        saved_as=saved_as,
        fingerprint_user="",
    )
    return submissions.write_once(db, write)


def _name(file: dict[str, Any]) -> str:
    return str(file.get("name") or file["id"])


def _resolve(slack: WebClient, file: dict[str, Any]) -> dict[str, Any]:
    """The file with its download link and full name (from files.info when not in the payload)."""
    # Files chosen before the modal carry only their id and a name shortened for display.
    if file.get("url_private_download"):
        return file
    try:
        info = slack.files_info(file=file["id"])["file"]
    except SlackApiError as exc:
        why = str((exc.response or {}).get("error") or exc)
        if why in _NOT_VISIBLE:
            raise SlackFileError(
                "the bot cannot see it there (add me to that channel, or send the photo to me "
                "in a direct message)."
            ) from None
        raise SlackFileError(f"Slack would not give the bot this file ({why}).") from None
    except Exception as exc:  # Slack unreachable: this file fails, the others still go
        log.exception("files.info %s failed", file["id"])
        raise SlackFileError(f"Slack could not be reached for it ({type(exc).__name__}).") from None
    if not info.get("url_private_download"):
        raise SlackFileError("Slack gave no download link for it.")
    return {**file, **info}


def _already_on_field(
    coperniq: CoperniqClient, form_id: int, column_id: int, name: str
) -> bool | None:
    """Whether the FILE field already holds a file of that name; None when Coperniq can't say."""
    try:
        detail = coperniq.forms.get(form_id)
    except CoperniqError as exc:
        log.warning("Could not check form %s for an earlier copy: %r", form_id, exc)
        return None
    for group in detail.get("formLayouts") or []:
        for prop in group.get("properties") or group.get("fields") or []:
            if prop.get("columnId") == column_id and isinstance(prop.get("value"), list):
                return any(isinstance(v, dict) and v.get("name") == name for v in prop["value"])
    return False


def _upload_once(
    db: Database,
    coperniq: CoperniqClient,
    slack: WebClient,
    http: httpx.Client,
    claim: submissions.Claim,
    file: dict[str, Any],
    *,
    name: str,
    project_id: int,
    lane: Lane,
) -> dict[str, Any]:
    """The file in the project's files, uploaded by this try or found from an earlier one.

    An earlier try that uploaded before its attach failed is remembered in the submission's
    progress; one whose upload answer was lost is looked for by name and size. Either way the
    project does not get a second copy. NotWritten when it could not be had; a CoperniqError
    from the upload itself is raised.
    """
    key = claim.key
    progress = claim.progress or {}
    if progress.get("uploaded"):
        earlier = _still_uploaded(coperniq, project_id, progress["uploaded"])
        if earlier is not None:
            return earlier
        submissions.note_progress(db, key, uploaded=None)
    with lane.transfer():
        return _transfer(
            db, coperniq, slack, http, key, progress, file, name=name, project_id=project_id
        )


def _transfer(
    db: Database,
    coperniq: CoperniqClient,
    slack: WebClient,
    http: httpx.Client,
    key: str,
    progress: dict[str, Any],
    file: dict[str, Any],
    *,
    name: str,
    project_id: int,
) -> dict[str, Any]:
    """Download the photo from Slack into a spooled file and upload it from there, once."""
    try:
        # Streamed to a spooled file (a small head in memory) and streamed from it to Coperniq.
        got = download_spooled(
            file["url_private_download"],
            slack.token or "",
            max_bytes=MAX_UPLOAD_BYTES,
            api_url=slack.base_url,
            http=http,
        )
    except SlackFileError as exc:
        raise submissions.NotWritten(str(exc)) from None
    with got:
        size = got.size
        if progress.get("uploading"):
            # An earlier upload's answer was lost: Coperniq may hold the file already.
            try:
                found = _find_upload(coperniq, project_id, name, size)
            except CoperniqError as exc:
                log.warning(
                    "Could not list project %s files for an earlier upload: %r", project_id, exc
                )
                raise submissions.NotWritten(
                    "Coperniq could not be asked whether an earlier try already uploaded it; "
                    "try again in a minute."
                ) from None
            if found is not None:
                submissions.note_progress(db, key, uploaded=found, uploading=None)
                return found
        submissions.note_progress(db, key, uploading={"name": name, "size": size})
        try:
            answer = coperniq.files.upload("project", project_id, got.file, name, got.content_type)
        except CoperniqError as exc:
            if not exc.outcome_unknown:
                submissions.note_progress(db, key, uploading=None)  # definitely not uploaded
            raise
    uploaded = {"id": answer.get("id"), "downloadUrl": answer["downloadUrl"]}
    submissions.note_progress(db, key, uploaded=uploaded, uploading=None)
    return uploaded


def _still_uploaded(
    coperniq: CoperniqClient, project_id: int, earlier: dict[str, Any]
) -> dict[str, Any] | None:
    """The earlier upload with a current download link; None when it was deleted meanwhile."""
    if earlier.get("id") is None:
        return earlier
    try:
        current = coperniq.files.get("project", project_id, earlier["id"])
    except NotFound:
        return None
    except CoperniqError as exc:
        # The link remembered from the upload is still the best there is.
        log.warning("Could not re-read uploaded file %s: %r", earlier["id"], exc)
        return earlier
    if not isinstance(current, dict) or not current.get("downloadUrl"):
        return earlier
    return {"id": current.get("id", earlier["id"]), "downloadUrl": current["downloadUrl"]}


def _find_upload(
    coperniq: CoperniqClient, project_id: int, name: str, size: int
) -> dict[str, Any] | None:
    """The newest project file with this name and size in bytes (an earlier try's upload)."""
    matches = [
        f
        for f in coperniq.files.list("project", project_id)
        if f.get("name") == name
        and (f.get("metaData") or {}).get("size") == size
        and f.get("downloadUrl")
        and not f.get("isArchived")
    ]
    if not matches:
        return None
    newest = max(matches, key=lambda f: (str(f.get("createdAt") or ""), int(f.get("id") or 0)))
    return {"id": newest.get("id"), "downloadUrl": newest["downloadUrl"]}
