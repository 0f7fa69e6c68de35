"""`CoperniqClient`: the Coperniq API as one attribute per resource, over one shared transport.

A client is a view: a transport and budget shared with every other view of the same client, a
purpose (interactive or background) with its retry policy, and a count of the calls made through
it. `with_policy(purpose)` makes a new view; `.interactive` and `.background` are the shared ones.
Resources are built on first use per view, so a view costs almost nothing to make.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from bot.config import Secret
from bot.coperniq import errors
from bot.coperniq.budget import BACKGROUND, INTERACTIVE, Budget
from bot.coperniq.paths import check_id
from bot.coperniq.resources import (
    Calls,
    Files,
    Forms,
    Invoices,
    LineItems,
    Notes,
    Properties,
    Records,
    Roles,
    Teams,
    Users,
    Workflows,
    WorkOrders,
)
from bot.coperniq.transport import (
    BACKGROUND_POLICY,
    INTERACTIVE_POLICY,
    PER_SECOND_LIMIT,
    POLICIES,
    RetryPolicy,
    Transport,
)

if TYPE_CHECKING:
    from bot.store import Store

# The client and the names other modules imported from here before the transport, the id
# checks and the policies had modules of their own.
__all__ = [
    "BACKGROUND_POLICY",
    "INTERACTIVE_POLICY",
    "PER_SECOND_LIMIT",
    "CoperniqClient",
    "RetryPolicy",
    "check_id",
]


class CoperniqClient:
    """The Coperniq API, one attribute per resource; `.interactive`/`.background` pick the policy.

    The bare client behaves like `.background` (patient retries, refused past the reserve):
    code that runs while a person waits in Slack must say so with `.interactive`.
    """

    def __init__(
        self,
        api_key: str | Secret,
        base_url: str,
        *,
        store: Store | None = None,
        daily_budget: int = 5000,
        reserve_fraction: float = 0.2,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 20.0,
    ) -> None:
        budget = Budget(daily_budget, reserve_fraction, store=store, clock=clock)
        transport = Transport(
            api_key,
            base_url,
            budget=budget,
            http_client=http_client,
            sleep=sleep,
            clock=clock,
            timeout=timeout,
        )
        self._bind(transport, BACKGROUND, POLICIES[BACKGROUND], shared={})

    def _bind(
        self,
        transport: Transport,
        purpose: str,
        policy: RetryPolicy,
        shared: dict[str, CoperniqClient],
    ) -> None:
        self._transport = transport
        # `.interactive` and `.background` of every view of this client, made on first use.
        self._shared = shared
        self.purpose = purpose
        self.policy = policy
        self.budget = transport.budget
        # Calls made through this view (see metered()); retries of one call count once here,
        # every attempt counts in the budget's ledger.
        self.calls_made = 0
        # The photo pipeline calls through one view from several threads at once.
        self._count_lock = threading.Lock()

    def _counted(self) -> None:
        with self._count_lock:
            self.calls_made += 1

    # --- views ----------------------------------------------------------------------------

    def with_policy(self, purpose: str, policy: RetryPolicy | None = None) -> CoperniqClient:
        """A new view for `purpose` (INTERACTIVE or BACKGROUND), sharing transport and budget.

        It retries per `policy` (by default the purpose's own) and counts its calls from zero.
        """
        if purpose not in POLICIES:
            raise ValueError(f"purpose must be one of {', '.join(POLICIES)}")
        view = CoperniqClient.__new__(CoperniqClient)
        view._bind(self._transport, purpose, policy or POLICIES[purpose], self._shared)
        return view

    @property
    def interactive(self) -> CoperniqClient:
        """Same transport and budget; short retries; never refused by the budget."""
        return self._shared_view(INTERACTIVE)

    @property
    def background(self) -> CoperniqClient:
        """Same transport and budget; patient retries; refused past the reserve kept for people."""
        return self._shared_view(BACKGROUND)

    def _shared_view(self, purpose: str) -> CoperniqClient:
        # One view per purpose for the whole client (handlers ask for it on every request);
        # setdefault keeps the first one made if two threads race.
        view = self._shared.get(purpose)
        if view is None:
            view = self._shared.setdefault(purpose, self.with_policy(purpose))
        return view

    def metered(self) -> CoperniqClient:
        """A fresh view with this one's purpose and policy, counting its calls in `calls_made`."""
        return self.with_policy(self.purpose, self.policy)

    # --- resources (built on first use, bound to this view) -------------------------------

    @cached_property
    def projects(self) -> Records:
        return Records(self, "projects")

    @cached_property
    def opportunities(self) -> Records:
        return Records(self, "opportunities")

    @cached_property
    def accounts(self) -> Records:
        return Records(self, "accounts")

    @property
    def requests(self) -> Records:
        """Opportunities, as people in Slack call them."""
        return self.opportunities

    @property
    def clients(self) -> Records:
        """Accounts, as people in Slack call them."""
        return self.accounts

    @cached_property
    def work_orders(self) -> WorkOrders:
        return WorkOrders(self)

    @cached_property
    def line_items(self) -> LineItems:
        return LineItems(self)

    @cached_property
    def files(self) -> Files:
        return Files(self)

    @cached_property
    def workflows(self) -> Workflows:
        return Workflows(self)

    @cached_property
    def invoices(self) -> Invoices:
        return Invoices(self)

    @cached_property
    def forms(self) -> Forms:
        return Forms(self)

    @cached_property
    def calls(self) -> Calls:
        return Calls(self)

    @cached_property
    def users(self) -> Users:
        return Users(self)

    @cached_property
    def teams(self) -> Teams:
        return Teams(self)

    @cached_property
    def roles(self) -> Roles:
        return Roles(self)

    @cached_property
    def properties(self) -> Properties:
        return Properties(self)

    @cached_property
    def notes(self) -> Notes:
        return Notes(self)

    # --- sending --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        """Send one call under this view's purpose and policy (resources use this)."""
        try:
            result = self._transport.request(
                method,
                path,
                purpose=self.purpose,
                policy=self.policy,
                params=params,
                json=json,
                files=files,
            )
        except errors.BudgetExceeded:
            raise  # refused before anything was sent
        except errors.CoperniqError:
            self._counted()
            raise
        self._counted()
        return result

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> CoperniqClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CoperniqClient(base_url={self.base_url!r}, purpose={self.purpose!r})"
