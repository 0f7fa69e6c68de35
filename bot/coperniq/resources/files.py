"""Files of projects and opportunities, and forms (with their FILE fields).

Uploads go as multipart or by a URL Coperniq fetches; bodies over 10 MB are refused before any
request. Forms are listed per project or opportunity, read with their fields, and updated.
"""

from __future__ import annotations

import os
from typing import IO, Any

from bot.coperniq import errors
from bot.coperniq.paths import check_id, record_path
from bot.coperniq.resources.base import Resource, _as_list, _choice

MAX_BODY_BYTES = 10 * 1024 * 1024
FORM_STATUSES = ("UNASSIGNED", "ASSIGNED", "REVIEW", "CHANGES_REQUESTED", "COMPLETED", "CANCELLED")
# The API has files on projects and opportunities, none on accounts.
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
        content: bytes | IO[bytes],
        filename: str,
        content_type: str,
        *,
        name: str | None = None,
        phase_instance_id: int | str | None = None,
    ) -> dict[str, Any]:
        """Upload bytes as multipart part `file` (POST /{type}s/{id}/files/upload).

        `content` may be a seekable binary file: it is streamed from there, not read into memory.
        """
        path = record_path(record_type, record_id, _FILE_HOLDERS) + "/files/upload"
        size = len(content) if isinstance(content, bytes) else _size_of(content)
        if size > MAX_BODY_BYTES:
            # Coperniq refuses bodies over 10 MB; don't spend a request (and minutes) to hear it.
            raise errors.file_too_large(filename, size, path)
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


def _size_of(file: IO[bytes]) -> int:
    """The size of a seekable binary file, leaving it at its start (the upload sends it all)."""
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    return size


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
