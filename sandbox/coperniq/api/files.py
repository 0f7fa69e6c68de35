"""Files on records: list, upload (multipart), from a URL, download and delete."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
from typing import Any, Literal
from urllib.parse import urlparse

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.base import (
    MAX_UPLOAD_BYTES,
    ApiBase,
    ApiError,
    ApiRequest,
    ApiResponse,
    bad_request,
    not_found,
)


class FilesMixin(ApiBase):
    """Files attached to projects, opportunities and accounts."""

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


def _multipart_file(content_type: str, body: bytes) -> tuple[str | None, str | None, bytes] | None:
    """The `file` part of a multipart/form-data body: (filename, content type, bytes)."""
    fast = _multipart_file_fast(content_type, body)
    if fast is not False:
        return fast
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


def _multipart_file_fast(
    content_type: str, body: bytes
) -> tuple[str | None, str | None, bytes] | None | Literal[False]:
    """The same answer as the email parser, split at the boundary in C (the email parser takes
    most of a second per 5 MB photo, which made the sandbox, not the client, the bottleneck of
    parallel uploads); False when the body needs the full parser (a transfer encoding)."""
    ctype = email.message.Message()
    ctype["Content-Type"] = content_type
    boundary = ctype.get_param("boundary")
    if ctype.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return False
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        raw_head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            return False
        headers = email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(
            raw_head.lstrip(b"\r\n") + b"\r\n\r\n"
        )
        if headers.get("content-transfer-encoding"):
            return False
        if headers.get_param("name", header="content-disposition") != "file":
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        part_type = headers.get_content_type() if headers.get("content-type") else None
        return headers.get_filename(), part_type, content
    return None
