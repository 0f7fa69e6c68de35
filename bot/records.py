"""Record types, the one home: which Coperniq resource, label, web-app page and option value serve a
project, a request (API: opportunity) or a client (API: account), and how the bot finds records.

Every surface that names or looks up a record comes here: `/coperniq find`, the record pickers
(options loads), the call modal's typed record, the photo modal's project, and the alert links.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.coperniq.errors import CoperniqError, NotFound
from bot.refs import parse_ref, ref_value, typed_number

if TYPE_CHECKING:
    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordType:
    """One kind of Coperniq record, as the API, the web app and people in Slack name it."""

    kind: str  # the API's name: project, opportunity, account
    label: str  # what people say: Project, Request, Client
    plural: str  # Projects, Requests, Clients
    resource: str  # the client attribute and path segment: projects, opportunities, accounts
    page: str  # the web app's page: project, request, client


PROJECT = RecordType("project", "Project", "Projects", "projects", "project")
REQUEST = RecordType("opportunity", "Request", "Requests", "opportunities", "request")
CLIENT = RecordType("account", "Client", "Clients", "accounts", "client")

# In the order every list shows them.
TYPES: dict[str, RecordType] = {t.kind: t for t in (PROJECT, REQUEST, CLIENT)}
KINDS: tuple[str, ...] = tuple(TYPES)

# Slack drops an options answer after 3 s: a search stops waiting for slow types well before that.
SEARCH_DEADLINE_SECONDS = 2.2
# Shared by every search (three types each, in parallel); threads start only when needed.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="record-search")


def record_type(kind: str) -> RecordType:
    """The RecordType of 'project', 'opportunity' or 'account'; ValueError for anything else."""
    try:
        return TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown record type {kind!r}") from None


def resource(coperniq: CoperniqClient, kind: str) -> Any:
    """The client resource for a record type (coperniq.projects, .opportunities, .accounts)."""
    return getattr(coperniq, record_type(kind).resource)


def record_url(app_url: str, kind: str, record_id: int | str) -> str:
    """The web-app URL of a project, request or client."""
    page = record_type(kind).page
    return f"{app_url.rstrip('/')}/{page}/{quote(str(record_id), safe='')}"


def option_value(kind: str, record_id: int | str) -> str:
    """The select-option or button value naming a record: 'kind:id' (parse_ref reads it back)."""
    return ref_value(kind, record_id)


def parse_value(value: object, kinds: tuple[str, ...] = KINDS) -> tuple[str, int] | None:
    """('project', 12) from 'project:12' when the kind is one of `kinds`; None otherwise."""
    return parse_ref(value, kinds)


def search(
    coperniq: CoperniqClient,
    query: str,
    kinds: Iterable[str] = KINDS,
    limit: int = 20,
    *,
    deadline: float | None = SEARCH_DEADLINE_SECONDS,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, CoperniqError]]:
    """Up to `limit` matches of each kind, searched in parallel; failures by kind.

    With a deadline, a kind still searching when it passes is left out (and logged): the person
    sees what came back in time. Lists are lazy over pages: one page of `limit` is all we take.
    """

    def one(kind: str) -> list[dict[str, Any]]:
        found = resource(coperniq, kind).list(q=query, page_size=limit)
        return list(itertools.islice(found, limit))

    futures = {kind: _POOL.submit(one, kind) for kind in kinds}
    until = None if deadline is None else time.monotonic() + deadline
    results: dict[str, list[dict[str, Any]]] = {}
    errors: dict[str, CoperniqError] = {}
    for kind, future in futures.items():
        wait = None if until is None else max(0.0, until - time.monotonic())
        try:
            results[kind] = future.result(timeout=wait)
        except FutureTimeout:
            log.warning("Searching %s took longer than %.1f s", kind, deadline)
        except CoperniqError as exc:
            log.warning("Searching %s failed: %r", kind, exc)
            errors[kind] = exc
    return results, errors


def find_project(coperniq: CoperniqClient, text: str) -> dict[str, Any] | None:
    """A project by number, by id, or the one project the text matches; None: none or several.

    Raises NotARecordNumber, before any Coperniq call, for a number the bot cannot use ('²').
    """
    text = text.strip()
    if not text:
        return None
    number = typed_number(text)
    if number is not None:
        text = str(number)  # '#1234' searches as '1234'
    matches = list(itertools.islice(coperniq.projects.list(q=text, page_size=20), 20))
    if number is not None:
        for record in matches:
            if str(record.get("number")) == text:
                return record
        try:
            return coperniq.projects.get(number)
        except NotFound:
            return None
    return matches[0] if len(matches) == 1 else None


def find_record(coperniq: CoperniqClient, text: str) -> tuple[str, dict[str, Any]] | None:
    """A project as find_project finds it, else the request or client with that number."""
    project = find_project(coperniq, text)
    if project is not None:
        return PROJECT.kind, project
    number = typed_number(text)  # find_project has already refused a number that is none
    if number is None:
        return None
    # Calls are logged on requests and clients too; their numbers are their own series.
    for kind in (REQUEST.kind, CLIENT.kind):
        found = resource(coperniq, kind).list(q=str(number), page_size=20)
        for record in itertools.islice(found, 20):
            if str(record.get("number")) == str(number):
                return kind, record
    return None


def label_of(kind: str, record: Mapping[str, Any]) -> str:
    """'Project #1042' (or 'Project' when the record has no number)."""
    number = record.get("number")
    head = record_type(kind).label
    return head + (f" #{number}" if number not in (None, "") else "")
