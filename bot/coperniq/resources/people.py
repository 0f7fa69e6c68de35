"""The company's people: users (list, invite), teams with their workers, and roles."""

from __future__ import annotations

from typing import Any

from bot.coperniq.paths import check_id
from bot.coperniq.resources.base import Resource, _as_list


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
