"""`check --deep`'s probes: the few read-only Coperniq calls (capped, counted in the ledger) whose
answers bot.deepcheck.judges turns into findings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from bot.coperniq.errors import (
    AuthenticationError,
    ConnectionFailed,
    CoperniqError,
    RateLimited,
    Timeout,
)
from bot.deepcheck.judges import (
    APP_LINKS,
    DEEP_REQUESTS,
    FORM_PHASES,
    INVOICES,
    INVOICES_PAGE,
    PHASE_MOVES,
    PROBES,
    PROJECT_PHASES,
    PROJECTS_PAGE,
    RATE_LIMITS,
    SEND_OUTPUT,
    USERS,
    Finding,
    form_candidates,
    judge_app_url,
    judge_forms,
    judge_invoices,
    judge_phase_moves,
    judge_projects,
    judge_rate_limits,
    judge_users,
    phase_move_candidates,
    phase_template_id,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.coperniq import CoperniqClient

logger = logging.getLogger(__name__)


class RequestCapReached(Exception):
    """The probes' request cap was reached: the request was refused before it was sent."""


class Meter:
    """httpx event hooks: refuse any request past `cap`, and keep each answer's rate headers."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.sent = 0
        self.rate_headers: list[tuple[str | None, str | None]] = []

    def before_request(self, request: httpx.Request) -> None:
        if self.sent >= self.cap:
            raise RequestCapReached(f"the cap of {self.cap} Coperniq requests was reached")
        self.sent += 1

    def after_response(self, response: httpx.Response) -> None:
        h = response.headers
        self.rate_headers.append((h.get("X-RateLimit-Limit"), h.get("X-RateLimit-Remaining")))


class _Run:
    """One run of the probes on one client view; stops asking once Coperniq shut the door."""

    def __init__(self, view: CoperniqClient, meter: Meter) -> None:
        self.view = view
        self.meter = meter
        self.blocked: str | None = None

    def probe(self, name: str, fn: Callable[[], Finding]) -> Finding:
        if self.blocked:
            return Finding("SKIP", name, f"not run: {self.blocked}")
        try:
            return fn()
        except RequestCapReached as exc:
            return Finding("SKIP", name, f"not run: {exc}")
        except CoperniqError as exc:
            if isinstance(exc, AuthenticationError | ConnectionFailed | Timeout | RateLimited):
                self.blocked = "an earlier probe could not get an answer (see above)"
            return Finding("FAIL", name, exc.message, "fix that first, then run it again")
        except TypeError as exc:  # the resources' word for an answer of the wrong shape
            return Finding("FAIL", name, f"unexpected answer: {exc}", SEND_OUTPUT)
        except Exception:  # noqa: BLE001 - a bug in one probe must not hide the others
            logger.exception("%s probe crashed", name)
            return Finding("FAIL", name, "the probe itself failed; see the log above", SEND_OUTPUT)


def run_probes(
    settings: Settings, *, coperniq_ok: bool = True, cap: int = DEEP_REQUESTS
) -> list[Finding]:
    """Run every probe (at most `cap` requests, all GETs) and return one finding per probe."""
    from bot.coperniq import CoperniqClient
    from bot.store import Store

    reason = None
    if not settings.coperniq_api_key:
        reason = "COPERNIQ_API_KEY is not set"
    elif not coperniq_ok:
        reason = "Coperniq refused or did not answer check's own call (see the Coperniq line)"
    if reason:
        found = {name: Finding("SKIP", name, reason) for name in PROBES}
        found[APP_LINKS] = judge_app_url(settings.coperniq_app_url)
        return [found[name] for name in PROBES]

    meter = Meter(cap)
    http = httpx.Client(
        timeout=httpx.Timeout(20.0, connect=5.0),
        event_hooks={"request": [meter.before_request], "response": [meter.after_response]},
    )
    store = Store(settings.db_path)
    client = CoperniqClient(
        api_key=settings.coperniq_api_key,
        base_url=settings.coperniq_base_url,
        store=store,
        daily_budget=settings.coperniq_daily_budget,
        http_client=http,
    )
    view = client.interactive
    run = _Run(view, meter)
    projects: list[Any] = []
    try:

        def list_projects() -> Finding:
            # One page, as form-sla asks for it; the lazy list would read on past a short page.
            body = view.request("GET", "/projects", params={"page": 1, "page_size": PROJECTS_PAGE})
            if not isinstance(body, list):
                raise TypeError("GET /projects answered something other than a list")
            projects.extend(body)
            return judge_projects(body)

        def read_phase_moves() -> Finding:
            # Not documented: whether a phase move changes updatedAt. One or two projects read
            # whole, for their phase instances' startedAt (GETs, counted like every probe's).
            candidates = phase_move_candidates(projects)
            if not candidates:
                return Finding("SKIP", PHASE_MOVES, "no listed project with a `phase` to read")
            return judge_phase_moves([view.projects.get(p["id"]) for p in candidates])

        def read_forms() -> Finding:
            candidates = form_candidates(projects)
            if not candidates:
                return Finding("SKIP", FORM_PHASES, "no listed project with a phase to read")
            for p in candidates:
                field, value = phase_template_id(p)
                if value is None:
                    return Finding(
                        "FAIL",
                        FORM_PHASES,
                        f"project {p['id']}'s current phase has no {field}",
                        "form-SLA cannot tie forms to the phase; " + SEND_OUTPUT,
                    )
            read: list[tuple[Mapping[str, Any], Sequence[Any]]] = []
            for p in candidates:
                read.append((p, view.forms.list_for_project(p["id"])))
                if judge_forms(read).status == "OK":
                    break  # proven: save the remaining calls
            return judge_forms(read)

        def read_invoices() -> Finding:
            # The raw page: the envelope itself is what is checked, and the resource hides it.
            params = {"page": 1, "page_size": INVOICES_PAGE}
            body = view.request("GET", "/invoices", params=params)
            return judge_invoices(body, settings.timezone)

        found = {
            PROJECT_PHASES: run.probe(PROJECT_PHASES, list_projects),
            PHASE_MOVES: run.probe(PHASE_MOVES, read_phase_moves),
            FORM_PHASES: run.probe(FORM_PHASES, read_forms),
            INVOICES: run.probe(INVOICES, read_invoices),
            USERS: run.probe(USERS, lambda: judge_users(view.users.list())),
        }
        ledger_left = max(0, client.budget.daily_budget - client.budget.used())
        found[RATE_LIMITS] = judge_rate_limits(
            meter.rate_headers, settings.coperniq_daily_budget, ledger_left
        )
        first = next((p.get("id") for p in projects if isinstance(p, Mapping)), None)
        found[APP_LINKS] = judge_app_url(settings.coperniq_app_url, first)
    finally:
        client.close()
        http.close()
        store.close()
    return [found[name] for name in PROBES]
