"""A stateful local stand-in for the Coperniq REST API (tests, demo, benchmarks).

    sb = CoperniqSandbox(api_key="k", projects=60, validate=True).start()   # or `with ... as sb:`
    sb.base_url                      # http://127.0.0.1:PORT/v1
    sb.inject(path="/projects*", method="GET", status=503, times=2, retry_after=1)
    sb.inject(path="/invoices", timeout=True)     # hold 60 s (or timeout=<seconds>), then drop
    sb.requests                      # RecordedRequest(method, path relative to /v1, query, headers,
                                     #   body, status); status 0 = connection dropped by a fault
    sb.conformance_errors            # spec violations of requests and responses (validate=True)
    sb.find("projects", phase__slaStatus="VIOLATED"); sb.get("invoices", 300001); sb.put(...)
    sb.update("forms", 200001, dueDate=...); sb.set_phase(pid, time_in_stage_days=20)
    sb.pay_invoice(iid, amount=None); sb.complete_form(fid); sb.consume_budget(4990)
    sb.advance_days(3)               # the sandbox's date moves on; time in phase grows

Webhooks like Coperniq's Automations ("Call webhook"), POSTed from a background thread, retried:
    sb = CoperniqSandbox(webhook_url="http://127.0.0.1:3000/coperniq/webhooks/<secret>",
                         webhook_duplicate=False)       # or later: sb.send_webhooks_to(url)
    sb.set_phase(pid, template_id=...)   # PROJECT_PHASE_COMPLETED, then PROJECT_PHASE_STARTED
    sb.set_phase(pid, time_in_stage_days=9); sb.advance_days(1)   # PROJECT_PHASE_SLA_VIOLATION
    PATCH .../work-orders/{id} {"status"}  # TASK_STATUS_MOVEMENT (+ TASK_COMPLETED)
    sb.wait_webhooks_idle(5); sb.webhook_deliveries   # [(body, status), ...], one per attempt

Collections: projects, opportunities, accounts, invoices, forms, files, calls, notes, workflows,
users, teams, roles, work_orders, work_order_templates, line_items, catalog_items, properties.
Records read through get/find/all are rendered as the API answers them (detail view).
"""

from sandbox.coperniq.server import CoperniqSandbox, RecordedRequest

__all__ = ["CoperniqSandbox", "RecordedRequest"]
