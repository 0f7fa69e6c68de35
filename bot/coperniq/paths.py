"""Ids and paths: how record ids and record types become URL path segments.

`check_id` is the one gate every id passes before it enters a path; `record_collection` and
`record_path` map the record types (with the words people use in Slack: request, client) to the
spec's collections. Resources and the rest of the bot import these from here.
"""

from __future__ import annotations

from urllib.parse import quote

from bot.refs import MAX_ID, parse_id

RECORD_TYPES = ("project", "opportunity", "account")
COLLECTIONS = {"project": "projects", "opportunity": "opportunities", "account": "accounts"}
# People in Slack say "request" and "client"; the API says opportunity and account.
ALIASES = {"request": "opportunity", "client": "account"}


def check_id(value: int | str, what: str = "id") -> str:
    """Return a record id quoted for a URL path; raise ValueError unless it is a whole number."""
    # The one id parser (ASCII digits, at most 2**63-1); 0 passes here because an id Coperniq
    # itself gave may be 0, while ids typed by people must be positive (bot.refs).
    number = parse_id(value.strip() if isinstance(value, str) else value, minimum=0)
    if number is None:
        # Never echo the value: it came from user input and may be anything.
        raise ValueError(f"{what} must be a whole number from 0 to {MAX_ID} (digits 0-9 only)")
    text = str(number)
    # Digits only already, but quote anyway so a future relaxation cannot open the path.
    # (The spec types the same path parameter as string in some operations and integer in others,
    # e.g. projectId on /projects/{projectId}/files/upload vs /projects/{projectId}/forms.)
    return quote(text, safe="")


def record_collection(record_type: str, allowed: tuple[str, ...] = RECORD_TYPES) -> str:
    """Path segment for a record type ('project' -> 'projects'); ValueError for anything else."""
    kind = ALIASES.get(record_type, record_type)
    if kind not in allowed:
        raise ValueError(f"record_type must be one of {', '.join(allowed)}")
    return COLLECTIONS[kind]


def record_path(
    record_type: str, record_id: int | str, allowed: tuple[str, ...] = RECORD_TYPES
) -> str:
    """'/projects/123' from ('project', 123), with the id checked and quoted."""
    return f"/{record_collection(record_type, allowed)}/{check_id(record_id, f'{record_type} id')}"
