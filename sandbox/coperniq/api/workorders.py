"""Work orders, their templates and a project's line items."""

from __future__ import annotations

from typing import Any

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.base import (
    ApiBase,
    ApiError,
    ApiRequest,
    ApiResponse,
    bad_request,
    not_found,
)
from sandbox.coperniq.webhooks import status_id, work_order_payload


class WorkOrdersMixin(ApiBase):
    """Work orders on records, work order templates and line items."""

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

    def create_work_order_note(self, req: ApiRequest, workOrderId: str) -> ApiResponse:  # noqa: N803
        """POST /work-orders/{workOrderId}/notes: 201 NoteCreateOnWorkOrderResponse."""
        wid = self._path_id(workOrderId, "workOrderId")
        self._require("work_orders", wid, "Work order")
        body = self._body(req)
        text = self._check(body, "body", str, required=True)
        if not text.strip() or len(text) > 5000:
            raise bad_request("body must be 1-5000 characters", "body")
        with self._lock:
            nid = self._next_id("notes", 800001)
            now = self.now_iso()
            rec = {
                "id": nid,
                "note": text,
                "createdAt": now,
                "updatedAt": now,
                "replyToId": None,
                "mentions": [],
                "_parentType": "work_order",
                "_parentId": wid,
            }
            self.db.put("notes", rec)
        return ApiResponse(201, {k: rec[k] for k in ("id", "note", "createdAt", "updatedAt")})

    def create_work_order(self, req: ApiRequest, coll: str, record_id: str) -> ApiResponse:
        """POST /{records}/{id}/work-orders from a template: 201 WorkOrderCreateResponse."""
        ptype, pid, parent = self._parent(coll, record_id)
        body = self._body(req)
        tid = self._check(body, "templateId", int, required=True)
        tpl = self.db.get("work_order_templates", tid)
        if tpl is None:
            raise bad_request(f"templateId {tid} does not exist", "templateId")
        phase_instance_id = None
        if coll == "opportunities":
            # Spec: optional, and the phase need not be started for an opportunity.
            phase_instance_id = self._check(body, "phaseInstanceId", int)
        if coll == "projects":
            phase_instance_id = self._check(body, "phaseInstanceId", int)
            phases = {p["id"]: p for p in parent.get("_phaseInstances", [])}
            if phase_instance_id is not None and phase_instance_id not in phases:
                raise bad_request(
                    f"phaseInstanceId {phase_instance_id} is not a phase of this project",
                    "phaseInstanceId",
                )
            # Spec (create-project-work-order): "the referenced phase must be started (active)".
            if (
                phase_instance_id is not None
                and phases[phase_instance_id].get("status") != "IN_PROGRESS"
            ):
                raise bad_request(
                    f"phaseInstanceId {phase_instance_id} has not started or is completed",
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
            previous = status_id(rec)
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
                # The spec takes a status *label* and lists no enum: the id ("ON_THE_WAY") and
                # the label ("On the way") are both read; a status Coperniq has not is refused.
                st = "_".join(str(body["status"]).upper().replace("-", " ").split())
                if st not in seeddata.WORK_ORDER_STATUSES:
                    raise bad_request(
                        f"status {body['status']!r} is not a work order status", "status"
                    )
                if st != previous:
                    _move_history(rec, previous, st, self.now_iso())
                rec["status"] = {"id": st, "label": seeddata.WORK_ORDER_STATUSES[st]}
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
            # Inside the lock, so that event ids follow the order of the changes.
            self._work_order_events(rec, previous)
        return ApiResponse(200, self.render("work_orders", rec))

    def _work_order_events(self, rec: dict[str, Any], previous: str | None) -> None:
        """TASK_STATUS_MOVEMENT on a status change, and TASK_COMPLETED when it is COMPLETED."""
        current = status_id(rec)
        if self.webhooks is None or current == previous:
            return
        common = {
            "record_id": rec.get("_parentId"),
            "fired_at": rec["updatedAt"],
            "work_order": work_order_payload(rec),
        }
        self.webhooks.emit(
            "TASK_STATUS_MOVEMENT",
            fields={
                "workOrderId": rec["id"],
                "currentStatus": current,
                "previousStatus": previous,
            },
            **common,
        )
        if current == "COMPLETED":
            self.webhooks.emit("TASK_COMPLETED", fields={"workOrderId": rec["id"]}, **common)

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


def _move_history(rec: dict[str, Any], previous: str | None, current: str, now: str) -> None:
    """The `statuses` history: the status left gets its end, the new one an open entry."""
    history = [h for h in rec.get("statuses") or [] if isinstance(h, dict)]
    for h in history:
        if h.get("status") == previous and not h.get("endedAt"):
            h["endedAt"] = now
    seen = sum(1 for h in history if h.get("status") == current)
    history.append({"status": current, "startedAt": now, "count": str(seen + 1), "spentTime": 0})
    rec["statuses"] = history
