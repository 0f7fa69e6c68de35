"""Forms on records: list, detail, field updates, status and files attached from a URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.base import (
    ApiBase,
    ApiRequest,
    ApiResponse,
    bad_request,
)


class FormsMixin(ApiBase):
    """The forms resource."""

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
