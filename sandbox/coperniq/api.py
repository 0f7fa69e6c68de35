"""The sandbox's endpoints: spec paths under /v1, answered from the record database.

Decisions where the spec is silent or self-contradictory are commented at the place they apply; the
conformance allow-list (conformance.py) cites the spec locations.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.db import RecordDB
from sandbox.coperniq.timeutil import iso, parse_iso

MAX_PAGE_SIZE = 100
# The notes say uploads of about 6 MB are the most that go through (a gateway payload limit): above
# it the sandbox answers 413 like such a gateway does (413 is not declared in the spec; allow-
# listed).
MAX_UPLOAD_BYTES = 6 * 1024 * 1024
RECORD_TYPES = {"projects": "project", "opportunities": "opportunity", "accounts": "account"}


class ApiError(Exception):
    """An error answer: status and the spec's body {message, code, field?}."""

    def __init__(self, status: int, message: str, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.field = status, message, code, field

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.field is not None:
            out["field"] = self.field
        return out


def bad_request(message: str, field: str) -> ApiError:
    """400 with the offending field, as the API reports validation failures."""
    return ApiError(400, message, "VALIDATION_ERROR", field)


def not_found(what: str, rec_id: Any) -> ApiError:
    """404 for an unknown id."""
    return ApiError(404, f"{what} {rec_id} not found", "NOT_FOUND")


@dataclass
class ApiRequest:
    """One parsed request, path relative to /v1."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes = b""
    content_type: str = ""
    json: Any = None


@dataclass
class ApiResponse:
    """What to send back: status, JSON-able body (None = empty body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[..., ApiResponse]


class CoperniqAPI:
    """Routes and handlers over a RecordDB."""

    def __init__(self, db: RecordDB, *, today: date | None, origin: Callable[[], str]) -> None:
        self.db = db
        self._fixed_today = today
        self._origin = origin
        self._lock = threading.RLock()
        self._last_now: datetime | None = None
        # Tests lower it to play a server that caps page_size below the documented 100.
        self.max_page_size = MAX_PAGE_SIZE
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._register()

    # ----- clock
    # -----------------------------------------------------------------------------------
    def today(self) -> date:
        """The sandbox's date: fixed when given, else the real current date."""
        return self._fixed_today or datetime.now(UTC).date()

    def now(self) -> datetime:
        """Strictly increasing UTC timestamps on the sandbox's date (for updatedAt)."""
        real = datetime.now(UTC)
        if self._fixed_today is not None:
            real = datetime.combine(self._fixed_today, real.timetz())
        with self._lock:
            if self._last_now is not None and real <= self._last_now:
                real = self._last_now + timedelta(milliseconds=1)
            self._last_now = real
        return real

    def now_iso(self) -> str:
        """now() as API text."""
        return iso(self.now())

    # ----- routing
    # ---------------------------------------------------------------------------------
    def _route(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str], str] | None:
        """Find the handler, path params and spec path template for a request."""
        found_path = False
        for m, rx, template, handler in self.routes:
            mt = rx.match(path)
            if mt:
                found_path = True
                if m == method:
                    return handler, mt.groupdict(), template
        if found_path:
            raise ApiError(404, f"Cannot {method} {path}", "NOT_FOUND")
        return None

    def handle(self, req: ApiRequest) -> tuple[ApiResponse, str | None]:
        """Answer one request; also returns the spec path template it matched."""
        try:
            found = self.match(req.method, req.path)
            if found is None:
                raise ApiError(404, f"Cannot {req.method} {req.path}", "NOT_FOUND")
            handler, params, template = found
            return handler(req, **params), template
        except ApiError as exc:
            return ApiResponse(exc.status, exc.body()), None

    def _register(self) -> None:
        r = self._route
        for coll in ("projects", "opportunities", "accounts"):
            one = {
                "projects": "projectId",
                "opportunities": "opportunityId",
                "accounts": "accountId",
            }[coll]
            r("GET", f"/{coll}", self._bind(self.list_records, coll))
            r("POST", f"/{coll}", self._bind(self.create_record, coll))
            r("GET", f"/{coll}/search", self._bind(self.search_records, coll))
            r("GET", f"/{coll}/{{{one}}}", self._bind(self.get_record, coll, one))
            r("PATCH", f"/{coll}/{{{one}}}", self._bind(self.update_record, coll, one))
            r("DELETE", f"/{coll}/{{{one}}}", self._bind(self.delete_record, coll, one))
            r(
                "GET",
                f"/{coll}/{{{one}}}/work-orders",
                self._bind(self.list_record_work_orders, coll, one),
            )
            r(
                "POST",
                f"/{coll}/{{{one}}}/work-orders",
                self._bind(self.create_work_order, coll, one),
            )
            r(
                "PATCH",
                f"/{coll}/{{{one}}}/work-orders/{{workOrderId}}",
                self._bind(self.update_work_order, coll, one),
            )
            r(
                "DELETE",
                f"/{coll}/{{{one}}}/work-orders/{{workOrderId}}",
                self._bind(self.delete_work_order, coll, one),
            )
            r("GET", f"/{coll}/{{{one}}}/calls", self._bind(self.list_calls, coll, one))
            r("POST", f"/{coll}/{{{one}}}/calls", self._bind(self.create_call, coll, one))
            r("GET", f"/{coll}/{{{one}}}/notes", self._bind(self.list_notes, coll, one))
            r("POST", f"/{coll}/{{{one}}}/notes", self._bind(self.create_note, coll, one))
        for coll in ("projects", "opportunities"):
            one = {"projects": "projectId", "opportunities": "opportunityId"}[coll]
            r("GET", f"/{coll}/{{{one}}}/files", self._bind(self.list_files, coll, one))
            r("POST", f"/{coll}/{{{one}}}/files", self._bind(self.create_file_from_url, coll, one))
            r("POST", f"/{coll}/{{{one}}}/files/upload", self._bind(self.upload_file, coll, one))
            r("GET", f"/{coll}/{{{one}}}/files/{{fileId}}", self._bind(self.get_file, coll, one))
            r(
                "DELETE",
                f"/{coll}/{{{one}}}/files/{{fileId}}",
                self._bind(self.delete_file, coll, one),
            )
            r("GET", f"/{coll}/{{{one}}}/forms", self._bind(self.list_forms, coll, one))
        r("GET", "/work-orders", self.list_work_orders)
        r("GET", "/work-orders/templates", self.list_work_order_templates)
        r("GET", "/work-orders/{workOrderId}", self.get_work_order)
        r("GET", "/projects/{projectId}/line-items", self.get_line_items)
        r("PUT", "/projects/{projectId}/line-items", self.put_line_items)
        r("GET", "/workflows", self.list_workflows)
        r("GET", "/workflows/{workflowId}", self.get_workflow)
        r("GET", "/invoices", self.list_invoices)
        r("POST", "/invoices", self.create_invoice)
        r("GET", "/invoices/{invoiceId}", self.get_invoice)
        r("PATCH", "/invoices/{invoiceId}", self.update_invoice)
        r("DELETE", "/invoices/{invoiceId}", self.delete_invoice)
        r(
            "GET",
            "/projects/{projectId}/invoices",
            self._bind(self.list_record_invoices, "projects", "projectId"),
        )
        r(
            "GET",
            "/accounts/{accountId}/invoices",
            self._bind(self.list_record_invoices, "accounts", "accountId"),
        )
        r("GET", "/forms/{formId}", self.get_form)
        r("PATCH", "/forms/{formId}", self.update_form)
        r("POST", "/forms/{formId}/fields/file-from-url", self.attach_file_from_url)
        r("GET", "/users", self.list_users)
        r("POST", "/users", self.invite_user)
        r("GET", "/teams", self.list_teams)
        r("GET", "/roles", self.list_roles)
        r("GET", "/properties", self.list_properties)
        r("GET", "/catalog-items", self.list_catalog_items)

    @staticmethod
    def _bind(fn: Callable[..., ApiResponse], coll: str, id_name: str | None = None) -> Handler:
        def handler(req: ApiRequest, **params: str) -> ApiResponse:
            if id_name is not None:
                params["record_id"] = params.pop(id_name)
            return fn(req, coll, **params)

        return handler

    # ----- parameter helpers
    # -----------------------------------------------------------------------
    @staticmethod
    def _path_id(value: str, name: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise bad_request(f"{name} must be an integer", name) from None
        if n < 1:
            raise bad_request(f"{name} must be a positive integer", name)
        return n

    @staticmethod
    def _int_query(q: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
        if name not in q:
            return default
        try:
            n = int(q[name])
        except ValueError:
            raise bad_request(f"{name} must be an integer", name) from None
        if n < minimum:
            raise bad_request(f"{name} must be at least {minimum}", name)
        return n

    @staticmethod
    def _bool_query(q: dict[str, str], name: str) -> bool:
        v = q.get(name)
        if v is None:
            return False
        if v.lower() in ("true", "1"):
            return True
        if v.lower() in ("false", "0"):
            return False
        raise bad_request(f"{name} must be true or false", name)

    def _paging(self, q: dict[str, str]) -> tuple[int, int, bool]:
        page = self._int_query(q, "page", 1)
        # The spec says "max 100" only in prose and declares no `maximum`; the sandbox caps larger
        # values at 100 (what list APIs of this kind do) rather than refusing them, and echoes the
        # cap in envelopes.
        size = min(self._int_query(q, "page_size", 20), self.max_page_size)
        order = q.get("order_by", "asc")
        if order not in ("asc", "desc"):
            raise bad_request("order_by must be asc or desc", "order_by")
        return page, size, order == "desc"

    @staticmethod
    def _time_filter(q: dict[str, str], name: str) -> str | None:
        if name not in q:
            return None
        try:
            return iso(parse_iso(q[name]))
        except ValueError:
            raise bad_request(f"{name} must be an ISO-8601 date-time", name) from None

    def _body(self, req: ApiRequest) -> dict[str, Any]:
        if not isinstance(req.json, dict):
            raise bad_request("Request body must be a JSON object", "body")
        return req.json

    @staticmethod
    def _check(
        body: dict[str, Any],
        name: str,
        kind: type | tuple[type, ...],
        *,
        required: bool = False,
        enum: list[str] | None = None,
        nullable: bool = False,
    ) -> Any:
        if name not in body:
            if required:
                raise bad_request(f"{name} is required", name)
            return None
        v = body[name]
        if v is None and nullable:
            return None
        if (
            kind is int
            and isinstance(v, bool)
            or kind in (float, (int, float))
            and isinstance(v, bool)
        ):
            raise bad_request(f"{name} has the wrong type", name)
        if not isinstance(v, kind):
            raise bad_request(f"{name} has the wrong type", name)
        if enum is not None and v not in enum:
            raise bad_request(f"{name} must be one of {', '.join(enum)}", name)
        return v

    @staticmethod
    def _check_datetime(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
        v = body.get(name)
        if v is None:
            if required:
                raise bad_request(f"{name} is required", name)
            return None
        if not isinstance(v, str):
            raise bad_request(f"{name} must be an ISO-8601 date-time", name)
        try:
            return iso(parse_iso(v))
        except ValueError:
            raise bad_request(f"{name} must be an ISO-8601 date-time", name) from None

    @staticmethod
    def _slice(items: list[Any], page: int, size: int) -> tuple[list[Any], bool]:
        start = (page - 1) * size
        return items[start : start + size], len(items) > start + size

    def _next_id(self, collection: str, floor: int) -> int:
        # Ids are never reused after a delete, like a database sequence.
        with self._lock:
            key = f"next_id:{collection}"
            nid = max(self.db.max_id(collection) + 1, int(self.db.meta_get(key) or 0), floor)
            self.db.meta_set(key, str(nid + 1))
            return nid

    def _require(self, collection: str, rec_id: int, what: str) -> dict[str, Any]:
        rec = self.db.get(collection, rec_id)
        if rec is None:
            raise not_found(what, rec_id)
        return rec

    # ----- rendering
    # -------------------------------------------------------------------------------
    def _absolute(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._absolute(v) for k, v in value.items() if not k.startswith("_")}
        if isinstance(value, list):
            return [self._absolute(v) for v in value]
        if isinstance(value, str) and value.startswith("/_sandbox/"):
            return self._origin() + value
        return value

    def _sla(self, started: str | None, yellow: int | None, red: int | None) -> tuple[int, str]:
        days = (self.today() - date.fromisoformat(started)).days if started else 0
        days = max(days, 0)
        # slaStatus follows the red SLA: VIOLATED once the record has been in the phase longer than
        # redSla.
        violated = red is not None and days > red
        return days, "VIOLATED" if violated else "NON_VIOLATED"

    def render(
        self,
        collection: str,
        rec: dict[str, Any],
        *,
        detail: bool = True,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A stored record as the API answers it."""
        out = self._absolute(rec)
        q = query or {}
        if collection == "projects":
            for key in ("phase", "stage"):
                if isinstance(out.get(key), dict):
                    days, status = self._sla(
                        rec.get("_phaseStartedAt"),
                        out[key].get("yellowSla"),
                        out[key].get("redSla"),
                    )
                    out[key]["timeInStageDays"] = days
                    out[key]["slaStatus"] = status
            if detail and "phase" in out:
                out["phaseInstances"] = self._absolute(rec.get("_phaseInstances", []))
            if not (out.get("title") or "").strip() and out.get("accountId"):
                # Spec (GET /projects description): an empty title reads as the parent account's
                # title.
                acc = self.db.get("accounts", int(out["accountId"]))
                if acc:
                    out["title"] = acc["title"]
        elif collection == "accounts":
            if self._bool_query(q, "include_contacts"):
                out["contacts"] = self._absolute(rec.get("_contacts", []))
        elif collection == "roles":
            out["id"] = str(
                rec["id"]
            )  # Role.id is a string in the spec (while UserInvite.roleIds are integers)
        elif collection == "forms" and not detail:
            for key in ("formLayouts", "createdByUser"):
                out.pop(key, None)
        elif collection == "forms":
            for group in out.get("formLayouts", []):
                # Spec FormLayoutGroup.fields: "Alias for properties. Both keys are returned".
                group["fields"] = group.get("properties", [])
            out.pop("createdBy", None)
        elif collection == "work_order_templates":
            pass
        return out

    # ----- records: projects, opportunities, accounts ---------------------------------------------
    @staticmethod
    def _what(coll: str) -> str:
        return {"projects": "Project", "opportunities": "Opportunity", "accounts": "Account"}[coll]

    def _text_filters(
        self, coll: str, recs: list[dict[str, Any]], q: dict[str, str]
    ) -> list[dict[str, Any]]:
        def norm_digits(s: str) -> str:
            return re.sub(r"\D", "", s)[-10:]

        def contains(hay: Any, needle: str) -> bool:
            if isinstance(hay, list):
                return any(contains(h, needle) for h in hay)
            return hay is not None and needle.lower() in str(hay).lower()

        out = []
        for rec in recs:
            name = rec.get("_primaryName") or ""
            if coll == "accounts" and not name and rec.get("_contacts"):
                name = rec["_contacts"][0].get("name", "")
            if "title" in q and not contains(rec.get("title"), q["title"]):
                continue
            if "address" in q and not contains(rec.get("address"), q["address"]):
                continue
            if "primaryName" in q and not contains(name, q["primaryName"]):
                continue
            if "primaryEmail" in q and not contains(rec.get("primaryEmail"), q["primaryEmail"]):
                continue
            if "primaryPhone" in q:
                want = norm_digits(q["primaryPhone"])
                have = norm_digits(rec.get("primaryPhone") or "")
                if not want or want not in have:
                    continue
            if "q" in q:
                needle = q["q"]
                hay = [
                    rec.get("title"),
                    rec.get("address"),
                    name,
                    rec.get("primaryEmail"),
                    rec.get("primaryPhone"),
                    rec.get("number"),
                    rec.get("description"),
                ]
                digits = norm_digits(needle)
                if not contains(hay, needle) and not (
                    len(digits) >= 7 and digits in norm_digits(rec.get("primaryPhone") or "")
                ):
                    continue
            if not rec.get("isActive", True) and not self._bool_query(q, "include_archived"):
                continue
            out.append(rec)
        return out

    def list_records(self, req: ApiRequest, coll: str) -> ApiResponse:
        """GET /projects | /opportunities | /accounts: filtered, paginated plain array."""
        q = req.query
        page, size, desc = self._paging(q)
        self._bool_query(q, "include_archived")
        self._bool_query(q, "include_virtual_properties")
        recs = self.db.all(
            coll,
            updated_after=self._time_filter(q, "updated_after"),
            updated_before=self._time_filter(q, "updated_before"),
            descending=desc,
        )
        recs = self._text_filters(coll, recs, q)
        items, _ = self._slice(recs, page, size)
        return ApiResponse(200, [self.render(coll, r, detail=False, query=q) for r in items])

    _SEARCH_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", "nin", "between")

    def search_records(self, req: ApiRequest, coll: str) -> ApiResponse:
        """GET /{records}/search: up to two prop/op/value conditions joined by `logic`."""
        q = req.query
        page, size, desc = self._paging(q)
        conds = []
        for n in ("1", "2"):
            prop, op, value = q.get(f"prop{n}"), q.get(f"op{n}"), q.get(f"value{n}")
            if n == "1" or prop or op or value is not None:
                if not prop:
                    raise bad_request(f"prop{n} is required", f"prop{n}")
                if op not in self._SEARCH_OPS:
                    raise bad_request(
                        f"op{n} must be one of {', '.join(self._SEARCH_OPS)}", f"op{n}"
                    )
                if value is None:
                    raise bad_request(f"value{n} is required", f"value{n}")
                conds.append((prop, op, value))
        logic = q.get("logic", "and")
        if logic not in ("and", "or"):
            raise bad_request("logic must be and or or", "logic")
        recs = [
            r
            for r in self.db.all(coll, descending=desc)
            if r.get("isActive", True) or self._bool_query(q, "include_archived")
        ]
        # Computed fields (days in phase, SLA status, title fallback) need the rendered record;
        # plain fields are matched on the stored one, which is much faster over thousands of
        # records.
        computed = any(c[0].split(".")[0] in ("phase", "stage", "title", "name") for c in conds)
        results = []
        for r in recs:
            view = self.render(coll, r, detail=False, query=q) if computed else r
            hits = [self._search_match(view, *c) for c in conds]
            if all(hits) if logic == "and" else any(hits):
                results.append(r)
        items, _ = self._slice(results, page, size)
        return ApiResponse(200, [self.render(coll, r, detail=False, query=q) for r in items])

    @staticmethod
    def _search_match(rec: dict[str, Any], prop: str, op: str, value: str) -> bool:
        cur: Any = rec
        # Spec example uses `name` for the title (`?prop1=name&op1=contains&value1=Solar`).
        for part in ("title" if prop == "name" else prop).split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
            if cur is None and part in ("utility", "hoa") and isinstance(rec.get("custom"), dict):
                cur = rec["custom"].get(part)

        def num(x: Any) -> float | None:
            try:
                return float(x)
            except (TypeError, ValueError):
                return None

        def cmp(a: Any, b: str) -> int:
            na, nb = num(a), num(b)
            if na is not None and nb is not None:
                return (na > nb) - (na < nb)
            sa, sb = str(a).lower(), b.lower()
            return (sa > sb) - (sa < sb)

        vals = [v.strip() for v in value.split(",")]
        if isinstance(cur, list):
            return (
                any(CoperniqAPI._search_match({"x": c}, "x", op, value) for c in cur)
                if op != "nin"
                else all(CoperniqAPI._search_match({"x": c}, "x", op, value) for c in cur)
            )
        if op == "contains":
            return cur is not None and value.lower() in str(cur).lower()
        if cur is None:
            return op in ("neq", "nin")
        if op == "eq":
            return cmp(cur, value) == 0
        if op == "neq":
            return cmp(cur, value) != 0
        if op in ("gt", "gte", "lt", "lte"):
            c = cmp(cur, value)
            return {"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0}[op]
        if op == "in":
            return any(cmp(cur, v) == 0 for v in vals)
        if op == "nin":
            return all(cmp(cur, v) != 0 for v in vals)
        if op == "between":
            if len(vals) != 2:
                return False
            return cmp(cur, vals[0]) >= 0 and cmp(cur, vals[1]) <= 0
        return False

    def get_record(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /{records}/{id}; projects add phaseInstances."""
        rid = self._path_id(record_id, f"{RECORD_TYPES[coll]}Id")
        rec = self._require(coll, rid, self._what(coll))
        if not rec.get("isActive", True) and not self._bool_query(req.query, "include_archived"):
            raise not_found(self._what(coll), rid)
        return ApiResponse(200, self.render(coll, rec, detail=True, query=req.query))

    def _validate_record_body(self, coll: str, body: dict[str, Any], *, create: bool) -> None:
        self._check(body, "title", str, required=create)
        if create and not str(body.get("title", "")).strip():
            raise bad_request("title must not be empty", "title")
        addr = self._check(body, "address", list, required=create)
        if addr is not None and not all(isinstance(a, str) for a in addr):
            raise bad_request("address must be a list of strings", "address")
        self._check(body, "description", str, nullable=True)
        if coll != "accounts":
            trades = self._check(body, "trades", list, required=create and coll == "opportunities")
            if trades is not None and not all(isinstance(t, str) for t in trades):
                raise bad_request("trades must be a list of strings", "trades")
            self._check(body, "value", (int, float))
            self._check(body, "size", (int, float))
            self._check(body, "status", str, enum=["ACTIVE", "ON_HOLD", "CANCELLED", "COMPLETED"])
        else:
            self._check(body, "accountType", str, enum=["RESIDENTIAL", "COMMERCIAL"], nullable=True)
        email_ = self._check(body, "primaryEmail", str, nullable=True)
        if email_ and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email_):
            raise bad_request("primaryEmail must be an email address", "primaryEmail")
        self._check(body, "primaryPhone", str, nullable=True)
        self._check(body, "custom", dict)
        contacts = self._check(body, "contacts", list, nullable=True)
        if contacts and not all(isinstance(c, int) and not isinstance(c, bool) for c in contacts):
            raise bad_request("contacts must be a list of contact ids", "contacts")
        for ref, target in (("accountId", "accounts"), ("workflowId", "workflows")):
            if body.get(ref) is not None:
                # ProjectCreate types accountId/workflowId as strings while records carry integers;
                # the sandbox takes either form (see conformance.py).
                try:
                    ref_id = int(body[ref])
                except (TypeError, ValueError):
                    raise bad_request(f"{ref} must be an id", ref) from None
                if self.db.get(target, ref_id) is None:
                    raise bad_request(f"{ref} {ref_id} does not exist", ref)

    def _apply(
        self, coll: str, rec: dict[str, Any], body: dict[str, Any], *, only_empty: bool = False
    ) -> None:
        for key, value in body.items():
            if key == "contacts":
                continue
            if key in ("accountId", "workflowId") and value is not None:
                value = int(value)
            if only_empty and rec.get(key) not in (None, "", [], {}):
                continue
            if key == "custom" and isinstance(value, dict):
                rec["custom"] = {**rec.get("custom", {}), **value}
                continue
            rec[key] = value
        if (
            coll in ("projects", "opportunities")
            and "workflowId" in body
            and body["workflowId"] is not None
        ):
            self._start_workflow(coll, rec, int(body["workflowId"]))

    def _start_workflow(self, coll: str, rec: dict[str, Any], wid: int) -> None:
        name, _trades, legacy, phases = seeddata.WORKFLOWS.get(wid, ("", [], False, []))
        rec["workflowName"] = name
        if not phases:
            return
        if coll == "projects" and rec.get("phase", {}).get("templateId") in [p[0] for p in phases]:
            return
        if coll == "projects" and rec.get("stage", {}).get("id") in [p[0] for p in phases]:
            return
        instances = []
        for k, ph in enumerate(phases):
            instances.append(
                {
                    "id": self._next_phase_instance_id(),
                    "name": ph[1],
                    "status": "IN_PROGRESS" if k == 0 else "NOT_STARTED",
                    "position": k + 1,
                    "type": ph[2],
                    "phaseTemplateId": ph[0],
                    "phaseTemplate": {
                        "id": ph[0],
                        "name": ph[1],
                        "type": ph[2],
                        "redSla": ph[4],
                        "yellowSla": ph[3],
                    },
                    "startedAt": self.now_iso() if k == 0 else None,
                    "completedAt": None,
                }
            )
        first = phases[0]
        if coll == "projects":
            rec["_phaseStartedAt"] = self.today().isoformat()
            rec["_phaseInstances"] = instances
            rec.pop("phase", None)
            rec.pop("stage", None)
            if legacy:
                rec["stage"] = {
                    "id": first[0],
                    "name": first[1],
                    "type": first[2],
                    "scope": "PROJECT",
                    "redSla": first[4],
                    "yellowSla": first[3],
                }
            else:
                rec["phase"] = {
                    "instanceId": instances[0]["id"],
                    "templateId": first[0],
                    "name": first[1],
                    "status": "IN_PROGRESS",
                    "type": first[2],
                    "redSla": first[4],
                    "yellowSla": first[3],
                }
        else:
            for inst in instances:
                inst.pop("startedAt")
                inst.pop("completedAt")
            rec["phase"] = {"id": first[0], "name": first[1], "type": first[2]}
            rec["phaseInstances"] = instances
            rec["phaseId"] = first[0]

    def _next_phase_instance_id(self) -> int:
        with self._lock:
            cur = int(self.db.meta_get("next_phase_instance") or 990001)
            self.db.meta_set("next_phase_instance", str(cur + 1))
        return cur

    def create_record(self, req: ApiRequest, coll: str) -> ApiResponse:
        """POST /{records}, optionally matching an existing record (match_by)."""
        q = req.query
        body = self._body(req)
        match_by = q.get("match_by")
        strategy = q.get("match_found_strategy")
        if match_by is not None and match_by not in (
            "title",
            "primaryEmail",
            "primaryPhone",
            "address",
        ):
            raise bad_request(
                "match_by must be one of title, primaryEmail, primaryPhone, address", "match_by"
            )
        if strategy is not None and strategy not in ("skip", "replace", "enrich"):
            raise bad_request(
                "match_found_strategy must be one of skip, replace, enrich", "match_found_strategy"
            )
        self._validate_record_body(coll, body, create=True)
        # The spec gives match_by/match_found_strategy defaults (title/skip); the sandbox matches
        # only when the caller asks for matching, so a plain create always creates (two "Smith
        # Residence" can exist).
        if match_by or strategy:
            key = match_by or "title"
            want = body.get(key)
            if want is not None:
                for shared in self.db.all(coll):
                    if self._same(shared.get(key), want):
                        existing = copy.deepcopy(shared)
                        strategy = strategy or "skip"
                        if strategy == "skip":
                            return ApiResponse(200, self.render(coll, existing, query=q))
                        self._apply(coll, existing, body, only_empty=strategy == "enrich")
                        existing["updatedAt"] = self.now_iso()
                        self.db.put(coll, existing)
                        return ApiResponse(200, self.render(coll, existing, query=q))
        with self._lock:
            rid = self._next_id(
                coll, {"projects": 40001, "opportunities": 60001, "accounts": 20001}[coll]
            )
            now = self.now_iso()
            rec: dict[str, Any] = {
                "id": rid,
                "createdAt": now,
                "updatedAt": now,
                "title": "",
                "description": None,
                "address": [],
                "isActive": True,
                "primaryEmail": None,
                "primaryPhone": None,
                "number": self._next_number(coll),
                "createdBy": seeddata.user_summary(1001),
                "updatedBy": None,
                "custom": {},
            }
            if coll == "projects":
                rec.update(
                    {
                        "trades": [],
                        "value": None,
                        "size": None,
                        "workflowId": None,
                        "accountId": None,
                        "status": "ACTIVE",
                        "workflowName": "",
                    }
                )
            elif coll == "opportunities":
                rec.update(
                    {
                        "trades": [],
                        "value": None,
                        "size": None,
                        "confidence": None,
                        "workflowId": None,
                        "accountId": None,
                        "geoLocation": [],
                        "imageUrl": None,
                        "streetViewUrl": None,
                        "phase": None,
                        "phaseInstances": [],
                        "owner": None,
                        "salesRep": None,
                        "projectManager": None,
                        "jurisdiction": None,
                        "lastActivity": None,
                        "phaseId": None,
                        "workflowName": "",
                    }
                )
            else:
                rec.update(
                    {"accountType": body.get("accountType") or "RESIDENTIAL", "_contacts": []}
                )
            self._apply(coll, rec, body)
            if "status" in rec and coll == "opportunities":
                rec.pop("status")  # Opportunity has no status field in the spec
            self.db.put(coll, rec)
        return ApiResponse(200, self.render(coll, rec, query=q))

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        if isinstance(a, list) and isinstance(b, list):
            return [str(x).strip().lower() for x in a] == [str(x).strip().lower() for x in b]
        return a is not None and str(a).strip().lower() == str(b).strip().lower()

    def _next_number(self, coll: str) -> int:
        recs = self.db.all(coll)
        return max([r.get("number", 0) for r in recs] + [1000]) + 1

    def update_record(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """PATCH /{records}/{id}: partial update."""
        rid = self._path_id(record_id, f"{RECORD_TYPES[coll]}Id")
        body = self._body(req)
        with self._lock:
            rec = self._require(coll, rid, self._what(coll))
            # PATCH /opportunities/{id} reuses OpportunityUpsert (title/address/trades required); a
            # PATCH is partial in practice, so nothing is required here (conformance.py relaxes the
            # spec to match).
            self._validate_record_body(coll, body, create=False)
            self._apply(coll, rec, body)
            if coll == "opportunities":
                rec.pop("status", None)
            rec["updatedAt"] = self.now_iso()
            rec["updatedBy"] = seeddata.user_summary(1001)
            self.db.put(coll, rec)
        return ApiResponse(200, self.render(coll, rec, query=req.query))

    def delete_record(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """DELETE /{records}/{id}."""
        rid = self._path_id(record_id, f"{RECORD_TYPES[coll]}Id")
        if not self.db.delete(coll, rid):
            raise not_found(self._what(coll), rid)
        # The spec declares 200 with no body for these deletes.
        return ApiResponse(200, None)

    def _parent(self, coll: str, record_id: str) -> tuple[str, int, dict[str, Any]]:
        rid = self._path_id(record_id, f"{RECORD_TYPES[coll]}Id")
        rec = self._require(coll, rid, self._what(coll))
        return RECORD_TYPES[coll], rid, rec

    # ----- work orders
    # -----------------------------------------------------------------------------
    def list_work_orders(self, req: ApiRequest) -> ApiResponse:
        """GET /work-orders: every work order, paginated."""
        q = req.query
        page, size, desc = self._paging(q)
        items, _ = self.db.page(
            "work_orders",
            offset=(page - 1) * size,
            limit=size,
            descending=desc,
            updated_after=self._time_filter(q, "updated_after"),
            updated_before=self._time_filter(q, "updated_before"),
        )
        return ApiResponse(200, [self.render("work_orders", r) for r in items])

    def list_work_order_templates(self, req: ApiRequest) -> ApiResponse:
        """GET /work-orders/templates."""
        return ApiResponse(
            200,
            [self.render("work_order_templates", r) for r in self.db.all("work_order_templates")],
        )

    def get_work_order(self, req: ApiRequest, workOrderId: str) -> ApiResponse:  # noqa: N803
        """GET /work-orders/{workOrderId}."""
        wid = self._path_id(workOrderId, "workOrderId")
        return ApiResponse(
            200, self.render("work_orders", self._require("work_orders", wid, "Work order"))
        )

    def list_record_work_orders(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /{records}/{id}/work-orders."""
        ptype, pid, _ = self._parent(coll, record_id)
        recs = self.db.all("work_orders", parent=(ptype, pid))
        if coll == "projects":
            # Only the project list is paginated in the spec; opportunity/account lists answer
            # everything.
            page, size, desc = self._paging(req.query)
            after = self._time_filter(req.query, "updated_after")
            before = self._time_filter(req.query, "updated_before")
            recs = [
                r
                for r in recs
                if (not after or r["updatedAt"] > after) and (not before or r["updatedAt"] < before)
            ]
            if desc:
                recs.reverse()
            recs, _ = self._slice(recs, page, size)
        return ApiResponse(200, [self.render("work_orders", r) for r in recs])

    def create_work_order(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """POST /{records}/{id}/work-orders from a template: 201 WorkOrderCreateResponse."""
        ptype, pid, parent = self._parent(coll, record_id)
        body = self._body(req)
        tid = self._check(body, "templateId", int, required=True)
        tpl = self.db.get("work_order_templates", tid)
        if tpl is None:
            raise bad_request(f"templateId {tid} does not exist", "templateId")
        phase_instance_id = None
        if coll == "projects":
            phase_instance_id = self._check(body, "phaseInstanceId", int)
            if phase_instance_id is not None and phase_instance_id not in [
                p["id"] for p in parent.get("_phaseInstances", [])
            ]:
                raise bad_request(
                    f"phaseInstanceId {phase_instance_id} is not a phase of this project",
                    "phaseInstanceId",
                )
            if phase_instance_id is None:
                phase_instance_id = (parent.get("phase") or {}).get("instanceId")
        with self._lock:
            wo_id = self._next_id("work_orders", 100001)
            now = self.now_iso()
            existing = self.db.all("work_orders", parent=(ptype, pid))
            rec = {
                "id": wo_id,
                "uid": wo_id - 100000,
                "templateId": tid,
                "createdAt": now,
                "updatedAt": now,
                "title": tpl["title"],
                "description": tpl.get("description") or "",
                "priority": tpl.get("priority") or 3,
                "startDate": None,
                "startDateAllDay": False,
                "endDate": None,
                "endDateAllDay": False,
                "completedAt": None,
                "isArchived": False,
                "isCompleted": False,
                "isField": True,
                "labels": [],
                "project": (
                    {
                        "id": pid,
                        "uid": parent.get("number"),
                        "title": parent.get("title"),
                        "address": parent.get("address", []),
                        "stage": None,
                    }
                    if coll == "projects"
                    else None
                ),
                "assignee": None,
                "collaborators": [],
                "visits": {"visits": []},
                "statuses": [],
                "status": {"id": "UNASSIGNED", "label": "Unassigned"},
                "checklist": [
                    {
                        "id": c["id"],
                        "detail": c.get("detail") or "",
                        "isCompleted": False,
                        "completedAt": None,
                    }
                    for c in tpl.get("checklists", [])
                ],
                "workItems": [],
                "lineItems": [],
                "_parentType": ptype,
                "_parentId": pid,
                "_position": len(existing) + 1,
                "_phaseInstanceId": phase_instance_id,
            }
            if rec["project"] is None:
                rec.pop("project")
            self.db.put("work_orders", rec)
        created: dict[str, Any] = {
            "id": wo_id,
            "createdAt": now,
            "updatedAt": now,
            "description": rec["description"] or None,
            "position": rec["_position"],
            "projectId": pid if coll == "projects" else None,
            "createdById": 1001,
        }
        if phase_instance_id is not None:
            created["phaseInstanceId"] = phase_instance_id
        if created["projectId"] is None:
            created.pop("projectId")  # WorkOrderCreateResponse.projectId is a non-null integer
        return ApiResponse(201, created)

    def _record_work_order(self, coll: str, record_id: str, work_order_id: str) -> dict[str, Any]:
        ptype, pid, _ = self._parent(coll, record_id)
        wid = self._path_id(work_order_id, "workOrderId")
        rec = self.db.get("work_orders", wid)
        if rec is None or rec.get("_parentType") != ptype or rec.get("_parentId") != pid:
            raise not_found("Work order", wid)
        return rec

    def update_work_order(
        self, req: ApiRequest, coll: str, record_id: str, workOrderId: str
    ) -> ApiResponse:  # noqa: N803
        """PATCH /{records}/{id}/work-orders/{workOrderId}."""
        body = self._body(req)
        with self._lock:
            rec = self._record_work_order(coll, record_id, workOrderId)
            for name, kind in (
                ("title", str),
                ("description", str),
                ("priority", int),
                ("status", str),
                ("assigneeId", int),
                ("startDateAllDay", bool),
                ("endDateAllDay", bool),
                ("collaborators", list),
                ("visits", list),
                ("checklist", list),
            ):
                self._check(body, name, kind)
            for name in ("startDate", "endDate"):
                v = self._check_datetime(body, name)
                if v is not None:
                    rec[name] = v
            for name in ("title", "description", "priority", "startDateAllDay", "endDateAllDay"):
                if name in body:
                    rec[name] = body[name]
            if "assigneeId" in body:
                u = self.db.get("users", body["assigneeId"])
                if u is None:
                    raise bad_request(
                        f"assigneeId {body['assigneeId']} does not exist", "assigneeId"
                    )
                rec["assignee"] = {k: u[k] for k in ("id", "firstName", "lastName", "email")}
            if "collaborators" in body:
                rec["collaborators"] = [
                    seeddata.user_summary(int(c)) for c in body["collaborators"]
                ]
            if "status" in body:
                st = str(body["status"]).upper()
                rec["status"] = {"id": st, "label": st.replace("_", " ").capitalize()}
                rec["isCompleted"] = st == "COMPLETED"
                rec["completedAt"] = self.now_iso() if st == "COMPLETED" else None
            if "checklist" in body:
                by_id = {c["id"]: c for c in rec.get("checklist", [])}
                for item in body["checklist"]:
                    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                        raise bad_request("checklist items need an id", "checklist")
                    cur = by_id.setdefault(
                        item["id"],
                        {"id": item["id"], "detail": "", "isCompleted": False, "completedAt": None},
                    )
                    if "detail" in item:
                        cur["detail"] = item["detail"]
                    if "isCompleted" in item:
                        cur["isCompleted"] = bool(item["isCompleted"])
                        cur["completedAt"] = self.now_iso() if item["isCompleted"] else None
                rec["checklist"] = list(by_id.values())
            if "visits" in body:
                visits = []
                for k, v in enumerate(body["visits"]):
                    if not isinstance(v, dict):
                        raise bad_request("visits must be objects", "visits")
                    visits.append(
                        {
                            "id": v.get("id") or rec["id"] * 10 + k + 1,
                            "description": v.get("description"),
                            "startDate": self._check_datetime(v, "startDate"),
                            "endDate": self._check_datetime(v, "endDate"),
                            "startDateAllDay": bool(v.get("startDateAllDay", False)),
                            "endDateAllDay": bool(v.get("endDateAllDay", False)),
                            "isCompleted": bool(v.get("isCompleted", False)),
                        }
                    )
                rec["visits"] = {"visits": visits}
            rec["updatedAt"] = self.now_iso()
            self.db.put("work_orders", rec)
        return ApiResponse(200, self.render("work_orders", rec))

    def delete_work_order(
        self, req: ApiRequest, coll: str, record_id: str, workOrderId: str
    ) -> ApiResponse:  # noqa: N803
        """DELETE /{records}/{id}/work-orders/{workOrderId}."""
        rec = self._record_work_order(coll, record_id, workOrderId)
        self.db.delete("work_orders", rec["id"])
        return ApiResponse(200, None)

    # ----- line items
    # ------------------------------------------------------------------------------
    def get_line_items(self, req: ApiRequest, projectId: str) -> ApiResponse:  # noqa: N803
        """GET /projects/{projectId}/line-items."""
        _, pid, _ = self._parent("projects", projectId)
        return ApiResponse(
            200,
            [
                self.render("line_items", r)
                for r in self.db.all("line_items", parent=("project", pid))
            ],
        )

    def _line_item_input(self, item: Any, where: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise bad_request("line items must be objects", where)
        for name, kind in (
            ("catalogItemId", int),
            ("quantity", int),
            ("unitCost", (int, float)),
            ("unitPrice", (int, float)),
        ):
            try:
                self._check(item, name, kind, required=True)
            except ApiError as exc:
                exc.field = f"{where}.{name}"
                raise
        cat = seeddata.catalog_item(item["catalogItemId"])
        if cat is None:
            raise bad_request(
                f"catalogItemId {item['catalogItemId']} does not exist", f"{where}.catalogItemId"
            )
        return cat

    def put_line_items(self, req: ApiRequest, projectId: str) -> ApiResponse:  # noqa: N803
        """PUT /projects/{projectId}/line-items: replace them all."""
        _, pid, _ = self._parent("projects", projectId)
        body = self._body(req)
        groups: list[tuple[str | None, list[Any], str]] = []
        if "lineItems" in body:
            if not isinstance(body["lineItems"], list):
                raise bad_request("lineItems must be a list", "lineItems")
            groups.append((None, body["lineItems"], "lineItems"))
        if "sections" in body:
            if not isinstance(body["sections"], list):
                raise bad_request("sections must be a list", "sections")
            for s, sec in enumerate(body["sections"]):
                if not isinstance(sec, dict) or not isinstance(sec.get("lineItems"), list):
                    raise bad_request("sections need lineItems", f"sections[{s}].lineItems")
                groups.append((sec.get("name"), sec["lineItems"], f"sections[{s}].lineItems"))
        new = []
        now = self.now_iso()
        with self._lock:
            next_id = self._next_id("line_items", 600001)
            for section, items, where in groups:
                for k, item in enumerate(items):
                    cat = self._line_item_input(item, f"{where}[{k}]")
                    qty, cost, price = (
                        item["quantity"],
                        float(item["unitCost"]),
                        float(item["unitPrice"]),
                    )
                    new.append(
                        {
                            "id": next_id,
                            "quantity": qty,
                            "description": item.get("description") or cat["name"],
                            "unitCost": cost,
                            "totalCost": round(cost * qty, 2),
                            "unitPrice": price,
                            "totalPrice": round(price * qty, 2),
                            "createdAt": now,
                            "sectionName": section,
                            "catalogItem": {
                                k2: cat[k2]
                                for k2 in (
                                    "id",
                                    "name",
                                    "manufacturer",
                                    "sku",
                                    "type",
                                    "description",
                                )
                            },
                            "_parentType": "project",
                            "_parentId": pid,
                            "updatedAt": now,
                        }
                    )
                    next_id += 1
            for old in self.db.all("line_items", parent=("project", pid)):
                self.db.delete("line_items", old["id"])
            self.db.put_many("line_items", new)
            proj = self.db.get("projects", pid)
            if proj is not None:
                proj["updatedAt"] = now
                self.db.put("projects", proj)
        return ApiResponse(200, [self.render("line_items", r) for r in new])

    # ----- files
    # -----------------------------------------------------------------------------------
    def list_files(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /projects|opportunities/{id}/files."""
        ptype, pid, _ = self._parent(coll, record_id)
        return ApiResponse(
            200, [self.render("files", r) for r in self.db.all("files", parent=(ptype, pid))]
        )

    def _record_file(self, coll: str, record_id: str, file_id: str) -> dict[str, Any]:
        ptype, pid, _ = self._parent(coll, record_id)
        fid = self._path_id(file_id, "fileId")
        rec = self.db.get("files", fid)
        if rec is None or rec.get("_parentType") != ptype or rec.get("_parentId") != pid:
            raise not_found("File", fid)
        return rec

    def get_file(self, req: ApiRequest, coll: str, record_id: str, fileId: str) -> ApiResponse:  # noqa: N803
        """GET /projects|opportunities/{id}/files/{fileId}."""
        return ApiResponse(200, self.render("files", self._record_file(coll, record_id, fileId)))

    def delete_file(self, req: ApiRequest, coll: str, record_id: str, fileId: str) -> ApiResponse:  # noqa: N803
        """DELETE /projects|opportunities/{id}/files/{fileId}."""
        rec = self._record_file(coll, record_id, fileId)
        self.db.delete("files", rec["id"])
        return ApiResponse(200, {"success": True, "id": rec["id"]})

    def _new_file(
        self,
        ptype: str,
        pid: int,
        name: str,
        *,
        size: int,
        mime: str | None,
        source: str,
        phase_instance_id: int | None,
        source_url: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            fid = self._next_id("files", 500001)
            rec = seeddata.file_record(
                fid,
                name,
                ptype,
                pid,
                self.now_iso(),
                size=size,
                user_id=1001,
                source=source,
                mime=mime,
                phase_instance_id=phase_instance_id,
            )
            if source_url:
                rec["metaData"]["sourceUrl"] = source_url
            self.db.put("files", rec)
        return rec

    @staticmethod
    def _check_url(body: dict[str, Any], name: str = "url") -> str:
        url = body.get(name)
        if not isinstance(url, str) or not url:
            raise bad_request(f"{name} is required", name)
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise bad_request(f"{name} must be an http(s) URL", name)
        return url

    def create_file_from_url(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """POST /projects|opportunities/{id}/files with JSON {url, name?, phaseInstanceId?}."""
        ptype, pid, parent = self._parent(coll, record_id)
        body = self._body(req)
        url = self._check_url(body)
        name = self._check(body, "name", str) or urlparse(url).path.rsplit("/", 1)[-1] or "file"
        self._check(body, "isArchived", bool)
        pi = self._check(body, "phaseInstanceId", int)
        if pi is not None and pi not in [
            p["id"] for p in parent.get("_phaseInstances", parent.get("phaseInstances", []))
        ]:
            raise bad_request(
                f"phaseInstanceId {pi} is not a phase of this record", "phaseInstanceId"
            )
        # The real API fetches the URL into its storage; the sandbox never leaves loopback, so it
        # records the source URL and serves placeholder bytes from its own download URL.
        rec = self._new_file(
            ptype, pid, name, size=0, mime=None, source="URL", phase_instance_id=pi, source_url=url
        )
        if body.get("isArchived"):
            rec["isArchived"] = True
            self.db.put("files", rec)
        return ApiResponse(200, self.render("files", rec))

    def upload_file(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """POST /projects|opportunities/{id}/files/upload (multipart part `file`)."""
        ptype, pid, parent = self._parent(coll, record_id)
        if len(req.raw_body) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "File too large: the upload limit is 6 MB", "PAYLOAD_TOO_LARGE")
        if not req.content_type.lower().startswith("multipart/form-data"):
            raise bad_request("Expected multipart/form-data with a `file` part", "file")
        part = _multipart_file(req.content_type, req.raw_body)
        if part is None:
            raise bad_request("The `file` part is missing", "file")
        filename, mime, content = part
        name = req.query.get("name") or filename or "upload"
        mime = req.query.get("content_type") or mime
        pi = None
        if "phase_instance_id" in req.query:
            pi = self._int_query(req.query, "phase_instance_id", 0)
            if pi not in [
                p["id"] for p in parent.get("_phaseInstances", parent.get("phaseInstances", []))
            ]:
                raise bad_request(
                    f"phase_instance_id {pi} is not a phase of this record", "phase_instance_id"
                )
        rec = self._new_file(
            ptype, pid, name, size=len(content), mime=mime, source="UPLOAD", phase_instance_id=pi
        )
        self.db.put_blob(rec["id"], content)
        out = self.render("files", rec)
        return ApiResponse(200, {k: out[k] for k in ("id", "name", "downloadUrl", "metaData")})

    def download(self, file_id: int) -> ApiResponse:
        """Sandbox-only file download (outside /v1; stands in for the API's storage URLs)."""
        rec = self.db.get("files", file_id)
        if rec is None:
            return ApiResponse(404, {"message": "File not found", "code": "NOT_FOUND"})
        content = self.db.get_blob(file_id)
        if content is None:
            content = f"sandbox placeholder for {rec['name']}\n".encode()
        return ApiResponse(
            200,
            raw=content,
            content_type=rec["metaData"].get("mimeType") or "application/octet-stream",
        )

    # ----- workflows
    # -------------------------------------------------------------------------------
    def list_workflows(self, req: ApiRequest) -> ApiResponse:
        """GET /workflows."""
        return ApiResponse(200, [self.render("workflows", r) for r in self.db.all("workflows")])

    def get_workflow(self, req: ApiRequest, workflowId: str) -> ApiResponse:  # noqa: N803
        """GET /workflows/{workflowId}."""
        wid = self._path_id(workflowId, "workflowId")
        return ApiResponse(
            200, self.render("workflows", self._require("workflows", wid, "Workflow"))
        )

    # ----- invoices
    # --------------------------------------------------------------------------------
    def _envelope(
        self, req: ApiRequest, parent: tuple[str, int] | None = None, account_id: int | None = None
    ) -> ApiResponse:
        q = req.query
        page, size, desc = self._paging(q)
        after, before = (
            self._time_filter(q, "updated_after"),
            self._time_filter(q, "updated_before"),
        )
        if account_id is not None:
            recs = [
                r
                for r in self.db.all(
                    "invoices", updated_after=after, updated_before=before, descending=desc
                )
                if r.get("_accountId") == account_id
            ]
            items, more = self._slice(recs, page, size)
        else:
            items, more = self.db.page(
                "invoices",
                offset=(page - 1) * size,
                limit=size,
                parent=parent,
                updated_after=after,
                updated_before=before,
                descending=desc,
            )
        return ApiResponse(
            200,
            {
                "items": [self.render("invoices", r) for r in items],
                "page": page,
                "page_size": size,
                "has_more": more,
            },
        )

    def list_invoices(self, req: ApiRequest) -> ApiResponse:
        """GET /invoices: the {items, page, page_size, has_more} envelope."""
        return self._envelope(req)

    def list_record_invoices(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /projects/{id}/invoices and /accounts/{id}/invoices (envelope)."""
        ptype, pid, _ = self._parent(coll, record_id)
        if coll == "accounts":
            return self._envelope(req, account_id=pid)
        return self._envelope(req, parent=(ptype, pid))

    def get_invoice(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """GET /invoices/{invoiceId}."""
        iid = self._path_id(invoiceId, "invoiceId")
        return ApiResponse(200, self.render("invoices", self._require("invoices", iid, "Invoice")))

    def _invoice_lines(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        lines = []
        groups: list[tuple[list[Any], str]] = []
        if body.get("lineItems") is not None:
            if not isinstance(body["lineItems"], list):
                raise bad_request("lineItems must be a list", "lineItems")
            groups.append((body["lineItems"], "lineItems"))
        for s, sec in enumerate(body.get("sections") or []):
            if not isinstance(sec, dict) or not isinstance(sec.get("lineItems"), list):
                raise bad_request("sections need lineItems", f"sections[{s}].lineItems")
            groups.append((sec["lineItems"], f"sections[{s}].lineItems"))
        next_id = int(self.db.meta_get("next_invoice_line") or 690001)
        for items, where in groups:
            for k, item in enumerate(items):
                cat = self._line_item_input(item, f"{where}[{k}]")
                lines.append(
                    {
                        "id": next_id,
                        "catalogItemId": cat["id"],
                        "quantity": item["quantity"],
                        "unitCost": float(item["unitCost"]),
                        "unitPrice": float(item["unitPrice"]),
                        "description": item.get("description") or cat["name"],
                        "catalogItem": {
                            k2: cat[k2] for k2 in ("id", "name", "manufacturer", "sku", "type")
                        },
                    }
                )
                next_id += 1
        self.db.meta_set("next_invoice_line", str(next_id))
        return lines

    def create_invoice(self, req: ApiRequest) -> ApiResponse:
        """POST /invoices: 201 with the new invoice."""
        body = self._body(req)
        record_id = self._check(body, "recordId", int, required=True)
        method = self._check(
            body, "calculationMethod", str, required=True, enum=["LINE_ITEMS", "PERCENTAGE"]
        )
        status = (
            self._check(body, "status", str, enum=["DRAFT", "SENT", "PARTIALLY_PAID", "PAID"])
            or "DRAFT"
        )
        self._check(body, "description", str, nullable=True)
        due = self._check_datetime(body, "dueDate")
        issue = self._check_datetime(body, "issueDate")
        rec_type, parent = "project", self.db.get("projects", record_id)
        if parent is None:
            rec_type, parent = "opportunity", self.db.get("opportunities", record_id)
        if parent is None:
            raise bad_request(f"recordId {record_id} is not a project or opportunity", "recordId")
        percentage = None
        with self._lock:
            lines = self._invoice_lines(body)
            if method == "LINE_ITEMS":
                if not lines:
                    raise bad_request("lineItems are required for LINE_ITEMS invoices", "lineItems")
                amount = round(sum(ln["unitPrice"] * ln["quantity"] for ln in lines), 2)
            else:
                percentage = self._check(body, "percentage", (int, float), required=True)
                if not 0 < percentage <= 100:
                    raise bad_request("percentage must be between 0 and 100", "percentage")
                amount = round((parent.get("value") or 0) * percentage / 100, 2)
            iid = self._next_id("invoices", 300001)
            uid = max([r["uid"] for r in self.db.all("invoices")] + [1000]) + 1
            now = self.now_iso()
            acc = (
                self.db.get("accounts", int(parent["accountId"]))
                if parent.get("accountId")
                else None
            )
            rec = {
                "id": iid,
                "uid": uid,
                "description": body.get("description"),
                "type": "INVOICE",
                "status": status,
                "basedOnId": None,
                "basedOnUid": None,
                "dueDate": due
                or iso(
                    datetime.combine(self.today() + timedelta(days=30), datetime.min.time(), UTC)
                ),
                "amount": amount,
                "amountPaid": amount if status == "PAID" else 0.0,
                "isArchived": False,
                "sharedWithPortal": status != "DRAFT",
                "calculationMethod": method,
                "percentage": percentage,
                "baseAmount": parent.get("value") if method == "PERCENTAGE" else None,
                "createdAt": issue or now,
                "updatedAt": now,
                "account": {"id": acc["id"], "title": acc["title"]} if acc else None,
                "record": {
                    "id": parent["id"],
                    "uid": parent.get("number"),
                    "title": parent.get("title"),
                },
                "lineItems": lines,
                "_parentType": rec_type,
                "_parentId": parent["id"],
                "_accountId": acc["id"] if acc else None,
            }
            self.db.put("invoices", rec)
        return ApiResponse(201, self.render("invoices", rec))

    def update_invoice(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """PATCH /invoices/{invoiceId}."""
        iid = self._path_id(invoiceId, "invoiceId")
        body = self._body(req)
        with self._lock:
            rec = self._require("invoices", iid, "Invoice")
            status = self._check(body, "status", str, enum=seeddata.INVOICE_STATUSES)
            due = self._check_datetime(body, "dueDate")
            self._check(body, "description", str, nullable=True)
            if "lineItems" in body or "sections" in body:
                rec["lineItems"] = self._invoice_lines(body)
                if rec["calculationMethod"] == "LINE_ITEMS":
                    rec["amount"] = round(
                        sum(ln["unitPrice"] * ln["quantity"] for ln in rec["lineItems"]), 2
                    )
            if status is not None:
                rec["status"] = status
                if status == "PAID":
                    rec["amountPaid"] = rec["amount"]
            if due is not None:
                rec["dueDate"] = due
            if "description" in body:
                rec["description"] = body["description"]
            rec["updatedAt"] = self.now_iso()
            self.db.put("invoices", rec)
        return ApiResponse(200, self.render("invoices", rec))

    def delete_invoice(self, req: ApiRequest, invoiceId: str) -> ApiResponse:  # noqa: N803
        """DELETE /invoices/{invoiceId}."""
        iid = self._path_id(invoiceId, "invoiceId")
        if not self.db.delete("invoices", iid):
            raise not_found("Invoice", iid)
        return ApiResponse(200, None)

    # ----- forms
    # -----------------------------------------------------------------------------------
    def list_forms(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /projects|opportunities/{id}/forms?status=."""
        ptype, pid, _ = self._parent(coll, record_id)
        status = req.query.get("status")
        if status is not None and status not in seeddata.FORM_STATUSES:
            raise bad_request(
                f"status must be one of {', '.join(seeddata.FORM_STATUSES)}", "status"
            )
        recs = [
            r
            for r in self.db.all("forms", parent=(ptype, pid))
            if status is None or r["status"] == status
        ]
        return ApiResponse(200, [self.render("forms", r, detail=False) for r in recs])

    def get_form(self, req: ApiRequest, formId: str) -> ApiResponse:  # noqa: N803
        """GET /forms/{formId} with formLayouts."""
        fid = self._path_id(formId, "formId")
        return ApiResponse(200, self.render("forms", self._require("forms", fid, "Form")))

    @staticmethod
    def _form_fields(form: dict[str, Any]) -> dict[int, dict[str, Any]]:
        return {
            p["columnId"]: p for g in form.get("formLayouts", []) for p in g.get("properties", [])
        }

    def update_form(self, req: ApiRequest, formId: str) -> ApiResponse:  # noqa: N803
        """PATCH /forms/{formId}: status, assignee, due date, field values."""
        fid = self._path_id(formId, "formId")
        body = self._body(req)
        with self._lock:
            form = self._require("forms", fid, "Form")
            self._check(body, "name", str)
            self._check(body, "description", str, nullable=True)
            status = self._check(body, "status", str, enum=seeddata.FORM_STATUSES)
            assignee_id = self._check(body, "assigneeId", int)
            due = self._check_datetime(body, "dueDate")
            fields = self._form_fields(form)
            updates = []
            for key in ("properties", "fields"):
                items = self._check(body, key, list)
                for k, item in enumerate(items or []):
                    if not isinstance(item, dict) or not isinstance(item.get("columnId"), int):
                        raise bad_request(
                            "each item needs an integer columnId", f"{key}[{k}].columnId"
                        )
                    target = fields.get(item["columnId"])
                    if target is None:
                        raise bad_request(
                            f"columnId {item['columnId']} is not a field of form {fid}",
                            f"{key}[{k}].columnId",
                        )
                    if target["type"] == "FILE" and item.get("value") not in (None, []):
                        raise bad_request(
                            "FILE fields take files through /fields/file-from-url",
                            f"{key}[{k}].value",
                        )
                    updates.append((target, item.get("value")))
            if assignee_id is not None:
                u = self.db.get("users", assignee_id)
                if u is None:
                    raise bad_request(f"assigneeId {assignee_id} does not exist", "assigneeId")
                form["assignee"] = {k: u[k] for k in ("id", "firstName", "lastName", "email")}
                if form["status"] == "UNASSIGNED" and status is None:
                    form["status"] = "ASSIGNED"
            for target, value in updates:
                target["value"] = None if value == [] else value
            for key in ("name", "description"):
                if key in body:
                    form[key] = body[key]
            if due is not None:
                form["dueDate"] = due
            if status is not None:
                self._set_form_status(form, status)
            form["updatedAt"] = self.now_iso()
            self.db.put("forms", form)
        return ApiResponse(200, self.render("forms", form))

    def _set_form_status(self, form: dict[str, Any], status: str) -> None:
        form["status"] = status
        form["isCompleted"] = status == "COMPLETED"
        form["completedAt"] = self.now_iso() if status == "COMPLETED" else None

    def attach_file_from_url(self, req: ApiRequest, formId: str) -> ApiResponse:  # noqa: N803
        """POST /forms/{formId}/fields/file-from-url into a FILE field."""
        fid = self._path_id(formId, "formId")
        body = self._body(req)
        with self._lock:
            form = self._require("forms", fid, "Form")
            column_id = self._check(body, "columnId", int, required=True)
            url = self._check_url(body)
            name = self._check(body, "name", str)
            project_id = self._check(body, "projectId", int)
            action = self._check(body, "action", str, enum=["add", "replace"]) or "add"
            target = self._form_fields(form).get(column_id)
            if target is None or target.get("type") != "FILE":
                raise bad_request(
                    f"columnId {column_id} is not a FILE field of form {fid}", "columnId"
                )
            if project_id is not None and project_id != form.get("projectId"):
                raise bad_request(
                    f"projectId {project_id} does not match the form's project", "projectId"
                )
            pid = int(form["projectId"])
            name = name or urlparse(url).path.rsplit("/", 1)[-1] or "file"
            rec = self._new_file(
                "project",
                pid,
                name,
                size=0,
                mime=None,
                source="FORM",
                phase_instance_id=None,
                source_url=url,
            )
            entry = {
                "id": rec["id"],
                "name": rec["name"],
                "downloadUrl": rec["downloadUrl"],
                "metaData": dict(rec["metaData"]),
            }
            current = target.get("value") if isinstance(target.get("value"), list) else []
            target["value"] = [entry] if action == "replace" else current + [entry]
            form["updatedAt"] = self.now_iso()
            self.db.put("forms", form)
        return ApiResponse(
            200,
            {
                "success": True,
                "fileId": rec["id"],
                "formId": fid,
                "columnId": column_id,
                "projectId": pid,
                "action": action,
            },
        )

    # ----- calls and notes
    # -------------------------------------------------------------------------
    def list_calls(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /{records}/{id}/calls."""
        ptype, pid, _ = self._parent(coll, record_id)
        return ApiResponse(
            200, [self.render("calls", r) for r in self.db.all("calls", parent=(ptype, pid))]
        )

    def create_call(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """POST /{records}/{id}/calls: required fields and enums checked."""
        ptype, pid, _ = self._parent(coll, record_id)
        body = self._body(req)
        for name in ("fromNumber", "toNumber"):
            v = self._check(body, name, str, required=True)
            if not re.fullmatch(r"\+?[\d\s().-]{7,20}", v):
                raise bad_request(f"{name} must be a phone number", name)
        self._check(body, "isInbound", bool, required=True)
        start = self._check_datetime(body, "startTime", required=True)
        end = self._check_datetime(body, "endTime", required=True)
        if start and end and end < start:
            raise bad_request("endTime must not be before startTime", "endTime")
        self._check(body, "reason", str, required=True, enum=seeddata.CALL_REASONS)
        self._check(body, "disposition", str, required=True, enum=seeddata.CALL_DISPOSITIONS)
        self._check(body, "outcome", str, enum=seeddata.CALL_OUTCOMES)
        for name in ("note", "recordingUrl", "transcriptUrl"):
            self._check(body, name, str)
        with self._lock:
            cid = self._next_id("calls", 700001)
            now = self.now_iso()
            rec = {
                "id": cid,
                "fromNumber": body["fromNumber"],
                "toNumber": body["toNumber"],
                "isInbound": body["isInbound"],
                "outcome": body.get("outcome"),
                "startTime": start,
                "endTime": end,
                "reason": body["reason"],
                "disposition": body["disposition"],
                "note": body.get("note"),
                "recordingUrl": body.get("recordingUrl"),
                "transcriptUrl": body.get("transcriptUrl"),
                "missedCount": 1 if body.get("outcome") == "MISSED" else 0,
                "createdAt": now,
                "updatedAt": now,
                "_parentType": ptype,
                "_parentId": pid,
            }
            self.db.put("calls", rec)
        return ApiResponse(201, self.render("calls", rec))

    def list_notes(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """GET /{records}/{id}/notes."""
        ptype, pid, _ = self._parent(coll, record_id)
        notes = []
        for r in self.db.all("notes", parent=(ptype, pid)):
            notes.append(
                {
                    "id": r["id"],
                    "note": r["note"],
                    "createdAt": r["createdAt"],
                    "updatedAt": r["updatedAt"],
                    "createdByUser": {
                        k: v
                        for k, v in seeddata.user_summary(1001).items()
                        if k in ("id", "firstName", "lastName", "email")
                    },
                }
            )
        # ListNotesResponse is an envelope {notes, totalCount}, not a plain array.
        return ApiResponse(200, {"notes": notes, "totalCount": len(notes)})

    def create_note(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """POST /{records}/{id}/notes: 201 NoteCreateResponse."""
        ptype, pid, _ = self._parent(coll, record_id)
        body = self._body(req)
        text = self._check(body, "body", str, required=True)
        if not text.strip():
            raise bad_request("body must not be empty", "body")
        reply_to = self._check(body, "replyToId", int)
        if reply_to is not None and self.db.get("notes", reply_to) is None:
            raise bad_request(f"replyToId {reply_to} does not exist", "replyToId")
        with self._lock:
            nid = self._next_id("notes", 800001)
            now = self.now_iso()
            rec = {
                "id": nid,
                "note": text,
                "createdAt": now,
                "updatedAt": now,
                "replyToId": reply_to,
                "mentions": [int(m) for m in re.findall(r"\|~id:(\d+)\]", text)],
                "_parentType": ptype,
                "_parentId": pid,
            }
            self.db.put("notes", rec)
        return ApiResponse(201, {k: rec[k] for k in ("id", "note", "createdAt", "updatedAt")})

    # ----- users, teams, roles, properties, catalog
    # ------------------------------------------------
    def list_users(self, req: ApiRequest) -> ApiResponse:
        """GET /users?email=&id=."""
        q = req.query
        users = self.db.all("users")
        if "email" in q:
            users = [u for u in users if u["email"].lower() == q["email"].lower()]
        if "id" in q:
            uid = self._int_query(q, "id", 0)
            users = [u for u in users if u["id"] == uid]
        return ApiResponse(200, [self.render("users", u) for u in users])

    def invite_user(self, req: ApiRequest) -> ApiResponse:
        """POST /users: invite; 201 {email, status}."""
        body = self._body(req)
        email_ = self._check(body, "email", str, required=True)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email_):
            raise bad_request("email must be an email address", "email")
        first = self._check(body, "firstName", str, required=True)
        last = self._check(body, "lastName", str, required=True)
        role_ids = self._check(body, "roleIds", list, required=True)
        if not role_ids or not all(
            isinstance(r, int) and self.db.get("roles", r) for r in role_ids
        ):
            raise bad_request("roleIds must list existing role ids", "roleIds")
        phone = self._check(body, "phone", str)
        if any(u["email"].lower() == email_.lower() for u in self.db.all("users")):
            raise bad_request(f"A user with email {email_} already exists", "email")
        role = self.db.get("roles", role_ids[0]) or {}
        with self._lock:
            uid = self._next_id("users", 1001)
            self.db.put(
                "users",
                {
                    "id": uid,
                    "firstName": first,
                    "lastName": last,
                    "email": email_,
                    "phone": phone or "",
                    "role": {"id": str(role.get("id")), "name": role.get("name")},
                    "_invited": True,
                },
            )
        return ApiResponse(201, {"email": email_, "status": "INVITED"})

    def list_teams(self, req: ApiRequest) -> ApiResponse:
        """GET /teams."""
        return ApiResponse(200, [self.render("teams", t) for t in self.db.all("teams")])

    def list_roles(self, req: ApiRequest) -> ApiResponse:
        """GET /roles."""
        return ApiResponse(200, [self.render("roles", r) for r in self.db.all("roles")])

    def list_properties(self, req: ApiRequest) -> ApiResponse:
        """GET /properties?record_type=."""
        rt = req.query.get("record_type")
        kinds = ["account", "opportunity", "project", "vendor", "ahj"]
        if rt is not None and rt not in kinds:
            raise bad_request(f"record_type must be one of {', '.join(kinds)}", "record_type")
        props = self.db.get("properties", 1) or {}
        out = {k: props.get(k, []) for k in kinds}
        out["client"], out["request"] = (
            out["account"],
            out["opportunity"],
        )  # deprecated aliases per spec
        if rt is not None:
            out = {rt: out[rt]}
        return ApiResponse(200, out)

    def list_catalog_items(self, req: ApiRequest) -> ApiResponse:
        """GET /catalog-items."""
        return ApiResponse(
            200, [self.render("catalog_items", c) for c in self.db.all("catalog_items")]
        )


def _multipart_file(content_type: str, body: bytes) -> tuple[str | None, str | None, bytes] | None:
    """The `file` part of a multipart/form-data body: (filename, content type, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True) or b""
            ctype = part.get_content_type() if part.get("content-type") else None
            return part.get_filename(), ctype, payload
    return None
