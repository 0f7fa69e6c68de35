"""Query, path and body checks and the rendering of stored records as the API answers them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sandbox.coperniq.api.base import (
    ApiBase,
    ApiRequest,
    bad_request,
    not_found,
)
from sandbox.coperniq.timeutil import iso, parse_iso


class ParamsMixin(ApiBase):
    """Parameter parsing, validation and rendering shared by every resource."""

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
