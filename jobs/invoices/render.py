"""The overdue-invoices digest as message models, Block Kit and readable text (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.ids import Action
from bot.records import record_url
from jobs import blocks
from jobs.blocks import money, mrkdwn_escape
from jobs.digest import csv_money, csv_text
from jobs.invoices import JOB_ID
from jobs.invoices.select import BUCKET_LABEL, OverdueInvoice, aging

MAIN_ITEMS = 15  # largest balances shown in the main message; the rest go to the thread
CSV_COLUMNS = (
    "Invoice",
    "Client",
    "Project",
    "Balance",
    "Days overdue",
    "Bucket",
    "Due date",
    "Coperniq link",
)
SNOOZE_CHOICES = [("1 day", "1d"), ("3 days", "3d"), ("7 days", "7d")]


def view(inv: OverdueInvoice, app_url: str) -> dict[str, Any]:
    """How a message lists one invoice (and what its alert row remembers of it)."""
    d = asdict(inv)
    d["due"] = inv.due.isoformat()
    d["key"] = inv.key
    # The web app shows an invoice on its project (else its client): it has no invoice page.
    if inv.record_id:
        d["url"] = record_url(app_url, "project", inv.record_id)
    elif inv.account_id:
        d["url"] = record_url(app_url, "account", inv.account_id)
    else:
        d["url"] = app_url
    return d


def build_models(
    overdue: list[OverdueInvoice],
    announce: set[str],
    now: datetime,
    tz: ZoneInfo,
    app_url: str,
    notes: list[str] | None = None,
    main_items: int = MAIN_ITEMS,
) -> list[dict[str, Any]]:
    """The digest as message models: the main message, then thread replies for what does not fit."""
    listed = [view(i, app_url) for i in overdue if i.key in announce]
    main = {
        "as_of": now.astimezone(tz).date().isoformat(),
        "tz": str(tz),
        "count": len(overdue),
        "total": round(sum(i.balance for i in overdue), 2),
        "buckets": aging(overdue),
    }
    return blocks.split_models(
        JOB_ID,
        main,
        listed,
        notes,
        main_items,
        csv_name=f"overdue-invoices-{main['as_of']}.csv",
        csv_title=f"Overdue invoices · {_day(main['as_of'])} · full list",
    )


def _day(iso_date: str) -> str:
    d = date.fromisoformat(iso_date)
    return f"{d:%a} {d.day} {d:%b %Y}"


def _line(item: dict[str, Any], state: str | None, *, link: bool = True) -> str:
    who = mrkdwn_escape(item["client"])
    head = f"#{item['uid']} · {who}"
    body = (
        f"{money(item['balance'])} · {item['days']} day{'s' if item['days'] != 1 else ''} overdue "
        f"({BUCKET_LABEL[item['bucket']]}) · due {item['due']}"
    )
    url = f" · <{item['url']}|Open in Coperniq>" if link else ""
    if state == "resolved":
        return f"✅ ~{head} · {money(item['balance'])}~ resolved (paid or no longer overdue)"
    if state == "moved":
        return f"↪ ~{head} · {money(item['balance'])}~ listed again in a later digest"
    return f"*{head}* · {body}{url}"


def actions(item: Mapping[str, Any], acts: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """An invoice's buttons: Record payment, Log collection call, Snooze…, Open."""
    if any(act.get("act") == "snooze" for act in acts):
        return [blocks.open_button(item["url"])]
    row = [blocks.button("Record payment", Action.ALERT_PAY, item["key"], style="primary")]
    if item.get("account_id") is not None or item.get("record_id") is not None:
        row.append(blocks.button("Log collection call", Action.ALERT_CALL, item["key"]))
    return [*row, blocks.snooze_menu(SNOOZE_CHOICES), blocks.open_button(item["url"])]


def render(model: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Block Kit blocks and the plain-text fallback for one message model (never over 50 blocks)."""
    if model["kind"] != "main":
        title = f"Overdue invoices, full list (part {model['part']} of {model['parts']})"
        return blocks.thread_message(model, title, _line, actions)
    earlier = model["count"] - model["listed"]
    intro = (
        f"Largest balances among {model['listed']} invoice(s) newly overdue, "
        f"moved to an older bucket or due a reminder"
        + (f"; {earlier} other(s) were listed in earlier digests." if earlier > 0 else ".")
    )
    summary = [
        blocks.section(f"*{money(model['total'])}* overdue across *{model['count']}* invoice(s)"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{b['label']}*\n{b['count']} · {money(b['sum'])}"}
                for b in model["buckets"]
            ],
        },
        blocks.divider(),
        blocks.context(intro),
    ]
    return blocks.main_message(
        model,
        text=(
            f"Overdue invoices: {money(model['total'])} across {model['count']} invoice(s) "
            f"as of {_day(model['as_of'])}"
        ),
        title=f"Overdue invoices · {_day(model['as_of'])}",
        summary=summary,
        line=_line,
        noun="invoices",
        actions=actions,
    )


def to_text(models: list[dict[str, Any]]) -> str:
    """The whole digest as readable plain text (for --dry-run and the demo)."""
    main = models[0]
    head = [
        f"Overdue invoices · {_day(main['as_of'])} ({main['tz']})",
        f"{money(main['total'])} overdue across {main['count']} invoice(s)",
        "Aging: "
        + "; ".join(f"{b['label']}: {b['count']} · {money(b['sum'])}" for b in main["buckets"]),
        f"Listed now: {main['listed']} (newly overdue, moved to an older bucket or due a reminder)",
    ]

    def item_text(item: dict[str, Any]) -> str:
        return (
            f"  #{item['uid']}  {item['client']}  {money(item['balance'])}  "
            f"{item['days']} d overdue "
            f"({BUCKET_LABEL[item['bucket']]})  {item['url']}"
        )

    return blocks.digest_text(models, head, item_text)


def to_csv(items: list[dict[str, Any]]) -> str:
    """The digest's invoices as CSV, one row each in digest order (largest balance first)."""
    return csv_text(
        CSV_COLUMNS,
        (
            [
                item["uid"],
                item["client"],
                item["project"],
                csv_money(item["balance"]),
                item["days"],
                BUCKET_LABEL[item["bucket"]],
                item["due"],
                item["url"],
            ]
            for item in items
        ),
    )
