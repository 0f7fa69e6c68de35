"""Calls and notes logged on records."""

from __future__ import annotations

import re

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.base import (
    ApiBase,
    ApiRequest,
    ApiResponse,
    bad_request,
)


class ActivityMixin(ApiBase):
    """Calls and notes."""

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
