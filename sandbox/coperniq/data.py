"""Direct access to the sandbox's records for tests: read, find, put, and staged state changes."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from sandbox.coperniq import seed as seeddata
from sandbox.coperniq.api.invoices import cents
from sandbox.coperniq.http import ALIASES
from sandbox.coperniq.webhooks import crossed_levels, overdue_at, record_payload

# Who records the payments made with pay_invoice (Office Staff, as for the seeded payments).
OFFICE_USER_ID = 1010


class DataMixin:
    """Reads and writes records without HTTP (nothing is counted or recorded)."""

    @staticmethod
    def _coll(collection: str) -> str:
        return ALIASES.get(collection, collection)

    def get(self, collection: str, rec_id: int) -> dict[str, Any] | None:
        """A record as GET on it would answer (detail view), or None."""
        coll = self._coll(collection)
        rec = self.db.get(coll, int(rec_id))
        return (
            self.api.render(coll, rec, detail=True, query={"include_contacts": "true"})
            if rec
            else None
        )

    def raw(self, collection: str, rec_id: int) -> dict[str, Any] | None:
        """A record as stored, internal `_` keys included."""
        return self.db.get(self._coll(collection), int(rec_id))

    def all(self, collection: str) -> list[dict[str, Any]]:
        """Every record of a collection, rendered, ordered by id."""
        coll = self._coll(collection)
        return [
            self.api.render(coll, r, detail=True, query={"include_contacts": "true"})
            for r in self.db.all(coll)
        ]

    def find(self, collection: str, **match: Any) -> list[dict[str, Any]]:
        """Rendered records whose fields equal the values (`phase__slaStatus="VIOLATED"` nests)."""
        coll = self._coll(collection)

        def matches(rec: dict[str, Any], keys: list[str]) -> bool:
            for key in keys:
                cur: Any = rec
                for part in key.split("__"):
                    cur = cur.get(part) if isinstance(cur, dict) else None
                if cur != match[key]:
                    return False
            return True

        # Plain stored fields are compared before rendering (benchmarks call find in loops over
        # thousands of records); computed or rewritten fields only on the rendered record.
        computed = {
            "phase",
            "stage",
            "phaseInstances",
            "title",
            "contacts",
            "id",
            "downloadUrl",
            "formLayouts",
            "fields",
            "createdBy",
            "createdByUser",
        }
        plain = [k for k in match if k.split("__")[0] not in computed]
        out = []
        for raw in self.db.all(coll):
            if plain and not matches(raw, plain):
                continue
            rec = self.api.render(coll, raw, detail=True, query={"include_contacts": "true"})
            if matches(rec, list(match)):
                out.append(rec)
        return out

    def put(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace a record directly (no id: one is assigned); returns it rendered."""
        coll = self._coll(collection)
        rec = copy.deepcopy(record)
        with self.api._lock:
            if "id" not in rec:
                rec["id"] = max(self.db.max_id(coll) + 1, 1)
            old = self.db.get(coll, int(rec["id"])) or {}
            for key, value in old.items():
                if key.startswith("_") and key not in rec:
                    rec[key] = value
            now = self.api.now_iso()
            rec.setdefault("createdAt", old.get("createdAt", now))
            rec.setdefault("updatedAt", now)
            self._link_parent(coll, rec)
            if coll == "projects":
                cur = rec.get("phase") or rec.get("stage")
                if isinstance(cur, dict) and cur.get("timeInStageDays") is not None:
                    start = self.api.today() - timedelta(days=int(cur["timeInStageDays"]))
                    rec["_phaseStartedAt"] = start.isoformat()
                for key in ("phase", "stage"):
                    if isinstance(rec.get(key), dict):
                        rec[key].pop("timeInStageDays", None)
                        rec[key].pop("slaStatus", None)
                if "phaseInstances" in rec:
                    rec["_phaseInstances"] = rec.pop("phaseInstances")
            self.db.put(coll, rec)
        return self.get(coll, rec["id"]) or rec

    @staticmethod
    def _link_parent(coll: str, rec: dict[str, Any]) -> None:
        if "_parentType" in rec:
            return
        if coll in ("forms", "line_items") and rec.get("projectId"):
            rec["_parentType"], rec["_parentId"] = "project", int(rec["projectId"])
        elif coll == "invoices" and isinstance(rec.get("record"), dict):
            rec["_parentType"], rec["_parentId"] = "project", int(rec["record"]["id"])
            if isinstance(rec.get("account"), dict):
                rec["_accountId"] = rec["account"]["id"]
        elif coll == "work_orders" and isinstance(rec.get("project"), dict):
            rec["_parentType"], rec["_parentId"] = "project", int(rec["project"]["id"])

    def update(self, collection: str, rec_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a stored record and bump updatedAt, like an edit in Coperniq would."""
        coll = self._coll(collection)
        with self.api._lock:
            rec = self.db.get(coll, int(rec_id))
            if rec is None:
                raise KeyError(f"{collection} {rec_id} not found")
            rec.update(copy.deepcopy(fields))
            rec["updatedAt"] = self.api.now_iso()
            self.db.put(coll, rec)
        return self.get(coll, rec_id) or rec

    def delete(self, collection: str, rec_id: int) -> bool:
        """Remove a record directly."""
        return self.db.delete(self._coll(collection), int(rec_id))

    def set_phase(
        self,
        project_id: int,
        *,
        template_id: int | None = None,
        name: str | None = None,
        time_in_stage_days: int | None = None,
    ) -> dict[str, Any]:
        """Move a project to a phase (template id or name) and/or set its days in the phase.

        With webhooks on, a move to another phase sends PROJECT_PHASE_COMPLETED (the old phase)
        then PROJECT_PHASE_STARTED, and days in phase reaching yellowSla or redSla send
        PROJECT_PHASE_SLA_VIOLATION, once per threshold per stay in a phase.
        """
        with self.api._lock:
            rec = self.db.get("projects", int(project_id))
            if rec is None:
                raise KeyError(f"project {project_id} not found")
            old_phase = copy.deepcopy(self._current_phase(rec))
            days_before = self._days_in_phase(rec)
            wid = rec.get("workflowId")
            phases = seeddata.WORKFLOWS.get(int(wid), ("", [], False, []))[3] if wid else []
            key = "stage" if "stage" in rec else "phase"
            cur = rec.get(key) or {}
            target_id = cur.get("templateId", cur.get("id"))
            if template_id is not None or name is not None:
                match = [
                    p for p in phases if p[0] == template_id or (name is not None and p[1] == name)
                ]
                if not match:
                    raise KeyError(f"no phase {template_id or name!r} in workflow {wid}")
                target_id = match[0][0]
                idx = [p[0] for p in phases].index(target_id)
                ph = phases[idx]
                now = self.api.now_iso()
                instances = rec.get("_phaseInstances", [])
                for k, inst in enumerate(instances):
                    if k < idx:
                        inst["status"] = "COMPLETED"
                        inst["completedAt"] = inst.get("completedAt") or now
                        inst["startedAt"] = inst.get("startedAt") or now
                    elif k == idx:
                        inst["status"] = "IN_PROGRESS"
                        inst["startedAt"] = now
                        inst["completedAt"] = None
                    else:
                        inst["status"] = "NOT_STARTED"
                        inst["startedAt"] = inst["completedAt"] = None
                if key == "stage":
                    rec["stage"] = {
                        "id": ph[0],
                        "name": ph[1],
                        "type": ph[2],
                        "scope": "PROJECT",
                        "redSla": ph[4],
                        "yellowSla": ph[3],
                    }
                else:
                    inst_id = (
                        instances[idx]["id"] if idx < len(instances) else cur.get("instanceId")
                    )
                    rec["phase"] = {
                        "instanceId": inst_id,
                        "templateId": ph[0],
                        "name": ph[1],
                        "status": "IN_PROGRESS",
                        "type": ph[2],
                        "redSla": ph[4],
                        "yellowSla": ph[3],
                    }
                rec["_phaseStartedAt"] = self.api.today().isoformat()
            if time_in_stage_days is not None:
                rec["_phaseStartedAt"] = (
                    self.api.today() - timedelta(days=time_in_stage_days)
                ).isoformat()
            new_phase = self._current_phase(rec)
            moved = self.api.webhooks is not None and _stay_key(new_phase) != _stay_key(old_phase)
            if moved:
                # A new stay (even back in a phase instance seen before) may be overdue again.
                rec.pop("_webhookSla", None)
                days_before = 0
            rec["updatedAt"] = self.api.now_iso()
            self.db.put("projects", rec)
            if moved:
                self._phase_moved(rec, old_phase, new_phase)
            if self.api.webhooks is not None:
                self._sla_events(rec, days_before)
        return self.get("projects", project_id) or rec

    def advance_days(self, days: int = 1) -> date:
        """Move the sandbox's date on (time in phase grows); returns the new date.

        With webhooks on, every project whose time in phase reaches an SLA on the way sends
        PROJECT_PHASE_SLA_VIOLATION, as Coperniq does when the day comes.
        """
        with self.api._lock:
            before = {}
            if self.api.webhooks is not None:
                before = {r["id"]: self._days_in_phase(r) for r in self.db.all("projects")}
            self.api.set_today(self.api.today() + timedelta(days=days))
            for pid, days_before in before.items():
                rec = self.db.get("projects", pid)
                if rec is not None:
                    self._sla_events(rec, days_before)
            return self.api.today()

    # ----- webhook events (only called when the sandbox sends webhooks)
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _current_phase(rec: dict[str, Any]) -> dict[str, Any] | None:
        cur = rec.get("phase") or rec.get("stage")
        return cur if isinstance(cur, dict) else None

    def _days_in_phase(self, rec: dict[str, Any]) -> int:
        started = rec.get("_phaseStartedAt")
        if not started:
            return 0
        return max((self.api.today() - date.fromisoformat(started)).days, 0)

    def _record_body(self, rec: dict[str, Any]) -> dict[str, Any]:
        return record_payload(self.api.render("projects", rec), rec)

    def _phase_moved(
        self, rec: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        sender = self.api.webhooks
        assert sender is not None
        record = self._record_body(rec)
        for trigger, phase, status in (
            ("PROJECT_PHASE_COMPLETED", old, "COMPLETED"),
            ("PROJECT_PHASE_STARTED", new, "IN_PROGRESS"),
        ):
            if phase is None:
                continue
            sender.emit(
                trigger,
                record_id=rec["id"],
                fields={
                    # Legacy `stage` workflows have no phase instances: null, as the API has none.
                    "phaseInstanceId": phase.get("instanceId"),
                    "phaseTemplateId": phase.get("templateId", phase.get("id")),
                    "phaseType": phase.get("type"),
                    "status": status,
                },
                fired_at=rec["updatedAt"],
                record=record,
            )

    def _sla_events(self, rec: dict[str, Any], days_before: int) -> None:
        """Send a violation for each SLA reached since `days_before`, once per stay in a phase."""
        sender = self.api.webhooks
        phase = self._current_phase(rec)
        if sender is None or phase is None or not rec.get("_phaseStartedAt"):
            return
        levels = crossed_levels(phase, days_before, self._days_in_phase(rec))
        stay = _stay_key(phase)
        # Kept on the record so that lowering the days and raising them again (possible only in
        # the sandbox) does not send the same violation twice within one stay.
        seen = rec.get("_webhookSla") or {}
        fired = list(seen.get("fired", [])) if seen.get("stay") == stay else []
        levels = [(t, d) for t, d in levels if t not in fired]
        if not levels:
            return
        started = date.fromisoformat(rec["_phaseStartedAt"])
        record = self._record_body(rec)
        for sla_type, sla_days in levels:
            sender.emit(
                "PROJECT_PHASE_SLA_VIOLATION",
                record_id=rec["id"],
                fields={
                    "overdueAt": overdue_at(started, sla_days),
                    "slaType": sla_type,
                    "phaseTemplateId": phase.get("templateId", phase.get("id")),
                },
                fired_at=self.api.now_iso(),
                record=record,
            )
            fired.append(sla_type)
        # Not an edit in Coperniq: updatedAt stays as it was.
        rec["_webhookSla"] = {"stay": stay, "fired": fired}
        self.db.put("projects", rec)

    def pay_invoice(
        self, invoice_id: int, amount: float | None = None, *, method: str = "ACH"
    ) -> dict[str, Any]:
        """Record a payment (None: the full balance, and never more); PAID or PARTIALLY_PAID.

        The payment is listed under the invoice as if the office had recorded it in Coperniq.
        """
        with self.api._lock:
            rec = self.db.get("invoices", int(invoice_id))
            if rec is None:
                raise KeyError(f"invoice {invoice_id} not found")
            balance = cents(rec["amount"]) - cents(rec["amountPaid"])
            pay = balance if amount is None else min(cents(amount), balance)
            if pay > 0:
                self.api.add_payment(rec, pay, method=method, created_by=OFFICE_USER_ID)
            else:  # nothing to pay: no payment, but the status settles as before
                rec["status"] = "PAID" if balance <= 0 else "PARTIALLY_PAID"
                rec["updatedAt"] = self.api.now_iso()
                self.db.put("invoices", rec)
        return self.get("invoices", invoice_id) or rec

    def payments(self, invoice_id: int) -> list[dict[str, Any]]:
        """An invoice's payments as GET /invoices/{id}/payments answers them, oldest first."""
        recs = self.db.all("invoice_payments", parent=("invoice", int(invoice_id)))
        return [self.api.render("invoice_payments", r) for r in recs]

    def set_form_status(self, form_id: int, status: str) -> dict[str, Any]:
        """Move a form to a status (COMPLETED sets isCompleted/completedAt) and bump updatedAt."""
        if status not in seeddata.FORM_STATUSES:
            raise ValueError(f"unknown form status {status!r}")
        with self.api._lock:
            rec = self.db.get("forms", int(form_id))
            if rec is None:
                raise KeyError(f"form {form_id} not found")
            self.api._set_form_status(rec, status)
            rec["updatedAt"] = self.api.now_iso()
            self.db.put("forms", rec)
        return self.get("forms", form_id) or rec

    def complete_form(self, form_id: int) -> dict[str, Any]:
        """Mark a form COMPLETED."""
        return self.set_form_status(form_id, "COMPLETED")

    def file_content(self, file_id: int) -> bytes | None:
        """The bytes of an uploaded file (None for seeded/URL files)."""
        return self.db.get_blob(int(file_id))


def _stay_key(phase: dict[str, Any] | None) -> str | None:
    """Identifies one stay in one phase (a phase instance, or a legacy stage)."""
    if phase is None:
        return None
    return f"{phase.get('instanceId')}:{phase.get('templateId', phase.get('id'))}"
