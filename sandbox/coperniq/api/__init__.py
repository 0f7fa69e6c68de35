"""The sandbox's endpoints: spec paths under /v1, answered from the record database.

Decisions where the spec is silent or self-contradictory are commented at the place they apply; the
conformance allow-list (sandbox/coperniq/conformance.py) cites the spec locations.

One mixin per resource (records.py, record_writes.py, workorders.py, files.py, invoices.py,
forms.py, activity.py, directory.py) over ApiBase (base.py: errors, clock, router) and ParamsMixin
(params.py: parameter checks, rendering); CoperniqAPI below combines them and holds the one
routing table.
"""

from __future__ import annotations

from sandbox.coperniq.api.activity import ActivityMixin
from sandbox.coperniq.api.base import (
    ApiBase,
    ApiError,
    ApiRequest,
    ApiResponse,
    bad_request,
    not_found,
)
from sandbox.coperniq.api.directory import DirectoryMixin
from sandbox.coperniq.api.files import FilesMixin
from sandbox.coperniq.api.forms import FormsMixin
from sandbox.coperniq.api.invoices import InvoicesMixin
from sandbox.coperniq.api.params import ParamsMixin
from sandbox.coperniq.api.record_writes import RecordWritesMixin
from sandbox.coperniq.api.records import RecordReadsMixin
from sandbox.coperniq.api.workorders import WorkOrdersMixin

__all__ = ["ApiError", "ApiRequest", "ApiResponse", "CoperniqAPI", "bad_request", "not_found"]


class CoperniqAPI(
    RecordReadsMixin,
    RecordWritesMixin,
    WorkOrdersMixin,
    FilesMixin,
    InvoicesMixin,
    FormsMixin,
    ActivityMixin,
    DirectoryMixin,
    ParamsMixin,
    ApiBase,
):
    """Routes and handlers over a RecordDB."""

    def _register(self) -> None:
        r = self._route
        for coll in ("projects", "opportunities", "accounts"):
            one = {
                "projects": "projectId",
                "opportunities": "opportunityId",
                "accounts": "accountId",
            }[coll]
            r("GET", f"/{coll}", self._bind(self.list_records, coll))
            r("POST", f"/{coll}", self._bind(self.create_record, coll))
            r("GET", f"/{coll}/search", self._bind(self.search_records, coll))
            r("GET", f"/{coll}/{{{one}}}", self._bind(self.get_record, coll, one))
            r("PATCH", f"/{coll}/{{{one}}}", self._bind(self.update_record, coll, one))
            r("DELETE", f"/{coll}/{{{one}}}", self._bind(self.delete_record, coll, one))
            r(
                "GET",
                f"/{coll}/{{{one}}}/work-orders",
                self._bind(self.list_record_work_orders, coll, one),
            )
            r(
                "POST",
                f"/{coll}/{{{one}}}/work-orders",
                self._bind(self.create_work_order, coll, one),
            )
            r(
                "PATCH",
                f"/{coll}/{{{one}}}/work-orders/{{workOrderId}}",
                self._bind(self.update_work_order, coll, one),
            )
            r(
                "DELETE",
                f"/{coll}/{{{one}}}/work-orders/{{workOrderId}}",
                self._bind(self.delete_work_order, coll, one),
            )
            r("GET", f"/{coll}/{{{one}}}/calls", self._bind(self.list_calls, coll, one))
            r("POST", f"/{coll}/{{{one}}}/calls", self._bind(self.create_call, coll, one))
            r("GET", f"/{coll}/{{{one}}}/notes", self._bind(self.list_notes, coll, one))
            r("POST", f"/{coll}/{{{one}}}/notes", self._bind(self.create_note, coll, one))
        for coll in ("projects", "opportunities"):
            one = {"projects": "projectId", "opportunities": "opportunityId"}[coll]
            r("GET", f"/{coll}/{{{one}}}/files", self._bind(self.list_files, coll, one))
            r("POST", f"/{coll}/{{{one}}}/files", self._bind(self.create_file_from_url, coll, one))
            r("POST", f"/{coll}/{{{one}}}/files/upload", self._bind(self.upload_file, coll, one))
            r("GET", f"/{coll}/{{{one}}}/files/{{fileId}}", self._bind(self.get_file, coll, one))
            r(
                "DELETE",
                f"/{coll}/{{{one}}}/files/{{fileId}}",
                self._bind(self.delete_file, coll, one),
            )
            r("GET", f"/{coll}/{{{one}}}/forms", self._bind(self.list_forms, coll, one))
        r("GET", "/work-orders", self.list_work_orders)
        r("GET", "/work-orders/templates", self.list_work_order_templates)
        r("GET", "/work-orders/{workOrderId}", self.get_work_order)
        r("POST", "/work-orders/{workOrderId}/notes", self.create_work_order_note)
        r("GET", "/projects/{projectId}/line-items", self.get_line_items)
        r("PUT", "/projects/{projectId}/line-items", self.put_line_items)
        r("GET", "/workflows", self.list_workflows)
        r("GET", "/workflows/{workflowId}", self.get_workflow)
        r("GET", "/invoices", self.list_invoices)
        r("POST", "/invoices", self.create_invoice)
        r("GET", "/invoices/{invoiceId}", self.get_invoice)
        r("PATCH", "/invoices/{invoiceId}", self.update_invoice)
        r("DELETE", "/invoices/{invoiceId}", self.delete_invoice)
        r("GET", "/invoices/{invoiceId}/payments", self.list_invoice_payments)
        r("POST", "/invoices/{invoiceId}/payments", self.create_invoice_payment)
        r("GET", "/invoices/{invoiceId}/payments/{paymentId}", self.get_invoice_payment)
        r(
            "GET",
            "/projects/{projectId}/invoices",
            self._bind(self.list_record_invoices, "projects", "projectId"),
        )
        r(
            "GET",
            "/accounts/{accountId}/invoices",
            self._bind(self.list_record_invoices, "accounts", "accountId"),
        )
        r("GET", "/forms/{formId}", self.get_form)
        r("PATCH", "/forms/{formId}", self.update_form)
        r("POST", "/forms/{formId}/fields/file-from-url", self.attach_file_from_url)
        r("GET", "/users", self.list_users)
        r("POST", "/users", self.invite_user)
        r("GET", "/teams", self.list_teams)
        r("GET", "/roles", self.list_roles)
        r("GET", "/properties", self.list_properties)
        r("GET", "/catalog-items", self.list_catalog_items)
