"""The App Home tab (pure): my forms, unassigned forms past SLA, my notifications, and for Slack
workspace admins the subscriptions, the jobs and the Coperniq budget.

Every text is cut to Slack's limits and the whole view stays within MAX_BLOCKS whatever the data:
long lists show their most urgent entries and say how many more there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    OPTION_TEXT_MAX,
    context,
    link_button,
    mrkdwn,
    option,
    plain,
    section,
    slack_text,
    truncate,
)
from bot.ids import Action

MAX_BLOCKS = 100  # Slack's limit for a Home view
MY_FORMS_SHOWN = 25
UNASSIGNED_SHOWN = 10
SUBSCRIPTIONS_SHOWN = 25  # per job, lines in one section
CLIENT_OPTIONS_MAX = 100  # a static select's limit; more clients use an external select
ICON = {"red": "🔴", "yellow": "🟡", None: "🟢"}

# Block ids (unique within the view; the clicked item's key rides in the block id or value).
FORM_BLOCK = "home-form:"
TAKE_BLOCK = "home-take:"
NOTIFY_BLOCK = "home-notify"
CLIENTS_BLOCK = "home-clients"
REFRESH_BLOCK = "home-refresh"

# The notification toggles: checkbox value -> notify_prefs column.
FORMS, MORNING, INVOICES = "forms", "morning", "invoices"


@dataclass(frozen=True)
class FormLine:
    """One form on the Home: mine, or unassigned and past SLA (then `key` is its alert item)."""

    key: str
    project_id: int
    project_number: str
    project_title: str
    phase: str
    level: str | None  # red | yellow | None (on time)
    days: int | None
    yellow_sla: int | None
    red_sla: int | None
    form_name: str
    status: str
    url: str


@dataclass(frozen=True)
class Prefs:
    """A person's notification settings (notify_prefs)."""

    forms: bool = False
    morning: bool = False
    invoices: bool = False
    clients: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobLine:
    """One scheduled job for admins: its last run and what it did, its next run or why off."""

    id: str
    title: str
    last_at: datetime | None
    summary: str | None
    next_at: datetime | None
    off: str | None = None


@dataclass(frozen=True)
class SubscriptionLine:
    channel: str
    kind: str  # sla | invoices
    describe: str
    source: str  # env | slack


@dataclass(frozen=True)
class AdminPart:
    subscriptions: list[SubscriptionLine]
    jobs: list[JobLine]
    used: int
    background_left: int
    reserve: int
    daily_budget: int


@dataclass(frozen=True)
class HomeData:
    """Everything the Home shows, read from the store (no Coperniq call)."""

    command: str
    tz: ZoneInfo
    person_name: str | None  # the linked Coperniq user; None: not linked
    unlinked: str | None  # why not, and how to get linked (safe mrkdwn)
    my_forms: list[FormLine] = field(default_factory=list)  # most urgent first
    unassigned: list[FormLine] = field(default_factory=list)  # most urgent first
    prefs: Prefs | None = None  # None: not linked, no toggles
    billing: bool = False  # may record payments: the invoices toggle and clients
    clients: list[str] | None = None  # static options; None: too many, an external select
    morning_at: str = ""  # "07:00, Monday to Friday"
    quiet: tuple[int, int] = (19, 7)
    admin: AdminPart | None = None
    notice: str | None = None  # the answer to the person's last click (safe mrkdwn)


def _when(at: datetime, tz: ZoneInfo) -> str:
    """A time in each reader's own zone; the fallback in the bot's."""
    local = at.astimezone(tz)
    fallback = f"{local:%a} {local.day} {local:%b} {local:%H:%M} {local.tzname()}"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def sla_text(line: FormLine) -> str:
    """ "🔴 16 days in phase (red SLA 14 d)"; yellow also names the red SLA."""
    days = "" if line.days is None else f"{line.days} day{'s' if line.days != 1 else ''} in phase"
    if line.level == "red":
        sla = f"red SLA {line.red_sla} d"
    elif line.level == "yellow":
        red = f", red {line.red_sla} d" if line.red_sla else ""
        sla = f"yellow SLA {line.yellow_sla} d{red}"
    else:
        sla = f"on time, yellow SLA {line.yellow_sla} d" if line.yellow_sla else "on time"
    return f"{ICON.get(line.level, '🟢')} {days} ({sla})" if days else f"{ICON[None]} {sla}"


def _form_text(line: FormLine, *, with_link: bool = False) -> str:
    project = f"*#{slack_text(line.project_number, 20)} {slack_text(line.project_title, 80)}*"
    link = f" · <{line.url}|Open>" if with_link else ""
    return (
        f"{project} · {slack_text(line.phase, 60)}\n{sla_text(line)}\n"
        f"form *{slack_text(line.form_name, 80)}* · {slack_text(line.status, 30)}{link}"
    )


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, 150)}


def _divider() -> dict[str, Any]:
    return {"type": "divider"}


def _my_forms(data: HomeData) -> list[dict[str, Any]]:
    out = [_header("My forms")]
    if data.person_name is None:
        out.append(context("Forms assigned to you show here once you are linked (see below)."))
        return out
    shown = data.my_forms[:MY_FORMS_SHOWN]
    if not shown:
        out.append(
            section(
                "No form assigned to you is holding up a project past its SLA. 🎉\n"
                "_Forms are listed from projects at or past their yellow SLA, as of the last "
                "SLA check._"
            )
        )
    for line in shown:
        block = section(_form_text(line))
        block["block_id"] = f"{FORM_BLOCK}{line.key}"
        block["accessory"] = link_button("Open", line.url)
        out.append(block)
    more = len(data.my_forms) - len(shown)
    if more > 0:
        out.append(context(f"…and {more} more, less urgent; all are in Coperniq."))
    if shown:
        out.append(
            context(
                "Listed from projects at or past their yellow SLA, as of the last SLA check. "
                "*Refresh* re-reads the forms of your three most urgent projects from Coperniq."
            )
        )
        out.append(
            {
                "type": "actions",
                "block_id": REFRESH_BLOCK,
                "elements": [
                    {
                        "type": "button",
                        "text": plain("Refresh", 75),
                        "action_id": Action.HOME_REFRESH.value,
                        "value": "refresh",
                    }
                ],
            }
        )
    return out


def _unassigned(data: HomeData) -> list[dict[str, Any]]:
    if not data.unassigned:
        return []
    out = [_divider(), _header("Unassigned forms past SLA")]
    shown = data.unassigned[:UNASSIGNED_SHOWN]
    for line in shown:
        block = section(_form_text(line, with_link=True))
        block["block_id"] = f"{TAKE_BLOCK}{line.key}"
        block["accessory"] = {
            "type": "button",
            "text": plain("Take it", 75),
            "action_id": Action.HOME_TAKE.value,
            "value": line.key,
            "style": "primary",
        }
        out.append(block)
    more = len(data.unassigned) - len(shown)
    if more > 0:
        out.append(context(f"…and {more} more in the SLA alert channels."))
    return out


def morning_words(cron: str) -> str:
    """A crontab's time of day and days, for people: '07:00, Monday to Friday'."""
    days = {
        "*": "every day",
        "1-5": "Monday to Friday",
        "mon-fri": "Monday to Friday",
        "0-6": "every day",
        "1-7": "every day",
        "0,6": "Saturday and Sunday",
    }
    fields = cron.split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return f"`{slack_text(cron, 40)}`"
    when = f"{int(fields[1]):02d}:{int(fields[0]):02d}"
    if fields[2] != "*" or fields[3] != "*":
        return f"{when} (`{slack_text(cron, 40)}`)"
    dow = days.get(fields[4].lower())
    return f"{when}, {dow}" if dow else f"{when} (`{slack_text(cron, 40)}`)"


def quiet_words(quiet: tuple[int, int]) -> str:
    start, end = quiet
    if start == end:
        return "No quiet hours: direct messages go out when they happen."
    return (
        f"Quiet hours {start:02d}:00–{end:02d}:00: direct messages due then wait until "
        f"{end:02d}:00."
    )


def _checkbox(value: str, text: str) -> dict[str, Any]:
    return {"text": mrkdwn(text), "value": value}


def _notifications(data: HomeData) -> list[dict[str, Any]]:
    out = [_divider(), _header("My notifications")]
    if data.prefs is None:
        out.append(section(data.unlinked or "You are not linked to a Coperniq user."))
        return out
    boxes = [
        _checkbox(FORMS, "DM me when a form assigned to me passes its yellow or red SLA"),
        _checkbox(MORNING, f"Morning summary at {data.morning_at}"),
    ]
    if data.billing:
        boxes.append(_checkbox(INVOICES, "My clients' overdue invoices in the morning summary"))
    on = {FORMS: data.prefs.forms, MORNING: data.prefs.morning, INVOICES: data.prefs.invoices}
    element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": Action.HOME_NOTIFY.value,
        "options": boxes,
    }
    chosen = [b for b in boxes if on[b["value"]]]
    if chosen:
        element["initial_options"] = chosen
    out.append({"type": "actions", "block_id": NOTIFY_BLOCK, "elements": [element]})
    if data.billing:
        out += _clients(data)
    out.append(context(quiet_words(data.quiet)))
    return out


def client_option(title: str) -> dict[str, Any] | None:
    """A client as a select option (its title is the value); None if too long to be one."""
    try:
        return option(truncate(title, OPTION_TEXT_MAX), title)
    except ValueError:
        return None


def _clients(data: HomeData) -> list[dict[str, Any]]:
    assert data.prefs is not None
    element: dict[str, Any] = {
        "action_id": Action.HOME_CLIENTS.value,
        "placeholder": plain("All my clients", 150),
    }
    picked = [o for o in map(client_option, data.prefs.clients) if o is not None]
    if data.clients is not None:
        options = [o for o in map(client_option, data.clients) if o is not None]
        values = {o["value"] for o in options}
        # Slack refuses a static select whose initial options are not among its options.
        picked = [o for o in picked if o["value"] in values]
        if not options:
            return [context("No client has an invoice in the bot's copy yet.")]
        element.update(type="multi_static_select", options=options[:CLIENT_OPTIONS_MAX])
    else:
        element.update(type="multi_external_select", min_query_length=0)
    if picked:
        element["initial_options"] = picked[:CLIENT_OPTIONS_MAX]
    return [
        section("*Clients in my summary* (none chosen: every client)"),
        {"type": "actions", "block_id": CLIENTS_BLOCK, "elements": [element]},
    ]


def _admin(data: HomeData) -> list[dict[str, Any]]:
    admin = data.admin
    if admin is None:
        return []
    out = [_divider(), _header("For admins")]
    by_kind: dict[str, list[SubscriptionLine]] = {}
    for sub in admin.subscriptions:
        by_kind.setdefault(sub.kind, []).append(sub)
    if not by_kind:
        out.append(
            section(
                "*Subscriptions*: no channel gets alerts. In a channel: "
                f"`{data.command} subscribe sla` or `{data.command} subscribe invoices`."
            )
        )
    for kind, title in (("sla", "SLA alerts"), ("invoices", "Overdue invoices")):
        subs = by_kind.get(kind)
        if not subs:
            continue
        lines = [
            f"• <#{s.channel}>: {slack_text(s.describe, 300)}"
            + (" _(from the environment)_" if s.source == "env" else "")
            for s in subs[:SUBSCRIPTIONS_SHOWN]
        ]
        if len(subs) > SUBSCRIPTIONS_SHOWN:
            lines.append(f"…and {len(subs) - SUBSCRIPTIONS_SHOWN} more channels")
        out.append(section(f"*{title}* go to\n" + "\n".join(lines)))
    for job in admin.jobs:
        last = (
            f"last run {_when(job.last_at, data.tz)}: {slack_text(job.summary or 'done', 600)}"
            if job.last_at
            else "never run yet"
        )
        if job.off:
            nxt = f"off: {slack_text(job.off, 300)}"
        elif job.next_at:
            nxt = f"next {_when(job.next_at, data.tz)}"
        else:
            nxt = "no next run"
        out.append(section(f"*{slack_text(job.title, 80)}* (`{job.id}`)\n{last}\n{nxt}"))
    out.append(
        section(
            f"*Coperniq budget* (rolling 24 h, {admin.daily_budget:,} requests): "
            f"{admin.used:,} used · {admin.background_left:,} left for the scheduled jobs · "
            f"{admin.reserve:,} kept for people using the bot in Slack"
        )
    )
    return out


def build_home(data: HomeData) -> dict[str, Any]:
    """The Home view for one person (type home), at most MAX_BLOCKS blocks."""
    who = (
        f"You are *{slack_text(data.person_name, 80)}* in Coperniq."
        if data.person_name
        else "You are not linked to a Coperniq user yet."
    )
    blocks: list[dict[str, Any]] = [
        _header("Coperniq in Slack"),
        context(who),
    ]
    if data.notice:
        blocks.append(section(data.notice))
    blocks += _my_forms(data)
    blocks += _unassigned(data)
    blocks += _notifications(data)
    blocks += _admin(data)
    blocks += [
        _divider(),
        context(
            f"Type `{data.command} help` in any channel for every command "
            f"(`{data.command} find smith` finds a record). On your phone, send photos to me in "
            "a direct message to attach them to a Coperniq form."
        ),
    ]
    if len(blocks) > MAX_BLOCKS:
        # The lists above are capped so this cannot happen; if it ever does, the view must
        # still publish rather than fail for this person.
        blocks = blocks[: MAX_BLOCKS - 1] + [context("Some of this page was left out.")]
    return {"type": "home", "blocks": blocks}
