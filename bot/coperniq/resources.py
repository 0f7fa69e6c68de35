"""One class per Coperniq resource, each method mapping one endpoint of spec/coperniq-openapi.yaml.

Paths follow the spec, not the user's summary: requests are `/opportunities`, clients are
`/accounts`, comments are `/…/notes`. Records are plain dicts as the API returns them. Ids are
checked and quoted before they enter a path (ValueError before any request otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.coperniq.client import check_id
from bot.coperniq.errors import PayloadTooLarge
from bot.coperniq.pagination import MAX_PAGE_SIZE, check_page_size, paginate

if TYPE_CHECKING:
    from bot.coperniq.client import CoperniqClient

RECORD_TYPES = ("project", "opportunity", "account")
MAX_BODY_BYTES = 10 * 1024 * 1024
_COLLECTION = {"project": "projects", "opportunity": "opportunities", "account": "accounts"}
# People in Slack say "request" and "client"; the API says opportunity and account.
_ALIASES = {"request": "opportunity", "client": "account"}

FORM_STATUSES = ("UNASSIGNED", "ASSIGNED", "REVIEW", "CHANGES_REQUESTED", "COMPLETED", "CANCELLED")
MATCH_BY = ("title", "primaryEmail", "primaryPhone", "address")
MATCH_FOUND_STRATEGIES = ("skip", "replace", "enrich")
SEARCH_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", "nin", "between")


def record_collection(record_type: str, allowed: tuple[str, ...] = RECORD_TYPES) -> str:
    """Path segment for a record type ('project' -> 'projects'); ValueError for anything else."""
    kind = _ALIASES.get(record_type, record_type)
    if kind not in allowed:
        raise ValueError(f"record_type must be one of {', '.join(allowed)}")
    return _COLLECTION[kind]


def record_path(
    record_type: str, record_id: int | str, allowed: tuple[str, ...] = RECORD_TYPES
) -> str:
    """'/projects/123' from ('project', 123), with the id checked and quoted."""
    return f"/{record_collection(record_type, allowed)}/{check_id(record_id, f'{record_type} id')}"


def mention(name: str, user_id: int | str) -> str:
    """A note mention that notifies a Coperniq user: `[Name|~id:USER_ID]`."""
    uid = check_id(user_id, "user id")
    # '|' and brackets would end the mention early; newlines would split it.
    clean = " ".join(name.replace("|", " ").replace("[", "(").replace("]", ")").split())
    return f"[{clean or 'user'}|~id:{uid}]"


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}")
    return value


def _time(value: datetime | str | None) -> datetime | str | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("updated_after/updated_before need an aware datetime")
    return value


def _as_list(body: Any, key: str | None = None) -> list[dict[str, Any]]:
    """A list from a plain array or from `{key: [...]}`; [] for an empty answer."""
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if key is not None and isinstance(body, dict) and isinstance(body.get(key), list):
        return body[key]
    raise TypeError("Coperniq answered a list request with an unexpected shape")


class Resource:
    """Base: a resource bound to one client view (its purpose, policy and transport)."""

    def __init__(self, client: CoperniqClient) -> None:
        self._client = client

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._client.request("GET", path, params=params)

    def _send(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        return self._client.request(method, path, json=body, params=params)

    def _pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        envelope: bool = False,
    ) -> Iterator[dict[str, Any]]:
        return paginate(
            lambda p: self._get(path, p),
            params,
            page_size=page_size,
            envelope=envelope,
            path=path,
        )


class Records(Resource):
    """Projects, opportunities (requests) or accounts (clients): the same verbs on each."""

    _LIST_FILTERS = frozenset(
        {
            "q",
            "title",
            "address",
            "primaryName",
            "primaryPhone",
            "primaryEmail",
            "updated_after",
            "updated_before",
            "order_by",
            "include_archived",
            "include_virtual_properties",
        }
    )

    def __init__(self, client: CoperniqClient, collection: str) -> None:
        super().__init__(client)
        self.collection = collection
        self.record_type = {v: k for k, v in _COLLECTION.items()}[collection]

    def __repr__(self) -> str:
        return f"<Records {self.collection}>"

    def _item(self, record_id: int | str) -> str:
        return f"/{self.collection}/{check_id(record_id, f'{self.record_type} id')}"

    def _filters(self, filters: dict[str, Any]) -> dict[str, Any]:
        allowed = self._LIST_FILTERS | (
            {"include_contacts"} if self.collection == "accounts" else set()
        )
        unknown = set(filters) - allowed
        if unknown:
            raise TypeError(
                f"unknown filter(s) for {self.collection}: {', '.join(sorted(unknown))}"
            )
        _choice(filters.get("order_by"), ("asc", "desc"), "order_by")
        for key in ("updated_after", "updated_before"):
            _time(filters.get(key))
        return filters

    def list(self, *, page_size: int = MAX_PAGE_SIZE, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, lazily across pages (GET /{collection})."""
        check_page_size(page_size)
        return self._pages(f"/{self.collection}", self._filters(filters), page_size=page_size)

    def search(
        self,
        prop1: str,
        op1: str,
        value1: str | int | float | list[Any] | tuple[Any, ...],
        *,
        logic: str | None = None,
        prop2: str | None = None,
        op2: str | None = None,
        value2: str | int | float | list[Any] | tuple[Any, ...] | None = None,
        order_by: str | None = None,
        include_archived: bool | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Records matching one or two property filters (GET /{collection}/search), lazily."""
        # Spec: the description's examples use `prop1=name` and mention an `exists` operator, but
        # the op enum has no `exists`; we accept only the enum.
        _choice(op1, SEARCH_OPS, "op1")
        _choice(op2, SEARCH_OPS, "op2")
        _choice(logic, ("and", "or"), "logic")
        _choice(order_by, ("asc", "desc"), "order_by")
        if (prop2 is None) != (op2 is None) or (prop2 is None) != (value2 is None):
            raise ValueError("prop2, op2 and value2 go together")
        check_page_size(page_size)

        def value(v: Any) -> str | None:
            # The spec takes CSV for in/nin/between.
            if v is None:
                return None
            if isinstance(v, list | tuple):
                return ",".join(str(x) for x in v)
            return str(v)

        params = {
            "prop1": prop1,
            "op1": op1,
            "value1": value(value1),
            "logic": logic,
            "prop2": prop2,
            "op2": op2,
            "value2": value(value2),
            "order_by": order_by,
            "include_archived": include_archived,
        }
        return self._pages(f"/{self.collection}/search", params, page_size=page_size)

    def get(
        self,
        record_id: int | str,
        *,
        include_archived: bool | None = None,
        include_virtual_properties: bool | None = None,
    ) -> dict[str, Any]:
        """One record (GET /{collection}/{id})."""
        return self._get(
            self._item(record_id),
            {
                "include_archived": include_archived,
                "include_virtual_properties": include_virtual_properties,
            },
        )

    def create(
        self,
        body: dict[str, Any],
        match_by: str | None = None,
        match_found_strategy: str | None = None,
        *,
        allow_new_options: bool | None = None,
    ) -> dict[str, Any]:
        """Create a record (POST /{collection}); with match_by it is an idempotent upsert."""
        # Spec: POST /projects types accountId and workflowId as strings while every response
        # (and POST /opportunities' workflowId) has integers; we pass the caller's body unchanged.
        _choice(match_by, MATCH_BY, "match_by")
        _choice(match_found_strategy, MATCH_FOUND_STRATEGIES, "match_found_strategy")
        params = {
            "match_by": match_by,
            "match_found_strategy": match_found_strategy,
            "allow_new_options": allow_new_options,
        }
        return self._send("POST", f"/{self.collection}", body, params)

    def update(
        self, record_id: int | str, body: dict[str, Any], *, allow_new_options: bool | None = None
    ) -> dict[str, Any]:
        """Change fields of a record (PATCH /{collection}/{id})."""
        # The spec marks title/address/trades required on PATCH /opportunities/{id} (a copy of the
        # create schema); a partial update is what the API means, so we send only what we're given.
        return self._send(
            "PATCH", self._item(record_id), body, {"allow_new_options": allow_new_options}
        )

    def delete(self, record_id: int | str) -> Any:
        """Delete a record (DELETE /{collection}/{id})."""
        return self._send("DELETE", self._item(record_id))


class WorkOrders(Resource):
    """Work orders under projects, opportunities and accounts, and their templates."""

    def list(
        self,
        *,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every work order in the company, lazily (GET /work-orders)."""
        _choice(order_by, ("asc", "desc"), "order_by")
        check_page_size(page_size)
        params = {
            "updated_after": _time(updated_after),
            "updated_before": _time(updated_before),
            "order_by": order_by,
        }
        return self._pages("/work-orders", params, page_size=page_size)

    def list_for(
        self, record_type: str, record_id: int | str, *, page_size: int = MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Work orders of one record (GET /{type}s/{id}/work-orders), every page."""
        # Spec: only the project variant takes page/page_size/updated_*; the opportunity and
        # account variants take no query at all, so they are fetched in one request.
        path = record_path(record_type, record_id) + "/work-orders"
        if record_collection(record_type) == "projects":
            # Only the project list is paged in the spec; opportunity and account lists are not.
            return list(self._pages(path, page_size=page_size))
        return _as_list(self._get(path))

    def get(self, work_order_id: int | str) -> dict[str, Any]:
        """One work order (GET /work-orders/{id})."""
        return self._get(f"/work-orders/{check_id(work_order_id, 'work order id')}")

    def create(
        self, record_type: str, record_id: int | str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a work order from a template under a record (POST /{type}s/{id}/work-orders)."""
        return self._send("POST", record_path(record_type, record_id) + "/work-orders", body)

    def update(
        self,
        record_type: str,
        record_id: int | str,
        work_order_id: int | str,
        body: dict[str, Any],
    ) -> dict[str, Any]:
        """Change a work order (PATCH /{type}s/{id}/work-orders/{woId})."""
        path = (
            record_path(record_type, record_id)
            + f"/work-orders/{check_id(work_order_id, 'work order id')}"
        )
        return self._send("PATCH", path, body)

    def delete(self, record_type: str, record_id: int | str, work_order_id: int | str) -> Any:
        """Delete a work order (DELETE /{type}s/{id}/work-orders/{woId})."""
        path = (
            record_path(record_type, record_id)
            + f"/work-orders/{check_id(work_order_id, 'work order id')}"
        )
        return self._send("DELETE", path)

    def templates(self) -> list[dict[str, Any]]:
        """Work order templates (GET /work-orders/templates)."""
        return _as_list(self._get("/work-orders/templates"))


class LineItems(Resource):
    """A project's line items."""

    def get(self, project_id: int | str) -> list[dict[str, Any]]:
        """The project's line items (GET /projects/{id}/line-items)."""
        return _as_list(self._get(record_path("project", project_id) + "/line-items"))

    def replace(
        self, project_id: int | str, items: list[dict[str, Any]] | dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Replace all line items (PUT /projects/{id}/line-items); a list = `{lineItems: [...]}`."""
        body = items if isinstance(items, dict) else {"lineItems": list(items)}
        return _as_list(self._send("PUT", record_path("project", project_id) + "/line-items", body))


_FILE_HOLDERS = ("project", "opportunity")


class Files(Resource):
    """Files of projects and opportunities (the API has none on accounts)."""

    def list(self, record_type: str, record_id: int | str) -> list[dict[str, Any]]:
        """The record's files (GET /{type}s/{id}/files)."""
        return _as_list(self._get(record_path(record_type, record_id, _FILE_HOLDERS) + "/files"))

    def get(self, record_type: str, record_id: int | str, file_id: int | str) -> dict[str, Any]:
        """One file with its downloadUrl (GET /{type}s/{id}/files/{fileId})."""
        path = record_path(record_type, record_id, _FILE_HOLDERS)
        return self._get(f"{path}/files/{check_id(file_id, 'file id')}")

    def upload(
        self,
        record_type: str,
        record_id: int | str,
        content: bytes,
        filename: str,
        content_type: str,
        *,
        name: str | None = None,
        phase_instance_id: int | str | None = None,
    ) -> dict[str, Any]:
        """Upload bytes as multipart part `file` (POST /{type}s/{id}/files/upload)."""
        path = record_path(record_type, record_id, _FILE_HOLDERS) + "/files/upload"
        if len(content) > MAX_BODY_BYTES:
            # Coperniq refuses bodies over 10 MB; don't spend a request (and minutes) to hear it.
            raise PayloadTooLarge(
                f"{filename!r} is {len(content) / 1_000_000:.1f} MB; Coperniq takes at most 10 MB "
                "per request (about 6 MB goes through in practice).",
                status=413,
                method="POST",
                path=path,
            )
        params = {
            "name": name,
            "content_type": content_type,
            "phase_instance_id": (
                None
                if phase_instance_id is None
                else check_id(phase_instance_id, "phase instance id")
            ),
        }
        return self._client.request(
            "POST", path, params=params, files={"file": (filename, content, content_type)}
        )

    def upload_from_url(
        self,
        project_id: int | str,
        url: str,
        name: str | None = None,
        phase_instance_id: int | str | None = None,
        *,
        record_type: str = "project",
    ) -> dict[str, Any]:
        """Have Coperniq fetch a public URL into the record's files (POST /{type}s/{id}/files)."""
        if not url.startswith(("https://", "http://")):
            raise ValueError("url must be an http(s) URL Coperniq can fetch")
        body: dict[str, Any] = {"url": url}
        if name is not None:
            body["name"] = name
        if phase_instance_id is not None:
            body["phaseInstanceId"] = int(check_id(phase_instance_id, "phase instance id"))
        return self._send(
            "POST", record_path(record_type, project_id, _FILE_HOLDERS) + "/files", body
        )

    def delete(self, record_type: str, record_id: int | str, file_id: int | str) -> Any:
        """Delete a file (DELETE /{type}s/{id}/files/{fileId})."""
        path = record_path(record_type, record_id, _FILE_HOLDERS)
        return self._send("DELETE", f"{path}/files/{check_id(file_id, 'file id')}")


class Workflows(Resource):
    """Workflows and their phases (with SLA days)."""

    def list(self) -> list[dict[str, Any]]:
        """Every workflow (GET /workflows)."""
        return _as_list(self._get("/workflows"))

    def get(self, workflow_id: int | str) -> dict[str, Any]:
        """One workflow with phases (GET /workflows/{id})."""
        return self._get(f"/workflows/{check_id(workflow_id, 'workflow id')}")


class Invoices(Resource):
    """Invoices; lists answer the `{items, page, page_size, has_more}` envelope."""

    def _list(
        self,
        path: str,
        updated_after: datetime | str | None,
        updated_before: datetime | str | None,
        order_by: str | None,
        page_size: int,
    ) -> Iterator[dict[str, Any]]:
        _choice(order_by, ("asc", "desc"), "order_by")
        check_page_size(page_size)
        params = {
            "updated_after": _time(updated_after),
            "updated_before": _time(updated_before),
            "order_by": order_by,
        }
        return self._pages(path, params, page_size=page_size, envelope=True)

    def list(
        self,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        *,
        order_by: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every invoice, lazily (GET /invoices)."""
        return self._list("/invoices", updated_after, updated_before, order_by, page_size)

    def list_for_project(
        self,
        project_id: int | str,
        *,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """A project's invoices, lazily (GET /projects/{id}/invoices)."""
        path = record_path("project", project_id) + "/invoices"
        return self._list(path, updated_after, updated_before, order_by, page_size)

    def list_for_account(
        self,
        account_id: int | str,
        *,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """An account's invoices, lazily (GET /accounts/{id}/invoices)."""
        path = record_path("account", account_id) + "/invoices"
        return self._list(path, updated_after, updated_before, order_by, page_size)

    def get(self, invoice_id: int | str) -> dict[str, Any]:
        """One invoice (GET /invoices/{id})."""
        return self._get(f"/invoices/{check_id(invoice_id, 'invoice id')}")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an invoice (POST /invoices); the spec requires recordId and calculationMethod."""
        return self._send("POST", "/invoices", body)

    def update(self, invoice_id: int | str, body: dict[str, Any]) -> dict[str, Any]:
        """Change an invoice (PATCH /invoices/{id})."""
        return self._send("PATCH", f"/invoices/{check_id(invoice_id, 'invoice id')}", body)

    def delete(self, invoice_id: int | str) -> Any:
        """Delete an invoice (DELETE /invoices/{id})."""
        return self._send("DELETE", f"/invoices/{check_id(invoice_id, 'invoice id')}")


class Forms(Resource):
    """Forms of projects (and opportunities): list, detail with fields, update, attach a file."""

    def list_for_project(
        self, project_id: int | str, status: str | None = None
    ) -> list[dict[str, Any]]:
        """A project's forms, optionally one status (GET /projects/{id}/forms?status=)."""
        _choice(status, FORM_STATUSES, "status")
        path = record_path("project", project_id) + "/forms"
        return _as_list(self._get(path, {"status": status}))

    def list_for_opportunity(
        self, opportunity_id: int | str, status: str | None = None
    ) -> list[dict[str, Any]]:
        """An opportunity's forms (GET /opportunities/{id}/forms?status=)."""
        _choice(status, FORM_STATUSES, "status")
        path = record_path("opportunity", opportunity_id) + "/forms"
        return _as_list(self._get(path, {"status": status}))

    def get(self, form_id: int | str) -> dict[str, Any]:
        """One form with its layouts and fields (GET /forms/{id})."""
        return self._get(f"/forms/{check_id(form_id, 'form id')}")

    def update(self, form_id: int | str, body: dict[str, Any]) -> dict[str, Any]:
        """Set status, assignee or field values (PATCH /forms/{id})."""
        return self._send("PATCH", f"/forms/{check_id(form_id, 'form id')}", body)

    def attach_file_from_url(
        self,
        form_id: int | str,
        column_id: int | str,
        url: str,
        name: str | None = None,
        project_id: int | str | None = None,
        action: str = "add",
    ) -> dict[str, Any]:
        """Attach a file from `url` to a FILE field (POST /forms/{id}/fields/file-from-url)."""
        _choice(action, ("add", "replace"), "action")
        if not url.startswith(("https://", "http://")):
            raise ValueError("url must be an http(s) URL Coperniq can fetch")
        body: dict[str, Any] = {"columnId": int(check_id(column_id, "column id")), "url": url}
        if name is not None:
            body["name"] = name
        if project_id is not None:
            body["projectId"] = int(check_id(project_id, "project id"))
        body["action"] = action
        return self._send(
            "POST", f"/forms/{check_id(form_id, 'form id')}/fields/file-from-url", body
        )


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


class Users(Resource):
    """Company users."""

    def list(
        self, *, email: str | None = None, id: int | str | None = None
    ) -> list[dict[str, Any]]:  # noqa: A002
        """Users, optionally one by email or id (GET /users)."""
        params = {"email": email, "id": None if id is None else check_id(id, "user id")}
        return _as_list(self._get("/users", params))

    def invite(
        self,
        email: str,
        first_name: str,
        last_name: str,
        role_ids: list[int | str],
        *,
        phone: str | None = None,
    ) -> dict[str, Any]:
        """Invite a user (POST /users {email, firstName, lastName, roleIds})."""
        # GET /roles gives role ids as strings while POST /users wants integers (spec mismatch):
        # numeric strings are accepted here and sent as integers.
        body: dict[str, Any] = {
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "roleIds": [int(check_id(r, "role id")) for r in role_ids],
        }
        if phone is not None:
            body["phone"] = phone
        return self._send("POST", "/users", body)


class Teams(Resource):
    def list(self) -> list[dict[str, Any]]:
        """Teams with their workers (GET /teams)."""
        return _as_list(self._get("/teams"))


class Roles(Resource):
    def list(self) -> list[dict[str, Any]]:
        """Roles (GET /roles)."""
        return _as_list(self._get("/roles"))


class Properties(Resource):
    def list(self, record_type: str | None = None) -> dict[str, Any]:
        """Property definitions grouped by record type (GET /properties?record_type=)."""
        _choice(record_type, ("account", "opportunity", "project", "vendor", "ahj"), "record_type")
        return self._get("/properties", {"record_type": record_type}) or {}


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
