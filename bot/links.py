"""Links into the Coperniq web app: the one place that knows its URL scheme."""

from __future__ import annotations

from urllib.parse import quote

# The web app's page for each API record type. The API calls opportunities "requests" and accounts
# "clients" in the app's navigation, so the pages use those words.
_PAGES: dict[str, str] = {
    "project": "project",
    "opportunity": "request",
    "account": "client",
}


def record_url(app_url: str, record_type: str, record_id: int | str) -> str:
    """The web-app URL of a project, opportunity (request) or account (client)."""
    try:
        page = _PAGES[record_type]
    except KeyError:
        raise ValueError(f"unknown record type {record_type!r}") from None
    return f"{app_url.rstrip('/')}/{page}/{quote(str(record_id), safe='')}"
