"""Reference data: workflows, users (and invites), teams, roles, properties, catalog items."""

from __future__ import annotations

import re

from sandbox.coperniq.api.base import (
    ApiBase,
    ApiRequest,
    ApiResponse,
    bad_request,
)


class DirectoryMixin(ApiBase):
    """Workflows and the company directory."""

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
