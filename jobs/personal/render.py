"""Personal DMs as text and Block Kit (pure): a form past its SLA, and the morning summary.

DMs carry no buttons but "Open in Coperniq" (a link): acting on a form is done from its channel
card or the App Home, where who did what is shown to everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jobs import blocks
from jobs.blocks import money, mrkdwn_escape
from jobs.sla.render import ICON

SECTION_CHARS = 2900  # Slack's 3,000 per section text, with room for a "more" line
FORMS_SHOWN = 15
PROJECTS_SHOWN = 10
INVOICES_SHOWN = 10
WHY_FORMS = "You get this because you turned on form alerts in the bot's Home tab."
WHY_MORNING = "Your morning summary; change it in the bot's Home tab."


def stamp(now: datetime, tz: ZoneInfo) -> str:
    local = now.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _days(n: int | None) -> str:
    return f"{n} day{'' if n == 1 else 's'}" if n is not None else "? days"


def sla_words(view: Mapping[str, Any]) -> str:
    """ "12 days in phase (yellow SLA 7 d, red 14 d)"."""
    limits = ", ".join(
        f"{name} {'SLA ' if not i else ''}{view[k]} d"
        for i, (name, k) in enumerate((("yellow", "yellow_sla"), ("red", "red_sla")))
        if view.get(k) is not None
    )
    return f"{_days(view.get('days'))} in phase" + (f" ({limits})" if limits else "")


def form_dm(
    view: Mapping[str, Any], escalated: bool, now: datetime, tz: ZoneInfo
) -> tuple[str, list[dict[str, Any]]]:
    """The DM about one form assigned to the person going past its yellow or red SLA."""
    level = view["level"]
    verb = "is now past its" if escalated else "is past its"
    project = f"#{view['project_number']} {view['project_title']}"
    text = f"Your form {view['form_name']} on {project} {verb} {level} SLA"
    line = (
        f"{ICON.get(level, '')} Your form *{mrkdwn_escape(view['form_name'])}* on "
        f"*{mrkdwn_escape(project)}* {verb} *{level}* SLA\n"
        f"{mrkdwn_escape(view.get('phase') or '')}: {sla_words(view)}"
    )
    out = [
        blocks.section(line[:SECTION_CHARS]),
        blocks.context(f"As of {stamp(now, tz)} · {WHY_FORMS}"),
    ]
    if view.get("url"):
        out.append({"type": "actions", "elements": [blocks.open_button(view["url"])]})
    return text[:3000], out


@dataclass
class MyForm:
    """One open form assigned to the person, and its SLA state (level None: not past SLA)."""

    project_id: int
    project_number: str
    project_title: str
    phase: str
    form_name: str
    status: str
    level: str | None
    days: int | None
    yellow_sla: int | None
    red_sla: int | None
    url: str


@dataclass
class MyInvoice:
    client: str
    project: str
    balance: float
    days: int
    url: str


@dataclass
class Summary:
    """What one person's morning summary says."""

    forms: list[MyForm] | None = None  # None: the person did not ask for forms
    invoices: list[MyInvoice] | None = None  # None: not asked for, or not a billing role
    clients: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.forms and not self.invoices


def _fit(title: str, lines: list[str], shown: int, more: str) -> str:
    """A section's text: the title, up to `shown` lines within Slack's limit, then a more line."""
    text, n = title, 0
    for line in lines[:shown]:
        if len(text) + len(line) + 1 > SECTION_CHARS - 120:
            break
        text += "\n" + line
        n += 1
    if n < len(lines):
        text += "\n" + more.format(n=len(lines) - n)
    return text


def _form_line(f: MyForm) -> str:
    state = f"{ICON[f.level]} {f.level} · {sla_words(f.__dict__)}" if f.level else "within its SLA"
    project = mrkdwn_escape(f"#{f.project_number} {f.project_title}")
    return (
        f"• *{mrkdwn_escape(f.form_name)}* · <{f.url}|{project}> · "
        f"{mrkdwn_escape(f.phase)} · {state} · {f.status}"
    )


def projects_past_sla(forms: list[MyForm]) -> list[MyForm]:
    """One entry per project with a form of mine in its current phase past SLA; red first."""
    seen: dict[int, MyForm] = {}
    for f in forms:
        if f.level and f.project_id not in seen:
            seen[f.project_id] = f
    rank = {"red": 0, "yellow": 1}
    return sorted(
        seen.values(), key=lambda f: (rank[f.level or ""], -(f.days or 0), f.project_number)
    )


def morning_dm(summary: Summary, now: datetime, tz: ZoneInfo) -> tuple[str, list[dict[str, Any]]]:
    """The morning summary DM (only built when the summary has something to say)."""
    local = now.astimezone(tz)
    title = f"Your Coperniq morning · {local:%a} {local.day} {local:%b}"
    parts, out = [], [blocks.header(title)]
    if summary.forms:
        mine = projects_past_sla(summary.forms)
        late = sum(1 for f in summary.forms if f.level)
        parts.append(f"{len(summary.forms)} open form(s), {late} past SLA")
        out.append(
            blocks.section(
                _fit(
                    f"*Your open forms ({len(summary.forms)})*",
                    [_form_line(f) for f in summary.forms],
                    FORMS_SHOWN,
                    "…and {n} more in the bot's Home tab",
                )
            )
        )
        if mine:
            parts.append(f"{len(mine)} of your project(s) past SLA")
            out.append(
                blocks.section(
                    _fit(
                        f"*Projects past SLA where a form of the phase is yours ({len(mine)})*",
                        [
                            f"• {ICON[f.level or 'yellow']} <{f.url}|"
                            f"{mrkdwn_escape(f'#{f.project_number} {f.project_title}')}> · "
                            f"{mrkdwn_escape(f.phase)} · {sla_words(f.__dict__)}"
                            for f in mine
                        ],
                        PROJECTS_SHOWN,
                        "…and {n} more",
                    )
                )
            )
    if summary.invoices:
        total = sum(i.balance for i in summary.invoices)
        whose = "your clients" if summary.clients else "all clients"
        parts.append(f"{len(summary.invoices)} overdue invoice(s), {money(total)}")
        lines = [
            f"• *{money(i.balance)}* · {mrkdwn_escape(i.client)} · <{i.url}|"
            f"{mrkdwn_escape(i.project or 'open')}> · {_days(i.days)} overdue"
            for i in summary.invoices
        ]
        text = _fit(
            f"*Overdue invoices of {whose}, largest first ({len(summary.invoices)})*",
            lines,
            INVOICES_SHOWN,
            "…and {n} more",
        )
        out.append(blocks.section(f"{text}\n*{money(total)} overdue in all*"))
    # Said because a form of a project below yellow is not listed: its list is never read.
    source = (
        "Forms as the SLA check last read them (projects at or past yellow). "
        if summary.forms is not None
        else ""
    )
    out.append(blocks.context(source + WHY_MORNING))
    return f"{title}: " + "; ".join(parts), out
