"""Client pieces that need no server: ids, mentions, Retry-After, backoff, budget, errors."""

from __future__ import annotations

import logging
import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Secret
from bot.coperniq import CoperniqClient, check_id, mention
from bot.coperniq.budget import HEADER_FRESHNESS, Budget
from bot.coperniq.errors import (
    BudgetExceeded,
    ConnectionFailed,
    CoperniqError,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    ValidationError,
)
from bot.coperniq.pagination import check_page_size, paginate
from bot.coperniq.redact import REDACTOR
from bot.coperniq.transport import (
    BACKGROUND_POLICY,
    INTERACTIVE_POLICY,
    iso_z,
    parse_retry_after,
)
from bot.store import api_calls_since

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


# --- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [(1, "1"), ("42", "42"), (" 7 ", "7"), (0, "0")])
def test_check_id_accepts_whole_numbers(value: int | str, expected: str) -> None:
    assert check_id(value) == expected


@pytest.mark.parametrize(
    "value", ["1/../2", "abc", "", "1.5", "-3", -3, True, None, 1.0, "١٢", "1 2", "9" * 30]
)
def test_check_id_rejects_anything_else(value: object) -> None:
    with pytest.raises(ValueError):
        check_id(value)  # type: ignore[arg-type]


def test_bad_ids_are_refused_before_any_request() -> None:
    # Port 9 on loopback: a request that escaped would fail with ConnectionFailed instead.
    client = CoperniqClient("k" * 20, "http://127.0.0.1:9/v1")
    with pytest.raises(ValueError):
        client.projects.get("12?x=1")
    with pytest.raises(ValueError):
        client.files.get("project", 1, "../3")
    with pytest.raises(ValueError):
        client.invoices.list_for_project("x")  # eager, although the list itself is lazy
    with pytest.raises(ValueError):
        client.notes.create("vendor", 1, "hi")
    with pytest.raises(ValueError):
        client.files.list("account", 1)  # the API keeps no files on accounts
    assert client.budget.used() == 0


# --- mentions -------------------------------------------------------------------------------


def test_mention_writes_coperniq_syntax() -> None:
    assert mention("Dana Lee", 17) == "[Dana Lee|~id:17]"


def test_mention_cannot_be_broken_by_the_name() -> None:
    assert mention("A|B]x[\n", "5") == "[A B)x(|~id:5]"
    with pytest.raises(ValueError):
        mention("X", "5]")


# --- Retry-After and backoff ----------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7", T0) == 7.0
    assert parse_retry_after(None, T0) is None
    assert parse_retry_after("soon", T0) is None
    assert parse_retry_after("Mon, 02 Mar 2026 15:00:30 GMT", T0) == 30.0
    assert parse_retry_after("Mon, 02 Mar 2026 14:00:00 GMT", T0) == 0.0


def test_backoff_grows_and_stays_under_the_cap() -> None:
    rng = random.Random(1)
    delays = [BACKGROUND_POLICY.backoff(n, rng) for n in range(1, 12)]
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert all(d <= BACKGROUND_POLICY.cap for d in delays)
    assert max(delays) >= BACKGROUND_POLICY.cap / 2
    assert all(INTERACTIVE_POLICY.backoff(n, rng) <= INTERACTIVE_POLICY.cap for n in range(1, 9))


def test_iso_z_needs_an_aware_datetime() -> None:
    assert iso_z(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    with pytest.raises(ValueError):
        iso_z(datetime(2026, 1, 2))


# --- pagination (pure: fetch is a function of the page params) ------------------------------


def _array_source(n: int) -> tuple[list[dict], list[dict]]:
    data = [{"id": i} for i in range(1, n + 1)]
    calls: list[dict] = []

    def fetch(params: dict) -> list[dict]:
        calls.append(params)
        start = (params["page"] - 1) * params["page_size"]
        return data[start : start + params["page_size"]]

    return calls, fetch  # type: ignore[return-value]


@pytest.mark.parametrize("n,pages", [(0, 1), (3, 1), (10, 3), (11, 3), (9, 2)])
def test_plain_array_lists_end_on_a_short_page(n: int, pages: int) -> None:
    calls, fetch = _array_source(n)
    got = list(paginate(fetch, {"q": "x"}, page_size=5))  # type: ignore[arg-type]
    assert [r["id"] for r in got] == list(range(1, n + 1))
    assert len(calls) == pages
    assert all(c["q"] == "x" and c["page_size"] == 5 for c in calls)


def test_pagination_is_lazy() -> None:
    calls, fetch = _array_source(20)
    it = paginate(fetch, page_size=5)  # type: ignore[arg-type]
    assert calls == []
    assert next(it)["id"] == 1
    assert len(calls) == 1


def test_envelope_lists_end_on_has_more_and_survive_a_lying_server() -> None:
    def fetch(params: dict) -> dict:
        return {"items": [], "page": params["page"], "page_size": 5, "has_more": True}

    assert list(paginate(fetch, page_size=5, envelope=True)) == []


@pytest.mark.parametrize("envelope", [False, True])
def test_a_listing_whose_pages_repeat_stops_at_the_repeat_naming_the_path(envelope: bool) -> None:
    # Prism's example data: every page is the same page, and has_more stays true.
    calls: list[dict] = []
    page = [{"id": 0, "uid": "INV-1"}] * 5

    def fetch(params: dict) -> object:
        calls.append(params)
        return {"items": page, "has_more": True} if envelope else page

    with pytest.raises(CoperniqError) as info:
        list(paginate(fetch, page_size=5, envelope=envelope, path="/invoices"))
    assert len(calls) == 2
    assert "/invoices" in str(info.value) and "repeats page 1" in str(info.value)


def test_a_listing_past_any_real_account_size_stops() -> None:
    calls: list[dict] = []

    def fetch(params: dict) -> dict:
        calls.append(params)
        return {"items": [{"id": params["page"]}], "has_more": True}

    with pytest.raises(CoperniqError) as info:
        list(paginate(fetch, page_size=1, envelope=True, path="/invoices", max_pages=30))
    assert len(calls) == 30 and "/invoices" in str(info.value)


def test_page_size_is_checked() -> None:
    for bad in (0, 101, -1, True, 5.0):
        with pytest.raises(ValueError):
            check_page_size(bad)  # type: ignore[arg-type]
    assert check_page_size(100) == 100


# --- budget ---------------------------------------------------------------------------------


def _spend(
    budget: Budget, n: int, purpose: str = "background", remaining: int | None = None
) -> None:
    for _ in range(n):
        budget.record(
            method="GET", path="/projects", status=200, purpose=purpose, rate_remaining=remaining
        )


def test_in_memory_budget_counts_a_rolling_day() -> None:
    clock = Clock()
    budget = Budget(100, 0.2, clock=clock)
    _spend(budget, 30)
    clock.advance(hours=12)
    _spend(budget, 10, "interactive")
    assert budget.used() == 40
    assert budget.remaining() == 60
    assert budget.used(timedelta(hours=1)) == 10
    clock.advance(hours=12, seconds=1)
    assert budget.used() == 10
    assert budget.remaining() == 90


def test_store_budget_counts_in_the_ledger(store) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    budget = Budget(100, 0.2, store=store, clock=clock)
    _spend(budget, 5)
    _spend(budget, 2, "interactive")
    assert api_calls_since(store.db, T0 - timedelta(seconds=1)) == 7
    assert api_calls_since(store.db, T0 - timedelta(seconds=1), "interactive") == 2
    # A second Budget on the same database (another process) sees the same count.
    assert Budget(100, 0.2, store=store, clock=clock).used() == 7
    clock.advance(hours=24, seconds=1)
    assert budget.used() == 0


def test_reserve_refuses_background_but_leaves_room_for_people() -> None:
    clock = Clock()
    budget = Budget(10, 0.2, clock=clock)
    assert budget.reserve == 2
    _spend(budget, 7)
    assert budget.available_for_background() == 1
    budget.require(1)
    with pytest.raises(BudgetExceeded) as info:
        budget.require(2)
    assert "reserve" in str(info.value)
    _spend(budget, 1)
    with pytest.raises(BudgetExceeded):
        budget.require()
    assert budget.remaining() == 2


def test_fresh_rate_limit_header_lowers_what_is_left() -> None:
    clock = Clock()
    budget = Budget(5000, 0.2, clock=clock)
    _spend(budget, 1, remaining=300)
    assert budget.remaining() == 300
    assert budget.available_for_background() == 0
    clock.advance(seconds=HEADER_FRESHNESS.total_seconds() + 1)
    assert budget.remaining() == 4999


def test_store_budget_reads_a_header_seen_by_another_process(store) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    other = Budget(5000, 0.2, store=store, clock=clock)
    _spend(other, 1, remaining=1234)
    mine = Budget(5000, 0.2, store=store, clock=clock)
    assert mine.remaining() == 1234


def test_budget_rejects_a_naive_clock() -> None:
    budget = Budget(10, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        budget.remaining()


# --- errors and secrets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        CoperniqError,
        ValidationError,
        NotFound,
        RateLimited,
        ServerError,
        Timeout,
        ConnectionFailed,
        BudgetExceeded,
    ],
)
def test_every_error_has_a_sentence_for_people(cls: type[CoperniqError]) -> None:
    err = cls("technical text", status=None)
    assert err.user_message.endswith(".")
    assert len(err.user_message) > 30
    assert "technical text" not in err.user_message


def test_outcome_unknown_changes_the_user_message() -> None:
    err = Timeout("t", method="POST", path="/projects", outcome_unknown=True)
    assert "may or may not" in err.user_message
    assert "may or may not" not in Timeout("t").user_message


def test_rate_limited_message_and_retry_after() -> None:
    err = RateLimited("x", retry_after=12.0, status=429, code="RATE_LIMIT_EXCEEDED")
    assert err.user_message == "Coperniq is busy right now (rate limit); try again in a minute."
    assert err.retry_after == 12.0
    assert "retry_after=12.0" in repr(err)


def test_errors_survive_pickling() -> None:
    data = pickle.dumps(ValidationError("bad", status=400, field="title"))
    err = pickle.loads(data)  # noqa: S301 - our own bytes
    assert (err.status, err.field, str(err)) == (400, "title", "bad")


def test_client_repr_hides_the_key() -> None:
    key = "sk-live-very-secret-0001"
    client = CoperniqClient(Secret(key), "http://127.0.0.1:9/v1")
    for text in (
        repr(client),
        str(client),
        repr(client.interactive),
        repr(client.budget),
        repr(client._transport),
        repr(client.projects),
    ):
        assert key not in text


def test_redacting_filter_masks_a_key_that_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-live-very-secret-0002"
    CoperniqClient(key, "http://127.0.0.1:9/v1")
    log = logging.getLogger("bot.coperniq")
    with caplog.at_level(logging.DEBUG, logger="bot.coperniq"):
        log.warning("header was %s", key)
        log.warning("plain " + key)
    assert key not in caplog.text
    assert "***" in caplog.text
    assert REDACTOR.redact(f"x{key}y") == "x***y"


def test_a_key_is_required() -> None:
    with pytest.raises(ValueError):
        CoperniqClient("", "http://127.0.0.1:9/v1")


def test_views_share_transport_and_budget() -> None:
    client = CoperniqClient("k" * 20, "http://127.0.0.1:9/v1")
    assert client.interactive is client.interactive
    assert client.interactive.budget is client.budget is client.background.budget
    assert client.interactive.purpose == "interactive"
    assert client.background.purpose == client.purpose == "background"
    assert client.interactive.background is client.background


def test_with_policy_makes_a_fresh_view_sharing_transport_and_budget() -> None:
    client = CoperniqClient("k" * 20, "http://127.0.0.1:9/v1")
    view = client.with_policy("interactive")
    assert view is not client.with_policy("interactive") and view is not client.interactive
    assert (view.purpose, view.policy) == ("interactive", INTERACTIVE_POLICY)
    assert view.budget is client.budget and view._transport is client._transport
    assert view.background is client.background and view.calls_made == 0
    patient = client.interactive.with_policy("background", BACKGROUND_POLICY)
    assert (patient.purpose, patient.policy) == ("background", BACKGROUND_POLICY)
    with pytest.raises(ValueError):
        client.with_policy("urgent")


def test_a_view_builds_its_resources_on_first_use() -> None:
    view = CoperniqClient("k" * 20, "http://127.0.0.1:9/v1").with_policy("interactive")
    assert "projects" not in vars(view)
    assert view.projects is view.projects and view.requests is view.opportunities
    assert view.projects._client is view and "projects" in vars(view)


def _capped_source(n: int, cap: int) -> tuple[list[dict], Any]:
    """A server that pages by `cap` whatever page_size asks for."""
    data = [{"id": i} for i in range(1, n + 1)]
    calls: list[dict] = []

    def fetch(params: dict) -> list[dict]:
        calls.append(params)
        start = (params["page"] - 1) * cap
        return data[start : start + cap]

    return calls, fetch


@pytest.mark.parametrize("n,cap,pages", [(230, 50, 5), (40, 20, 3), (20, 20, 2), (100, 25, 5)])
def test_a_server_capping_page_size_below_the_ask_is_read_to_the_end(
    n: int, cap: int, pages: int
) -> None:
    calls, fetch = _capped_source(n, cap)
    got = list(paginate(fetch, page_size=100))
    assert [r["id"] for r in got] == list(range(1, n + 1))
    assert len(calls) == pages


@pytest.mark.parametrize("n", [3, 17, 99])
def test_a_short_first_page_of_an_odd_size_costs_no_extra_call(n: int) -> None:
    calls, fetch = _array_source(n)
    assert len(list(paginate(fetch, page_size=100))) == n  # type: ignore[arg-type]
    assert len(calls) == 1
