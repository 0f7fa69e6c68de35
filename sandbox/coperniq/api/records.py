"""Reading projects, opportunities and accounts: list, filters, search and detail."""

from __future__ import annotations

import re
from typing import Any

from sandbox.coperniq.api.base import (
    RECORD_TYPES,
    ApiBase,
    ApiRequest,
    ApiResponse,
    bad_request,
    not_found,
)


class RecordReadsMixin(ApiBase):
    """GET on the three record collections."""

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
                any(RecordReadsMixin._search_match({"x": c}, "x", op, value) for c in cur)
                if op != "nin"
                else all(RecordReadsMixin._search_match({"x": c}, "x", op, value) for c in cur)
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
