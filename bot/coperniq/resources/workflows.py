"""How the company has set Coperniq up: workflows with their phases, and property definitions.

Workflows carry the phases (with SLA days) that records move through; properties are the
field definitions of each record type. Both are read-only here.
"""

from __future__ import annotations

from typing import Any

from bot.coperniq.paths import check_id
from bot.coperniq.resources.base import Resource, _as_list, _choice


class Workflows(Resource):
    """Workflows and their phases (with SLA days)."""

    def list(self) -> list[dict[str, Any]]:
        """Every workflow (GET /workflows)."""
        return _as_list(self._get("/workflows"))

    def get(self, workflow_id: int | str) -> dict[str, Any]:
        """One workflow with phases (GET /workflows/{id})."""
        return self._get(f"/workflows/{check_id(workflow_id, 'workflow id')}")


class Properties(Resource):
    def list(self, record_type: str | None = None) -> dict[str, Any]:
        """Property definitions grouped by record type (GET /properties?record_type=)."""
        _choice(record_type, ("account", "opportunity", "project", "vendor", "ahj"), "record_type")
        return self._get("/properties", {"record_type": record_type}) or {}
