"""Coperniq links unfurl into cards: link_shared in, chat.unfurl out, Coperniq read sparingly.

End to end: signed link_shared events to the app served against the fake Slack and the Coperniq
sandbox; Coperniq reads are counted on the sandbox, chat.unfurl calls on the fake Slack.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.ids import Action
from bot.unfurls import MAX_LINKS, UNFURL_TTL, next_work_order, parse_link, pick_links
from jobs.invoices.select import due_date
from jobs.sla.select import current_phase, sla_level
from jobs.subscriptions import INVOICES, subscribe
from sandbox.wiring import INVOICE_CHANNEL
from tests.slack.harness import APP_URL, CHANNEL, USER, SlackHarness

TS = "1764547200.000100"
DM = "D0USERDM"
TZ = ZoneInfo("America/Chicago")


# --- helpers ---------------------------------------------------------------------------------


def link_event(*urls: str, channel: str = CHANNEL, source: str = "conversations_history") -> dict:
    """A link_shared event as Slack sends it for a posted message (or a draft: source=composer)."""
    return {
        "type": "link_shared",
        "channel": "COMPOSER" if source == "composer" else channel,
        "is_bot_user_member": True,
        "user": USER,
        "message_ts": TS if source != "composer" else f"{USER}-draft",
        "unfurl_id": f"{channel}.{TS}.unfurl",
        "source": source,
        "links": [{"domain": "app.coperniq.io", "url": u} for u in urls],
    }


def post_links(slack: SlackHarness, *urls: str, event_id: str | None = None, **kw: Any) -> str:
    """Send the event and wait until the app has handled it (its event_id marked done)."""
    event_id = event_id or f"Ev{time.monotonic_ns()}"
    assert slack.event(link_event(*urls, **kw), event_id=event_id).status == 200
    slack.wait_until(lambda: event_status(slack, event_id) == "done")
    return event_id


def event_status(slack: SlackHarness, event_id: str) -> str | None:
    row = slack.store.db.execute(
        "select status from slack_events where event_id = ?", [event_id]
    ).fetchone()
    return row[0] if row else None


def reads(slack: SlackHarness) -> list[str]:
    """The Coperniq requests made since the last reset, as 'GET /path'."""
    return [f"{r.method} {r.path}" for r in slack.sandbox.requests]


def unfurls(slack: SlackHarness) -> list[dict[str, Any]]:
    """The `unfurls` argument of every chat.unfurl call so far."""
    out = []
    for args in slack.fake_slack.calls_to("chat.unfurl"):
        raw = args["unfurls"]
        out.append(json.loads(raw) if isinstance(raw, str) else raw)
    return out


def card_text(attachment: dict[str, Any]) -> str:
    texts = []
    for block in attachment["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    return "\n".join(texts)


def valid(attachment: dict[str, Any]) -> dict[str, Any]:
    """The attachment, after slack_sdk's Block Kit models accepted every block and the whole."""
    from slack_sdk.models.attachments import BlockAttachment
    from slack_sdk.models.blocks import Block

    for block in attachment["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    BlockAttachment(
        blocks=attachment["blocks"], color=attachment.get("color"), fallback=attachment["fallback"]
    ).validate_json()
    return attachment


def buttons(attachment: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in attachment["blocks"] if b["type"] == "actions" for e in b["elements"]]


def url(page: str, record_id: int) -> str:
    return f"{APP_URL}/{page}/{record_id}"


def red_project(slack: SlackHarness) -> dict[str, Any]:
    for p in slack.sandbox.all("projects"):
        if p.get("status") == "ACTIVE" and sla_level(current_phase(p)) == "red" and p.get("value"):
            return p
    pytest.skip("the seed has no red project")


def set_work_orders(slack: SlackHarness, project: dict[str, Any], *changes: dict) -> dict:
    """Replace the project's work orders in the sandbox with copies of a seeded one (returned)."""
    sb = slack.sandbox
    seeded = sb.all("work_orders")
    for wo in seeded:
        if (wo.get("project") or {}).get("id") == project["id"]:
            sb.delete("work_orders", wo["id"])
    template = seeded[0]
    for i, change in enumerate(changes):
        wo = copy.deepcopy(template)
        wo.update(id=990001 + i, uid=9001 + i, **change)
        wo["project"] = {
            "id": project["id"],
            "uid": project["number"],
            "title": project["title"],
            "address": project["address"],
            "stage": None,
        }
        sb.put("work_orders", wo)
    return template


def instant(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- each record kind, end to end ------------------------------------------------------------


def test_a_project_link_unfurls_with_phase_sla_next_work_order_and_buttons(
    slack: SlackHarness,
) -> None:
    project = red_project(slack)
    now = datetime.now(UTC)
    template = set_work_orders(
        slack,
        project,
        {"title": "Old visit", "startDate": instant(now - timedelta(days=3)), "isCompleted": True},
        {
            "title": "Later visit",
            "startDate": instant(now + timedelta(days=5)),
            "isCompleted": False,
        },
        {
            "title": "Next visit",
            "startDate": instant(now + timedelta(days=1)),
            "isCompleted": False,
        },
    )
    link = url("project", project["id"]) + "/?tab=overview#top"
    slack.sandbox.reset_requests()

    post_links(slack, link)

    (answer,) = slack.fake_slack.calls_to("chat.unfurl")
    assert answer["channel"] == CHANNEL and answer["ts"] == TS
    card = valid(unfurls(slack)[0][link])  # keyed by the URL exactly as posted
    text = card_text(card)
    phase = project["phase"]
    assert project["title"] in text and f"Project #{project['number']}" in text
    assert "Active" in text
    assert f"🔴 *{phase['name']}*: {phase['timeInStageDays']} days in phase" in text
    assert f"(red SLA {phase['redSla']} d)" in text
    assert card["color"] == "#e01e5a"
    assert "Next work order: *Next visit*" in text
    assignee = template["assignee"]
    assert f"{assignee['firstName']} {assignee['lastName']}" in text
    assert "Later visit" not in text and "Old visit" not in text
    assert "$" not in text  # a plain channel: no project value
    by_action = {b["action_id"]: b for b in buttons(card)}
    assert by_action[Action.OPEN_CALL_MODAL]["value"] == f"project:{project['id']}"
    assert by_action[Action.OPEN_PHOTO_MODAL]["value"] == f"project:{project['id']}"
    assert by_action[Action.OPEN_IN_COPERNIQ]["url"] == url("project", project["id"])
    # One read of the record, one of its work orders (the local copy had none).
    assert reads(slack) == [
        f"GET /projects/{project['id']}",
        f"GET /projects/{project['id']}/work-orders",
    ]


def test_the_local_work_order_copy_saves_the_work_order_read(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[1]
    start = datetime.now(UTC) + timedelta(hours=20)
    slack.store.db["work_orders"].insert(
        {
            "id": 777001,
            "parent_type": "project",
            "parent_id": project["id"],
            "project_id": project["id"],
            "title": "HVAC Service Call",
            "status": "SCHEDULED",
            "status_label": "Scheduled",
            "assignee_id": 1005,
            "start_date": instant(start),
            "end_date": None,
            "is_completed": 0,
            "updated_at": instant(start),
            "seen_at": instant(start),
            "raw": json.dumps({"assignee": {"id": 1005, "firstName": "Ana", "lastName": "Lee"}}),
        }
    )
    slack.sandbox.reset_requests()
    post_links(slack, url("project", project["id"]))
    text = card_text(unfurls(slack)[0][url("project", project["id"])])
    assert "Next work order: *HVAC Service Call*" in text
    assert "Ana Lee" in text and "Scheduled" in text
    assert f"<!date^{int(start.timestamp())}^" in text
    assert reads(slack) == [f"GET /projects/{project['id']}"]


def test_a_request_and_a_client_link_unfurl_without_photo_buttons(slack: SlackHarness) -> None:
    request = slack.sandbox.all("opportunities")[0]
    client = slack.sandbox.all("accounts")[0]
    links = [url("request", request["id"]), url("client", client["id"])]
    slack.sandbox.reset_requests()
    post_links(slack, *links)
    (answer,) = unfurls(slack)
    req_card, client_card = valid(answer[links[0]]), valid(answer[links[1]])
    req_text = card_text(req_card)
    assert request["title"] in req_text and f"Request #{request['number']}" in req_text
    assert request["phase"]["name"] in req_text
    assert "$" not in req_text  # the deal value is money
    client_text = card_text(client_card)
    assert client["title"] in client_text and f"Client #{client['number']}" in client_text
    assert "Residential" in client_text or client.get("accountType") != "RESIDENTIAL"
    for card, kind, rid in (
        (req_card, "opportunity", request["id"]),
        (client_card, "account", client["id"]),
    ):
        actions = [b["action_id"] for b in buttons(card)]
        assert actions == [Action.OPEN_CALL_MODAL, Action.OPEN_IN_COPERNIQ]
        assert buttons(card)[0]["value"] == f"{kind}:{rid}"
    assert sorted(reads(slack)) == sorted(
        [
            f"GET /opportunities/{request['id']}",
            f"GET /opportunities/{request['id']}/work-orders",
            f"GET /accounts/{client['id']}",
            f"GET /accounts/{client['id']}/work-orders",
        ]
    )


def test_an_invoice_link_in_a_channel_shows_no_amounts(slack: SlackHarness) -> None:
    invoice = slack.sandbox.all("invoices")[0]
    link = url("invoice", invoice["id"])
    slack.sandbox.reset_requests()
    post_links(slack, link)
    card = valid(unfurls(slack)[0][link])
    text = card_text(card)
    assert f"Invoice #{invoice['uid']}" in text
    assert invoice["account"]["title"] in text
    assert invoice["status"].capitalize() in text
    due = due_date(invoice["dueDate"], slack.settings.timezone)
    assert due is not None
    assert f"Due {due:%b} {due.day}, {due.year}" in text
    assert invoice["record"]["title"] in text
    assert "$" not in text
    assert "Amounts are shown in DMs" in text
    assert buttons(card)[0]["value"] == f"project:{invoice['record']['id']}"
    assert reads(slack) == [f"GET /invoices/{invoice['id']}"]


# --- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["dm", "env_channel", "subscribed_channel"])
def test_amounts_show_in_a_dm_or_a_channel_subscribed_to_invoices(
    slack: SlackHarness, where: str
) -> None:
    invoice = slack.sandbox.all("invoices")[0]
    project = red_project(slack)
    channel = {"dm": DM, "env_channel": INVOICE_CHANNEL, "subscribed_channel": "C0BILLING"}[where]
    if where == "subscribed_channel":
        subscribe(slack.store.db, channel, INVOICES, {}, by=USER, now=datetime.now(UTC))
    links = [url("invoice", invoice["id"]), url("project", project["id"])]
    post_links(slack, *links, channel=channel)
    answer = unfurls(slack)[0]
    balance = invoice["amount"] - invoice["amountPaid"]
    invoice_text = card_text(answer[links[0]])
    assert f"Amount ${invoice['amount']:,.2f}" in invoice_text
    assert f"balance *${balance:,.2f}*" in invoice_text
    assert "Amounts are shown" not in invoice_text
    assert f"Value: ${project['value']:,.2f}" in card_text(answer[links[1]])


def test_a_channel_subscribed_to_sla_alerts_only_gets_no_amounts(slack: SlackHarness) -> None:
    invoice = slack.sandbox.all("invoices")[0]
    subscribe(slack.store.db, "C0OPS", "form-sla", {}, by=USER, now=datetime.now(UTC))
    post_links(slack, url("invoice", invoice["id"]), channel="C0OPS")
    assert "$" not in card_text(unfurls(slack)[0][url("invoice", invoice["id"])])


def test_a_draft_in_the_composer_unfurls_by_unfurl_id_without_amounts(slack: SlackHarness) -> None:
    invoice = slack.sandbox.all("invoices")[0]
    post_links(slack, url("invoice", invoice["id"]), channel=DM, source="composer")
    (answer,) = slack.fake_slack.calls_to("chat.unfurl")
    assert answer["source"] == "composer" and answer["unfurl_id"] == f"{DM}.{TS}.unfurl"
    assert "channel" not in answer
    assert "$" not in card_text(unfurls(slack)[0][url("invoice", invoice["id"])])


# --- cost ------------------------------------------------------------------------------------


def test_a_second_message_within_the_ttl_reads_nothing_and_after_it_reads_again(
    slack: SlackHarness,
) -> None:
    project = slack.sandbox.all("projects")[2]
    link = url("project", project["id"])
    slack.sandbox.reset_requests()
    post_links(slack, link)
    first = len(reads(slack))
    assert first == 2  # the record and its work orders
    post_links(slack, link + "/")  # another message, the same record
    assert len(reads(slack)) == first
    assert len(unfurls(slack)) == 2
    # The cached row ages past the TTL: the next message reads again (once).
    stale = datetime.now(UTC) - UNFURL_TTL - timedelta(seconds=5)
    slack.store.db.execute(
        "update unfurl_cache set fetched_at = ? where key = ?",
        [stale.isoformat(), f"project:{project['id']}"],
    )
    post_links(slack, link)
    assert len(reads(slack)) == first + 2
    assert len(unfurls(slack)) == 3


def test_only_the_first_three_coperniq_links_of_a_message_unfurl(slack: SlackHarness) -> None:
    projects = slack.sandbox.all("projects")[:5]
    links = [url("project", p["id"]) for p in projects]
    posted = ["https://example.com/a", links[0], links[0], *links[1:]]
    slack.sandbox.reset_requests()
    post_links(slack, *posted)
    (answer,) = unfurls(slack)
    assert list(answer) == links[:MAX_LINKS]
    read_ids = {r.split("/")[2] for r in reads(slack)}
    assert read_ids == {str(p["id"]) for p in projects[:MAX_LINKS]}


def test_foreign_links_are_not_unfurled_and_cost_nothing(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[0]
    slack.sandbox.reset_requests()
    post_links(
        slack,
        f"https://app.coperniq.io/999/project/{project['id']}",  # another company
        f"https://evil.example.com/388/project/{project['id']}",  # another host
        f"{APP_URL}/project/{project['id']}/files",  # not a record page the bot links to
        f"{APP_URL}/projects/{project['id']}",
        f"{APP_URL}/project/abc",
    )
    assert slack.fake_slack.calls_to("chat.unfurl") == []
    assert reads(slack) == []


def test_a_missing_record_gets_no_unfurl_and_is_not_read_again_within_the_ttl(
    slack: SlackHarness,
) -> None:
    link = url("project", 4999999)
    slack.sandbox.reset_requests()
    post_links(slack, link)
    post_links(slack, link)
    assert slack.fake_slack.calls_to("chat.unfurl") == []
    assert reads(slack) == ["GET /projects/4999999"]
    row = slack.store.db.execute(
        "select body from unfurl_cache where key = 'project:4999999'"
    ).fetchone()
    assert row == ("null",)


def test_a_failed_read_is_not_cached_and_the_other_links_still_unfurl(slack: SlackHarness) -> None:
    a, b = slack.sandbox.all("projects")[3:5]
    slack.sandbox.inject(f"/projects/{a['id']}", status=500, times=5)
    post_links(slack, url("project", a["id"]), url("project", b["id"]))
    (answer,) = unfurls(slack)
    assert list(answer) == [url("project", b["id"])]
    assert (
        slack.store.db.execute(
            "select count(*) from unfurl_cache where key = ?", [f"project:{a['id']}"]
        ).fetchone()[0]
        == 0
    )


def test_a_slack_retry_neither_reads_again_nor_unfurls_twice(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[5]
    link = url("project", project["id"])
    slack.sandbox.reset_requests()
    slack.sandbox.latency = 0.3  # the retry arrives while the first delivery is still reading
    event = link_event(link)
    assert slack.event(event, event_id="EvRETRY1").status == 200
    assert slack.event(event, event_id="EvRETRY1", retry_num=1).status == 200
    slack.wait_until(lambda: event_status(slack, "EvRETRY1") == "done")
    assert slack.event(event, event_id="EvRETRY1", retry_num=2).status == 200
    time.sleep(0.5)
    assert len(slack.fake_slack.calls_to("chat.unfurl")) == 1
    assert reads(slack) == [
        f"GET /projects/{project['id']}",
        f"GET /projects/{project['id']}/work-orders",
    ]


def test_two_messages_with_the_same_link_at_once_read_it_once(slack: SlackHarness) -> None:
    project = slack.sandbox.all("projects")[6]
    link = url("project", project["id"])
    slack.sandbox.reset_requests()
    slack.sandbox.latency = 0.2
    for n in range(3):
        assert slack.event(link_event(link), event_id=f"EvSAME{n}").status == 200
    slack.wait_until(lambda: all(event_status(slack, f"EvSAME{n}") == "done" for n in range(3)))
    assert len(slack.fake_slack.calls_to("chat.unfurl")) == 3
    assert reads(slack).count(f"GET /projects/{project['id']}") == 1


# --- the buttons work from an unfurl ---------------------------------------------------------


def unfurl_click(
    slack: SlackHarness, button: dict[str, Any], link: str, channel: str | None = CHANNEL
) -> Any:
    """A click on a button of an app unfurl, as Slack sends it: the container is the message
    attachment, there is no `message`, and the unfurl itself comes as `app_unfurl`."""
    action = {k: v for k, v in button.items() if k in ("action_id", "value", "url")}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER, "username": "dispatcher", "name": "dispatcher", "team_id": "T0TEST"},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "team": {"id": "T0TEST", "domain": "test"},
        "trigger_id": slack.fake_slack.new_trigger_id(),
        "container": {
            "type": "message_attachment",
            "message_ts": TS,
            "attachment_id": 1,
            "is_ephemeral": False,
            "is_app_unfurl": True,
            "app_unfurl_url": link,
        },
        "is_app_unfurl": True,
        "app_unfurl": {"id": 1, "app_unfurl_url": link, "blocks": []},
        "actions": [{**action, "type": "button", "block_id": "b", "action_ts": f"{time.time()}"}],
    }
    if channel:
        payload["container"]["channel_id"] = channel
        payload["channel"] = {"id": channel, "name": "general"}
    return slack.interactive(payload)


@pytest.mark.parametrize("channel", [CHANNEL, None])
def test_the_unfurl_buttons_open_the_call_and_photo_modals(
    slack: SlackHarness, channel: str | None
) -> None:
    project = slack.sandbox.all("projects")[0]
    link = url("project", project["id"])
    post_links(slack, link)
    card = unfurls(slack)[0][link]
    by_action = {b["action_id"]: b for b in buttons(card)}

    assert unfurl_click(slack, by_action[Action.OPEN_CALL_MODAL], link, channel).status == 200
    (opened,) = slack.wait_for("views.open")
    view = json.loads(opened["view"]) if isinstance(opened["view"], str) else opened["view"]
    meta = json.loads(view["private_metadata"])
    assert meta.get("c") == channel and meta["u"] == USER
    # The record is looked up after the modal opened, and prefilled.
    slack.wait_for("views.update")

    assert unfurl_click(slack, by_action[Action.OPEN_PHOTO_MODAL], link, channel).status == 200
    slack.wait_for("views.open", count=2)

    assert unfurl_click(slack, by_action[Action.OPEN_IN_COPERNIQ], link, channel).status == 200


# --- the pure parts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://app.coperniq.io/388/project/40001", ("project", 40001)),
        ("https://app.coperniq.io/388/project/40001/", ("project", 40001)),
        ("https://app.coperniq.io/388/request/60001?tab=files", ("opportunity", 60001)),
        ("https://APP.coperniq.io/388/client/20001#notes", ("account", 20001)),
        ("http://app.coperniq.io/388/invoice/300001", ("invoice", 300001)),
        ("https://app.coperniq.io/388//project//40001", ("project", 40001)),
        ("https://app.coperniq.io/3880/project/40001", None),
        ("https://app.coperniq.io/project/40001", None),
        ("https://app.coperniq.io.evil.com/388/project/40001", None),
        ("https://user@app.coperniq.io/388/project/40001", None),
        ("https://app.coperniq.io:8443/388/project/40001", None),
        ("https://app.coperniq.io/388/project/0", None),
        ("https://app.coperniq.io/388/project/40001/edit", None),
        ("https://app.coperniq.io/388/workorder/1", None),
        ("ftp://app.coperniq.io/388/project/40001", None),
        ("not a url", None),
    ],
)
def test_links_are_parsed_as_the_bot_builds_them(link: str, expected: tuple | None) -> None:
    ref = parse_link(link, "https://app.coperniq.io/388")
    assert (None if ref is None else (ref.kind, ref.id)) == expected


def test_an_app_url_without_a_company_id_takes_any_record_path_on_its_host() -> None:
    ref = parse_link("https://app.coperniq.io/project/7", "https://app.coperniq.io")
    assert ref is not None and ref.key == "project:7"
    assert parse_link("https://app.coperniq.io/388/project/7", "https://app.coperniq.io") is None


def test_pick_links_keeps_the_first_three_distinct_and_names_the_rest() -> None:
    base = "https://app.coperniq.io/388"
    urls = [f"{base}/project/{n}" for n in (1, 1, 2, 3, 4, 5)]
    chosen, left = pick_links(urls, base)
    assert [r.id for r in chosen] == [1, 2, 3]
    assert [r.id for r in left] == [4, 5]


def test_the_next_work_order_is_the_first_open_one_from_today() -> None:
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 10:00 in Chicago

    def wo(n: int, start: str | None, done: bool = False) -> dict[str, Any]:
        return {"id": n, "title": f"wo{n}", "start": start, "done": done}

    early_today = wo(1, "2026-03-10T13:00:00Z")  # 08:00 local, already begun today
    tomorrow = wo(2, "2026-03-11T14:00:00Z")
    done = wo(3, "2026-03-10T16:00:00Z", done=True)
    last_week = wo(4, "2026-03-03T14:00:00Z")
    undated = wo(5, None)
    assert next_work_order([tomorrow, done, early_today, last_week], now, TZ) == early_today
    assert next_work_order([tomorrow, last_week, undated], now, TZ) == tomorrow
    # Nothing ahead: the open one that started most recently, then one with no date.
    assert (
        next_work_order([last_week, wo(6, "2026-03-01T14:00:00Z"), undated], now, TZ) == last_week
    )
    assert next_work_order([undated, done], now, TZ) == undated
    assert next_work_order([done], now, TZ) is None
    # At 23:30 local on the 10th, a work order at 08:00 that day still counts as today's.
    late = datetime(2026, 3, 11, 4, 30, tzinfo=UTC)  # CDT, UTC-5
    assert next_work_order([early_today, tomorrow], late, TZ) == early_today


def test_an_invoice_is_past_due_only_while_open_with_something_owed() -> None:
    from bot.blocks.unfurl import invoice_attachment

    facts = {
        "id": 1,
        "number": 1001,
        "status": "SENT",
        "due_date": "2026-03-02",
        "client": "Rosa Rivera",
        "amount": 100.0,
        "amount_paid": 40.0,
    }
    today = datetime(2026, 3, 10).date()

    def text(**change: Any) -> str:
        card = invoice_attachment(
            {**facts, **change}, url="u", app_url=APP_URL, money=False, today=today, tz=TZ
        )
        return card_text(card)

    assert "Due Mar 2, 2026 (8 days past due)" in text()
    assert "past due" not in text(status="PAID")
    assert "past due" not in text(amount_paid=100.0)
    assert "past due" not in text(due_date="2026-03-10")


def test_unfurls_leave_the_reserve_of_the_daily_budget_to_people(
    fake_slack: Any, coperniq_sandbox: Any, tmp_path: Any
) -> None:
    from bot.store import record_api_call
    from tests.slack.harness import running_harness

    # A budget of 10 keeps 2 for people: with 8 spent, background work (unfurls) gets nothing.
    with running_harness(fake_slack, coperniq_sandbox, tmp_path, coperniq_daily_budget=10) as slack:
        now = datetime.now(UTC)
        for _ in range(8):
            record_api_call(
                slack.store.db,
                at=now,
                method="GET",
                path="/projects",
                status=200,
                purpose="background",
                rate_remaining=None,
            )
        project = slack.sandbox.all("projects")[0]
        slack.sandbox.reset_requests()
        post_links(slack, url("project", project["id"]))
        assert reads(slack) == []
        assert slack.fake_slack.calls_to("chat.unfurl") == []
        # Nothing was cached: once the budget allows, the next message reads it.
        assert slack.store.db.execute("select count(*) from unfurl_cache").fetchone() == (0,)
