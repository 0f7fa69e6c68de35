"""Error mapping, retries, both pagination shapes, the budget and key redaction, over real HTTP."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from bot.coperniq import CoperniqClient
from bot.coperniq.errors import (
    AuthenticationError,
    BudgetExceeded,
    ConnectionFailed,
    CoperniqError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    ValidationError,
)
from bot.store import Store, api_calls_since
from tests.conftest import SANDBOX_KEY
from tests.coperniq.conftest import Clock, Sleeper, to


def a_project(sb: Any) -> int:
    return int(sb.find("projects")[0]["id"])


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,cls",
    [
        (400, ValidationError),
        (401, AuthenticationError),
        (403, PermissionDenied),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
    ],
)
def test_each_status_maps_to_its_error(
    client: CoperniqClient, sb: Any, status: int, cls: type[CoperniqError]
) -> None:
    pid = a_project(sb)
    body = {"message": "Title is required", "code": f"E{status}", "field": "title"}
    sb.inject(path="/projects/*", method="PATCH", status=status, body=body)
    with pytest.raises(cls) as info:
        client.interactive.projects.update(pid, {"title": ""})
    err = info.value
    assert err.status == status
    assert err.code == f"E{status}"
    assert err.field == "title"
    assert "Title is required" in str(err)
    assert err.user_message and err.user_message.endswith(".")
    assert err.outcome_unknown is (status >= 500)


def test_validation_error_names_the_field_for_people(client: CoperniqClient, sb: Any) -> None:
    sb.inject(
        path="/projects",
        method="POST",
        status=400,
        body={
            "message": "primaryEmail must be an email",
            "code": "VALIDATION_ERROR",
            "field": "primaryEmail",
        },
    )
    with pytest.raises(ValidationError) as info:
        client.interactive.projects.create({"title": "x", "address": ["1 Main St"]})
    assert "primaryEmail" in info.value.user_message


def test_a_real_404_says_the_record_may_be_out_of_scope(client: CoperniqClient, sb: Any) -> None:
    with pytest.raises(NotFound) as info:
        client.interactive.projects.get(987654321)
    assert "scope" in str(info.value)
    assert "can see" in info.value.user_message


def test_rate_limit_carries_retry_after(client: CoperniqClient, sb: Any, sleeper: Sleeper) -> None:
    sb.inject(
        path="/workflows",
        status=429,
        retry_after=90,
        body={"message": "Too many requests", "code": "RATE_LIMIT_EXCEEDED"},
    )
    with pytest.raises(RateLimited) as info:
        client.workflows.list()
    assert info.value.retry_after == 90
    assert info.value.code == "RATE_LIMIT_EXCEEDED"
    assert info.value.user_message == (
        "Coperniq is busy right now (rate limit); try again in a minute."
    )
    # 90 s is beyond the background cap of 30 s: give up at once rather than sleep for minutes.
    assert sleeper.calls == []
    assert len(to(sb, "/workflows")) == 1


# --- retries --------------------------------------------------------------------------------


def test_reads_are_retried_on_5xx(client: CoperniqClient, sb: Any, sleeper: Sleeper) -> None:
    sb.inject(path="/workflows", method="GET", status=503, times=2)
    assert client.workflows.list()
    assert [r[0] for r in to(sb, "/workflows")] == ["GET"] * 3
    assert len(sleeper.calls) == 2
    assert 0.5 <= sleeper.calls[0] <= 1.0 and 1.0 <= sleeper.calls[1] <= 2.0


def test_writes_are_not_retried_on_5xx(client: CoperniqClient, sb: Any, sleeper: Sleeper) -> None:
    pid = a_project(sb)
    sb.inject(path="/projects/*/notes", method="POST", status=502, times=1)
    with pytest.raises(ServerError) as info:
        client.notes.create("project", pid, "hello")
    assert info.value.outcome_unknown is True
    assert "may or may not" in info.value.user_message
    assert len(to(sb, f"/projects/{pid}/notes")) == 1
    assert sleeper.calls == []


def test_writes_are_retried_on_429(client: CoperniqClient, sb: Any, sleeper: Sleeper) -> None:
    pid = a_project(sb)
    sb.inject(
        path="/projects/*/notes",
        method="POST",
        status=429,
        times=1,
        retry_after=2,
        body={"message": "slow down", "code": "RATE_LIMIT_EXCEEDED"},
    )
    note = client.notes.create("project", pid, "hello")
    assert note["id"]
    assert [r[0] for r in to(sb, f"/projects/{pid}/notes")] == ["POST", "POST"]
    assert len(sleeper.calls) == 1 and sleeper.calls[0] >= 2.0  # Retry-After honoured


def test_retry_after_is_honoured_on_reads(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    sb.inject(
        path="/teams",
        status=429,
        times=1,
        retry_after=7,
        body={"message": "slow down", "code": "RATE_LIMIT_EXCEEDED"},
    )
    client.teams.list()
    assert sleeper.calls and sleeper.calls[0] >= 7.0


def test_background_gives_up_after_five_attempts(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    sb.inject(path="/roles", status=500)
    with pytest.raises(ServerError) as info:
        client.background.roles.list()
    assert info.value.outcome_unknown is False
    assert len(to(sb, "/roles")) == 5
    assert len(sleeper.calls) == 4
    assert all(s <= 30.0 for s in sleeper.calls)


def test_interactive_retries_once_and_sleeps_little(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    sb.inject(path="/roles", status=500)
    with pytest.raises(ServerError):
        client.interactive.roles.list()
    assert len(to(sb, "/roles")) == 2
    assert len(sleeper.calls) == 1
    assert sleeper.total <= 2.0


def test_interactive_does_not_wait_out_a_long_retry_after(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    sb.inject(
        path="/roles",
        status=429,
        retry_after=5,
        body={"message": "slow down", "code": "RATE_LIMIT_EXCEEDED"},
    )
    with pytest.raises(RateLimited) as info:
        client.interactive.roles.list()
    assert info.value.retry_after == 5
    assert sleeper.calls == []
    assert len(to(sb, "/roles")) == 1


def test_read_timeouts_are_retried(sb: Any, store: Store, sleeper: Sleeper, clock: Clock) -> None:
    c = CoperniqClient(
        SANDBOX_KEY, sb.base_url, store=store, sleep=sleeper, clock=clock, timeout=0.3
    )
    sb.inject(path="/teams", latency=1.0, times=1)
    assert isinstance(c.teams.list(), list)
    assert len(sleeper.calls) == 1
    c.close()


def test_a_write_that_timed_out_is_not_repeated(
    sb: Any, store: Store, sleeper: Sleeper, clock: Clock
) -> None:
    c = CoperniqClient(
        SANDBOX_KEY, sb.base_url, store=store, sleep=sleeper, clock=clock, timeout=0.3
    )
    pid = a_project(sb)
    sb.inject(path="/projects/*/notes", method="POST", latency=1.0, times=1)
    with pytest.raises(Timeout) as info:
        c.notes.create("project", pid, "hello")
    assert info.value.outcome_unknown is True
    assert sleeper.calls == []
    c.close()


def test_a_dropped_connection_on_a_write_is_outcome_unknown(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    pid = a_project(sb)
    sb.inject(path="/projects/*/notes", method="POST", timeout=0.05, times=1)
    with pytest.raises(ConnectionFailed) as info:
        client.notes.create("project", pid, "hello")
    assert info.value.outcome_unknown is True
    assert "may or may not" in info.value.user_message
    assert sleeper.calls == []
    assert len(to(sb, f"/projects/{pid}/notes")) == 1


def test_a_dropped_connection_on_a_read_is_retried(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    sb.inject(path="/teams", timeout=0.05, times=1)
    assert isinstance(client.teams.list(), list)
    assert len(to(sb, "/teams")) == 2
    assert len(sleeper.calls) == 1


def test_total_retry_sleep_is_capped(client: CoperniqClient, sb: Any, sleeper: Sleeper) -> None:
    # 25 s each is under the 30 s per-wait cap, but a fourth wait would pass 90 s in all.
    sb.inject(
        path="/teams",
        status=429,
        retry_after=25,
        body={"message": "slow down", "code": "RATE_LIMIT_EXCEEDED"},
    )
    with pytest.raises(RateLimited):
        client.background.teams.list()
    assert sleeper.calls == [25.0, 25.0, 25.0]
    assert len(to(sb, "/teams")) == 4


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_retried_for_reads_only(
    store: Store, sleeper: Sleeper, clock: Clock
) -> None:
    c = CoperniqClient(
        "k" * 20,
        f"http://127.0.0.1:{_closed_port()}/v1",
        store=store,
        sleep=sleeper,
        clock=clock,
        timeout=1.0,
    )
    with pytest.raises(ConnectionFailed) as info:
        c.workflows.list()
    assert info.value.outcome_unknown is False
    assert len(sleeper.calls) == 4
    sleeper.calls.clear()
    with pytest.raises(ConnectionFailed) as info:
        c.notes.create("project", 1, "x")
    # Nothing was sent, so nothing can have happened; still not retried, as the rules say.
    assert info.value.outcome_unknown is False
    assert sleeper.calls == []
    c.close()


# --- pagination -----------------------------------------------------------------------------


def _new_project(client: CoperniqClient) -> int:
    return int(client.projects.create({"title": "Paging test", "address": ["9 Elm St"]})["id"])


@pytest.mark.parametrize("count,requests", [(0, 1), (4, 1), (10, 3), (12, 3)])
def test_plain_arrays_end_on_a_short_page(
    client: CoperniqClient, sb: Any, count: int, requests: int
) -> None:
    pid = _new_project(client)
    tid = client.work_orders.templates()[0]["id"]
    made = [
        client.work_orders.create("project", pid, {"templateId": tid})["id"] for _ in range(count)
    ]
    path = f"/projects/{pid}/work-orders"
    got = client.work_orders.list_for("project", pid, page_size=5)
    assert sorted(w["id"] for w in got) == sorted(made)
    pages = to(sb, path)
    pages = [p for p in pages if p[0] == "GET"]
    assert len(pages) == requests
    assert [p[2]["page"] for p in pages] == [str(i) for i in range(1, requests + 1)]


@pytest.mark.parametrize("count,requests", [(0, 1), (3, 1), (10, 2), (11, 3)])
def test_envelope_lists_end_on_has_more(
    client: CoperniqClient, sb: Any, count: int, requests: int
) -> None:
    pid = _new_project(client)
    made = [
        client.invoices.create(
            {"recordId": pid, "calculationMethod": "PERCENTAGE", "percentage": 10}
        )["id"]
        for _ in range(count)
    ]
    got = list(client.invoices.list_for_project(pid, page_size=5))
    assert sorted(i["id"] for i in got) == sorted(made)
    assert len(to(sb, f"/projects/{pid}/invoices")) == requests


def test_lists_are_lazy(client: CoperniqClient, sb: Any) -> None:
    before = len(sb.requests)
    it = client.projects.list(page_size=5)
    assert len(sb.requests) == before
    next(it)
    assert len(sb.requests) == before + 1


# --- budget ---------------------------------------------------------------------------------


def test_every_attempt_is_counted_in_the_store(
    client: CoperniqClient, sb: Any, store: Store, clock: Clock
) -> None:
    sb.inject(path="/teams", status=503, times=2)
    client.teams.list()
    client.interactive.roles.list()
    since = clock.now.replace(year=clock.now.year - 1)
    assert api_calls_since(store.db, since) == 4
    assert api_calls_since(store.db, since, "interactive") == 1
    assert client.budget.used() == 4
    row = store.db.execute("select method, path, status from api_calls order by id").fetchall()
    assert row[0] == ("GET", "/teams", 503)
    assert row[-1] == ("GET", "/roles", 200)


def test_background_is_refused_past_the_reserve(
    sb: Any, store: Store, sleeper: Sleeper, clock: Clock
) -> None:
    c = CoperniqClient(
        SANDBOX_KEY,
        sb.base_url,
        store=store,
        daily_budget=10,
        reserve_fraction=0.2,
        sleep=sleeper,
        clock=clock,
    )
    for _ in range(8):
        c.background.teams.list()
    assert c.budget.available_for_background() == 0
    sent_before = len(sb.requests)
    with pytest.raises(BudgetExceeded) as info:
        c.background.teams.list()
    assert len(sb.requests) == sent_before  # refused before anything was sent
    assert "people" in info.value.user_message
    # A person in Slack is never refused by the bot itself.
    c.interactive.teams.list()
    c.interactive.teams.list()
    c.interactive.teams.list()
    assert c.budget.remaining() == 0
    clock.advance(hours=24, seconds=1)
    c.background.teams.list()
    c.close()


def test_rate_limit_header_is_tracked(
    client: CoperniqClient, sb: Any, store: Store, clock: Clock
) -> None:
    # Another user of the same key spent 3,000 today: only the server's header can tell us.
    sb.consume_budget(3000)
    client.teams.list()
    seen = store.db.execute("select rate_remaining from api_calls order by id desc").fetchone()[0]
    assert seen == sb.budget_remaining() < 5000 - 3000
    assert client.budget.remaining() == seen
    assert client.budget.available_for_background() == seen - 1000
    # A stale header no longer counts; the ledger alone decides.
    clock.advance(minutes=11)
    assert client.budget.remaining() == 4999


# --- the key never leaks --------------------------------------------------------------------


def test_the_key_never_appears_in_logs_or_errors(
    client: CoperniqClient, sb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        client.teams.list()
        sb.inject(
            path="/roles",
            status=401,
            body={"message": f"API key {SANDBOX_KEY} is not valid", "code": "UNAUTHORIZED"},
        )
        sb.inject(path="/users", status=500, body={"message": f"boom {SANDBOX_KEY}"})
        for call in (
            client.roles.list,
            client.interactive.users.list,
            lambda: client.projects.get(987654321),
        ):
            try:
                call()
            except CoperniqError as exc:
                errors.append(exc)
                logging.getLogger("bot.coperniq").exception("call failed")
    assert len(errors) == 3
    assert SANDBOX_KEY not in caplog.text
    for err in errors:
        for text in (str(err), repr(err), err.user_message, str(err.args)):
            assert SANDBOX_KEY not in text
    assert "***" in str(errors[0])
    assert SANDBOX_KEY not in repr(client) and SANDBOX_KEY not in repr(client.interactive)


def test_calls_are_logged_without_query_or_body(
    client: CoperniqClient, sb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The CLI quiets httpx to WARNING; an earlier test in this process may have run it.
    caplog.set_level(logging.DEBUG, logger="httpx")
    with caplog.at_level(logging.DEBUG):
        list(client.projects.list(primaryEmail="maria.garcia@example.com", page_size=5))
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.coperniq"]
    assert any("GET /projects -> 200" in line and " ms " in line for line in lines)
    # Not from us, and not from httpx's own INFO line with the URL either.
    assert "maria.garcia" not in caplog.text
    assert any(r.name == "httpx" for r in caplog.records)


def test_the_ledger_counts_calls_from_many_threads(client: CoperniqClient, store: Store) -> None:
    import threading

    def work() -> None:
        for _ in range(5):
            client.interactive.teams.list()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert client.budget.used() == 20


def test_a_per_second_rate_header_does_not_count_as_the_daily_budget(
    sb: Any, store: Store, sleeper: Sleeper, clock: Clock
) -> None:
    # A server whose X-RateLimit-Limit is 100 describes the 100/s window, not the day: its
    # Remaining must not make the bot think only ~99 calls are left today.
    from sandbox.coperniq import CoperniqSandbox

    with CoperniqSandbox(api_key=SANDBOX_KEY, projects=3, daily_budget=100) as small:
        c = CoperniqClient(SANDBOX_KEY, small.base_url, store=store, sleep=sleeper, clock=clock)
        c.teams.list()
        assert c.budget.remaining() == 4999
        c.close()
    # The shared sandbox (X-RateLimit-Limit 5000) is trusted, and lowers what is left.
    c = CoperniqClient(SANDBOX_KEY, sb.base_url, store=store, sleep=sleeper, clock=clock)
    sb.consume_budget(1000)
    c.teams.list()
    assert c.budget.remaining() <= 5000 - 1000 - 1
    c.close()


def test_an_oversized_upload_is_refused_before_sending(client: CoperniqClient, sb: Any) -> None:
    pid = a_project(sb)
    before = len(sb.requests)
    with pytest.raises(PayloadTooLarge) as info:
        client.files.upload("project", pid, b"0" * (10 * 1024 * 1024 + 1), "big.jpg", "image/jpeg")
    assert len(sb.requests) == before
    assert "smaller" in info.value.user_message


def test_the_server_refusing_a_large_body_is_payload_too_large(
    client: CoperniqClient, sb: Any
) -> None:
    pid = a_project(sb)
    sb.inject(
        path="/projects/*/files/upload",
        status=413,
        body={"message": "File too large", "code": "PAYLOAD_TOO_LARGE"},
    )
    with pytest.raises(PayloadTooLarge) as info:
        client.files.upload("project", pid, b"0" * 1000, "a.jpg", "image/jpeg")
    assert info.value.status == 413
    assert info.value.outcome_unknown is False


def test_retry_after_on_a_503_is_honoured_too(
    client: CoperniqClient, sb: Any, sleeper: Sleeper
) -> None:
    sb.inject(path="/teams", status=503, retry_after=12, times=1)
    client.teams.list()
    assert len(sleeper.calls) == 1 and sleeper.calls[0] >= 12.0


# --- metered views ----------------------------------------------------------------------------


def test_metered_views_count_their_own_calls_and_leave_the_shared_view_alone(
    client: CoperniqClient, sb: Any
) -> None:
    shared = client.background
    first, second = shared.metered(), shared.metered()
    pid = a_project(sb)
    first.projects.get(pid)
    first.forms.list_for_project(pid)
    second.projects.get(pid)
    sb.inject(path="/projects/*", method="GET", status=404, times=1)
    with pytest.raises(NotFound):
        second.projects.get(pid)
    assert (first.calls_made, second.calls_made) == (2, 2)
    assert shared.calls_made == 0
    assert client.background is shared and "request" not in vars(shared)
    assert first.purpose == shared.purpose and first.budget is shared.budget


def test_a_server_capping_page_size_below_100_still_gives_every_project(
    client: CoperniqClient, sb: Any
) -> None:
    sb.api.max_page_size = 20  # pages by 20 whatever page_size asks for
    want = sorted(p["id"] for p in sb.find("projects"))
    got = [p["id"] for p in client.projects.list()]
    assert sorted(got) == want and len(got) == len(set(got)) == 60
    assert len(to(sb, "/projects")) == 4  # 20 + 20 + 20 + the empty page that ends it
