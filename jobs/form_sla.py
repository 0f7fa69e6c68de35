"""Forms past their workflow phase SLA (job id `form-sla`).

What: forms holding up a project stuck in its current workflow phase: the project is ACTIVE, its
phase (Workflows 2.0 `phase`, or `stage` on older workflows) has an SLA, `timeInStageDays` is at
or past `yellowSla` (yellow) or `redSla` (red), and the form belongs to that phase and is not
COMPLETED or CANCELLED. A phase without an SLA never alerts.
When: SLA_ALERT_CRON (default `0 8-17 * * 1-5`, hourly in business hours) in BOT_TIMEZONE.
Where: SLA_ALERT_CHANNEL, one message per run (red first, then yellow); off when that is unset.
Dedupe key: ("form-sla", "form:<form id>") in the alerts table, level yellow|red: announced once per
level, again on escalation or after SLA_REALERT_HOURS; when the form is completed or cancelled,
or its project leaves the phase, the message part that announced it is re-rendered with the form
marked resolved.
Budget: projects are listed 100 a page (the API has no status filter: ACTIVE is kept
client-side); only projects at or past yellow have their forms read, and a project's form list is
reused from `form_cache` until its phase instance changes or FORMS_TTL passes (at most
REFRESH_PER_RUN stale lists are re-read per run).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.coperniq.errors import (
    BudgetExceeded,
    ConnectionFailed,
    RateLimited,
    ServerError,
    Timeout,
)
from bot.store import iso, kv_get, kv_set
from jobs import common
from jobs.common import RunResult, mrkdwn_escape

if TYPE_CHECKING:
    from bot.deps import Deps
    from jobs.slackpost import SlackPoster

log = logging.getLogger(__name__)

JOB_ID = "form-sla"
LEVEL_RANK = {"yellow": 1, "red": 2}
CLOSED_FORM_STATUSES = frozenset({"COMPLETED", "CANCELLED"})
# Re-alert interval: SLA_REALERT_HOURS (default 24: remind about a form still past SLA daily).
FORMS_TTL = timedelta(hours=6)  # a cached form list is re-read after this, even in the same phase
REFRESH_PER_RUN = 10  # stale form lists re-read per run, so a run's cost stays flat
PAGE_SIZE = 100
MAIN_ITEMS = 20
ICON = {"red": "🔴", "yellow": "🟡"}


# --- selection (pure) --------------------------------------------------------------------------


def current_phase(project: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The project's current phase (Workflows 2.0) or stage (Workflows 1.0), if any."""
    return project.get("phase") or project.get("stage") or None


def sla_threshold(value: Any) -> int | None:
    # An unset SLA comes as null (or 0 from an unconfigured template): no alert at that level.
    return int(value) if isinstance(value, int | float) and value > 0 else None


def sla_level(phase: Mapping[str, Any] | None) -> str | None:
    """'red', 'yellow' or None for a phase, from timeInStageDays against redSla / yellowSla."""
    if not phase:
        return None
    days = phase.get("timeInStageDays")
    if not isinstance(days, int | float):
        return None
    red, yellow = sla_threshold(phase.get("redSla")), sla_threshold(phase.get("yellowSla"))
    if red is not None and days >= red:
        return "red"
    if yellow is not None and days >= yellow:
        return "yellow"
    return None


def phase_key(project: Mapping[str, Any]) -> str:
    """Identifies one stay of a project in one phase; a new value invalidates its cached forms."""
    if project.get("phase"):
        ph = project["phase"]
        return f"phase:{ph.get('instanceId')}:{ph.get('templateId')}"
    if project.get("stage"):
        return f"stage:{project['stage'].get('id')}"
    return "none"


def form_in_phase(form: Mapping[str, Any], project: Mapping[str, Any]) -> bool:
    """Does the form belong to the project's current phase?

    The spec gives a form `phaseId`/`phaseName` of the phase *template*; a Workflows 2.0 project's
    `phase.templateId` is that template's id (its `instanceId` is this project's stay in it), so the
    ids are compared. A Workflows 1.0 `stage` has only `id`, which forms of that stage carry.
    A form without a phase id is matched by phase name; a form with neither belongs to no phase and
    never alerts.
    """
    if project.get("phase"):
        ph, ph_id = project["phase"], project["phase"].get("templateId")
    elif project.get("stage"):
        ph, ph_id = project["stage"], project["stage"].get("id")
    else:
        return False
    if form.get("phaseId") is not None:
        return ph_id is not None and int(form["phaseId"]) == int(ph_id)
    name = (form.get("phaseName") or "").strip().casefold()
    return bool(name) and name == (ph.get("name") or "").strip().casefold()


def at_risk(projects: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """ACTIVE projects at or past yellow, with their level; red first, then longest in phase."""
    out = []
    for p in projects:
        if p.get("status") != "ACTIVE":
            continue
        level = sla_level(current_phase(p))
        if level:
            out.append((p, level))
    out.sort(
        key=lambda pl: (
            -LEVEL_RANK[pl[1]],
            -(current_phase(pl[0]) or {}).get("timeInStageDays", 0),
            pl[0].get("id", 0),
        )
    )
    return out


@dataclass(frozen=True)
class FormAlert:
    """One form past its phase SLA."""

    level: str
    project_id: int
    project_number: str
    project_title: str
    phase: str
    days: int
    yellow_sla: int | None
    red_sla: int | None
    form_id: int
    form_name: str
    assignee: str
    status: str

    @property
    def key(self) -> str:
        return f"form:{self.form_id}"


def _person(user: Mapping[str, Any] | None) -> str:
    if not user:
        return "unassigned"
    name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
    return name or user.get("email") or f"user {user.get('id')}"


def _form_alert(
    project: Mapping[str, Any], level: str, form: Mapping[str, Any]
) -> FormAlert | None:
    if form.get("status") in CLOSED_FORM_STATUSES or form.get("isCompleted") is True:
        return None
    if not form_in_phase(form, project):
        return None
    ph = current_phase(project) or {}
    return FormAlert(
        level=level,
        project_id=int(project["id"]),
        project_number=str(project.get("number") or project["id"]),
        project_title=project.get("title") or "(untitled)",
        phase=ph.get("name") or "(unnamed phase)",
        days=int(ph.get("timeInStageDays") or 0),
        yellow_sla=sla_threshold(ph.get("yellowSla")),
        red_sla=sla_threshold(ph.get("redSla")),
        form_id=int(form["id"]),
        form_name=form.get("name") or f"form {form['id']}",
        assignee=_person(form.get("assignee")),
        status=str(form.get("status") or "UNKNOWN"),
    )


def select(
    projects: Iterable[Mapping[str, Any]],
    forms_by_project: Mapping[int, list[Mapping[str, Any]]],
    now: datetime,
    tz: ZoneInfo,
) -> list[FormAlert]:
    """Forms past SLA among projects whose forms are known; red first, then longest in phase.

    `timeInStageDays` is Coperniq's count as of the listing, so `now`/`tz` only matter to
    callers that show the time; they are taken for symmetry with the other job's select.
    """
    del now, tz
    out: list[FormAlert] = []
    for project, level in at_risk(projects):
        forms = forms_by_project.get(int(project.get("id") or 0))
        if forms is None:
            continue
        for form in forms:
            try:
                alert = _form_alert(project, level, form)
            except (KeyError, TypeError, ValueError, AttributeError):
                # One malformed form must not hide the others.
                log.exception("skipping form %r of project %r", form.get("id"), project.get("id"))
                continue
            if alert is not None:
                out.append(alert)
    out.sort(
        key=lambda a: (-LEVEL_RANK[a.level], -a.days, a.project_number, a.form_name, a.form_id)
    )
    return out


# --- message models and builders (pure) --------------------------------------------------------


def _item(alert: FormAlert, app_url: str) -> dict[str, Any]:
    d = asdict(alert)
    d["key"] = alert.key
    d["url"] = common.record_url(app_url, "project", alert.project_id)
    return d


def build_models(
    alerts: list[FormAlert],
    announce: set[str],
    now: datetime,
    tz: ZoneInfo,
    app_url: str,
    notes: list[str] | None = None,
    main_items: int = MAIN_ITEMS,
) -> list[dict[str, Any]]:
    """The run's message as models: the main message (red first), then thread replies."""
    listed = [_item(a, app_url) for a in alerts if a.key in announce]
    local = now.astimezone(tz)
    main = {
        "as_of": local.isoformat(timespec="minutes"),
        "tz": str(tz),
        "open": len(alerts),
        "red": sum(1 for i in listed if i["level"] == "red"),
        "yellow": sum(1 for i in listed if i["level"] == "yellow"),
    }
    return common.split_models(JOB_ID, main, listed, notes, main_items)


def _when(as_of: str) -> str:
    dt = datetime.fromisoformat(as_of)
    return f"{dt:%a} {dt.day} {dt:%b}, {dt:%H:%M}"


def _sla_text(item: Mapping[str, Any]) -> str:
    days = f"{item['days']} day{'s' if item['days'] != 1 else ''} in phase"
    if item["level"] == "red":
        return f"{days} (red SLA {item['red_sla']} d)"
    red = f", red {item['red_sla']} d" if item.get("red_sla") else ""
    return f"{days} (yellow SLA {item['yellow_sla']} d{red})"


def _line(item: Mapping[str, Any], state: str | None, *, link: bool = True) -> str:
    project = f"#{item['project_number']} {mrkdwn_escape(item['project_title'])}"
    form = mrkdwn_escape(item["form_name"])
    if state == "resolved":
        return f"✅ ~{project} · {form}~ resolved (form done or cancelled, or the project moved on)"
    if state == "moved":
        return f"↪ ~{project} · {form}~ listed again in a later alert"
    url = f" · <{item['url']}|Open in Coperniq>" if link else ""
    return (
        f"{ICON[item['level']]} *{project}* · {mrkdwn_escape(item['phase'])}: {_sla_text(item)}\n"
        f"      form *{form}* · {mrkdwn_escape(item['assignee'])} · {item['status']}{url}"
    )


def render(model: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Block Kit blocks and the plain-text fallback for one message model (never over 50 blocks)."""
    blocks: list[dict[str, Any]] = []
    if model["kind"] == "main":
        text = (
            f"Forms past their phase SLA: {model['red']} red, {model['yellow']} yellow "
            f"({model['open']} in all) as of {_when(model['as_of'])}"
        )
        blocks.append(
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": (f"Forms past their phase SLA · {_when(model['as_of'])}"),
                },
            }
        )
        earlier = model["open"] - model["listed"]
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"*{model['red']} red* and *{model['yellow']} yellow* "
                        f"form(s) newly past SLA, escalated or due a reminder"
                        + (
                            f"; {earlier} more still past SLA from earlier alerts."
                            if earlier > 0
                            else "."
                        )
                    ),
                },
            }
        )
        blocks.append({"type": "divider"})
        blocks.extend(common.listed_blocks(model, _line, "forms"))
    else:
        text = f"Forms past their phase SLA, full list (part {model['part']} of {model['parts']})"
        blocks.extend(common.thread_blocks(model, text, _line))
    assert len(blocks) <= common.MAX_BLOCKS, len(blocks)
    return text, blocks


def to_text(models: list[dict[str, Any]]) -> str:
    """The whole message as readable plain text (for --dry-run and the demo)."""
    main = models[0]
    head = [
        f"Forms past their phase SLA · {_when(main['as_of'])} ({main['tz']})",
        f"{main['red']} red, {main['yellow']} yellow listed now; {main['open']} past SLA in all",
    ]

    def item_text(i: dict[str, Any]) -> str:
        return (
            f"  {i['level'].upper():6} #{i['project_number']} {i['project_title']} | {i['phase']}: "
            f"{_sla_text(i)} | form {i['form_name']} | {i['assignee']} | {i['status']} | {i['url']}"
        )

    return common.digest_text(models, head, item_text)


# --- the run ---------------------------------------------------------------------------------


def run(
    deps: Deps,
    now: datetime,
    *,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    realert: timedelta | None | str = "settings",
    poster: SlackPoster | None = None,
    forms_ttl: timedelta = FORMS_TTL,
    refresh_per_run: int = REFRESH_PER_RUN,
) -> RunResult:
    """List projects, read forms where needed, post once, record; update resolved messages."""
    from jobs import runner

    def collect(
        d: Deps, api: Any, n: datetime, result: RunResult, rows: dict[str, common.AlertRow]
    ) -> Any:
        return _collect(
            d,
            api,
            n,
            result,
            rows,
            forms_ttl=forms_ttl,
            refresh_per_run=refresh_per_run,
            realert=interval,
        )

    interval = (
        common.realert_interval(deps.settings.sla_realert_hours, "hours")
        if realert == "settings"
        else realert
    )
    assert not isinstance(interval, str)

    return runner.run_digest_job(
        deps,
        now,
        job=JOB_ID,
        channel=deps.settings.sla_alert_channel,
        collect=collect,
        render=render,
        to_text=to_text,
        rank=LEVEL_RANK,
        dry_run=dry_run,
        out=out,
        realert=interval,
        poster=poster,
    )


def _again(
    level: str, open_rows: list[common.AlertRow], now: datetime, realert: timedelta | None
) -> str | None:
    """Would this run announce one of a project's open alerts again: 'escalation', 'reminder'?"""
    if any(LEVEL_RANK[level] > LEVEL_RANK.get(row.level, 0) for row in open_rows):
        return "escalation"
    for row in open_rows:
        if (
            realert is not None
            and row.last_alerted_at is not None
            and now - common.parse_instant(row.last_alerted_at) >= realert - common.REALERT_SLACK
        ):
            return "reminder"
    return None


def _budget_note(available: int, what: str) -> str:
    return (
        f"{what}: the background share of the daily Coperniq request budget is used up "
        f"({available} request(s) left; the rest is kept for people using the bot in Slack)."
    )


def _collect(
    deps: Deps,
    client: Any,
    now: datetime,
    result: RunResult,
    rows: dict[str, common.AlertRow],
    *,
    forms_ttl: timedelta,
    refresh_per_run: int,
    realert: timedelta | None = None,
) -> Any:
    from jobs.runner import Collected

    settings = deps.settings
    db = deps.store.db
    budget = deps.coperniq.budget
    notes: list[str] = []
    nothing = Collected(
        levels={},
        build=lambda keys: [],
        summary=lambda key: {},
        can_resolve=lambda row: False,
        notes=notes,
    )

    # Plan: the listing costs about what it cost last time.
    listed_before = int(kv_get(db, "form-sla.projects_listed") or 0)
    list_pages = max(1, math.ceil((listed_before + 1) / PAGE_SIZE))
    available = budget.available_for_background()
    if available < list_pages:
        notes.append(_budget_note(available, "Projects were not checked for SLAs this run"))
        result.left_out += listed_before
        log.warning("%s: %s", JOB_ID, notes[-1])
        return nothing

    projects: list[dict[str, Any]] = []
    listing_complete = True
    try:
        for p in client.projects.list(page_size=PAGE_SIZE):
            projects.append(p)
    except BudgetExceeded:
        listing_complete = False
        notes.append(
            _budget_note(
                budget.available_for_background(),
                f"Only {len(projects)} project(s) could be listed",
            )
        )
    except (ServerError, Timeout, ConnectionFailed, RateLimited) as exc:
        # Coperniq down or busy after the client's retries: nothing can be decided from part of
        # a listing (a project not read is neither late nor back on time), so this run posts and
        # resolves nothing and counts as failed; the next tick reads the list again. A refused
        # key or permission is no passing trouble: that still ends the run with the error.
        why = f"it answered HTTP {exc.status}" if exc.status else "it did not answer"
        notes.append(
            f"Projects could not be listed from Coperniq after {len(projects)} ({why}); "
            "SLAs are checked again next run."
        )
        log.warning("%s: %s", JOB_ID, notes[-1])
        result.failed += 1
        return nothing
    if listing_complete:
        kv_set(db, "form-sla.projects_listed", str(len(projects)), now)

    risky = at_risk(projects)
    risky_ids = {int(p["id"]) for p, _ in risky}
    open_projects = {int(r.summary.get("project_id", 0)) for r in rows.values() if r.open}

    # Which form lists can come from the cache?
    cached: dict[int, tuple[str, datetime, list[dict[str, Any]]]] = {}
    if risky_ids:
        for pid, key, fetched_at, forms in db.execute(
            "select project_id, phase_key, fetched_at, forms from form_cache where project_id in "
            "(select value from json_each(?))",
            [json.dumps(sorted(risky_ids))],
        ).fetchall():
            cached[int(pid)] = (key, common.parse_instant(fetched_at), json.loads(forms))
    forms_by_project: dict[int, list[dict[str, Any]]] = {}
    must: list[tuple[Mapping[str, Any], str]] = []
    stale: list[tuple[Mapping[str, Any], str, datetime]] = []
    for p, level in risky:
        pid = int(p["id"])
        hit = cached.get(pid)
        if hit is None or hit[0] != phase_key(p):
            must.append((p, level))
        else:
            forms_by_project[pid] = hit[2]  # usable even when stale; refreshed below if room
            if now - hit[1] >= forms_ttl:
                stale.append((p, level, hit[1]))
    # A stale list is never the basis of an announcement: otherwise a form completed hours ago is
    # announced as still holding its project up. An escalation (rare) re-reads its list at once;
    # reminders come first among the per-run refreshes; a project whose stale list is not re-read
    # this run waits for a later run (withheld: neither announced nor resolved).
    open_by_project: dict[int, list[common.AlertRow]] = {}
    for r in rows.values():
        if r.open:
            open_by_project.setdefault(int(r.summary.get("project_id", 0)), []).append(r)
    again = {
        int(p["id"]): _again(level, open_by_project.get(int(p["id"]), []), now, realert)
        for p, level, _ in stale
    }
    escalate = [(p, level) for p, level, _ in stale if again[int(p["id"])] == "escalation"]
    stale = [s for s in stale if again[int(s[0]["id"])] != "escalation"]
    # Reminders first, then projects someone was told about, red first, the oldest list first.
    stale.sort(
        key=lambda s: (
            again[int(s[0]["id"])] != "reminder",
            int(s[0]["id"]) not in open_projects,
            -LEVEL_RANK[s[1]],
            s[2],
        )
    )
    refresh = [(p, level) for p, level, _ in stale[: max(0, refresh_per_run)]]
    todo = must + escalate + refresh
    withheld = set(again)

    log.info(
        "%s: %d project(s) listed, %d at or past yellow; %d form list(s) to read, %d stale to "
        "refresh; %d request(s) available for background work",
        JOB_ID,
        len(projects),
        len(risky),
        len(must),
        min(len(stale), max(0, refresh_per_run)),
        budget.available_for_background(),
    )
    left_out: list[tuple[Mapping[str, Any], str]] = []
    unreadable: list[Mapping[str, Any]] = []
    out_of_budget = False
    for p, level in todo:
        pid = int(p["id"])
        if common.SHUTDOWN.is_set():
            raise common.RunStopped(f"{JOB_ID}: the process is shutting down")
        if out_of_budget:
            if pid not in forms_by_project:
                left_out.append((p, level))
            continue
        try:
            forms = list(client.forms.list_for_project(pid))
        except BudgetExceeded:
            out_of_budget = True
            if pid not in forms_by_project:
                left_out.append((p, level))
            continue
        except Exception:
            log.exception("%s: reading the forms of project %s failed", JOB_ID, pid)
            result.failed += 1
            if pid not in forms_by_project:
                unreadable.append(p)
            continue
        forms_by_project[pid] = forms
        withheld.discard(pid)  # re-read now: its alerts may go out
        db["form_cache"].upsert(
            {
                "project_id": pid,
                "phase_key": phase_key(p),
                # Real time when --now runs ahead: a dry run "next month" must not make this list
                # look fresh to the real runs until then.
                "fetched_at": iso(min(now, datetime.now(UTC))),
                "forms": json.dumps(forms, sort_keys=True, default=str),
            },
            pk="project_id",
        )
    if left_out:
        result.left_out += len(left_out)
        reds = sum(1 for _, lv in left_out if lv == "red")
        numbers = ", ".join(f"#{p.get('number') or p['id']}" for p, _ in left_out[:15])
        more = f" and {len(left_out) - 15} more" if len(left_out) > 15 else ""
        notes.append(
            _budget_note(
                budget.available_for_background(),
                f"Forms of {len(left_out)} project(s) at or past SLA were not checked "
                f"({reds} red, {len(left_out) - reds} yellow: {numbers}{more}); "
                "red ones were read first",
            )
        )
        log.warning("%s: %s", JOB_ID, notes[-1])

    if unreadable:
        numbers = ", ".join(f"#{p.get('number') or p['id']}" for p in unreadable[:15])
        notes.append(
            f"The forms of {len(unreadable)} project(s) at or past SLA could not be read from "
            f"Coperniq ({numbers}); they are tried again next run."
        )

    alerts = select(projects, forms_by_project, now, settings.timezone)
    by_key = {a.key: a for a in alerts}

    def can_resolve(row: common.AlertRow) -> bool:
        pid = int(row.summary.get("project_id", 0))
        if pid in withheld:
            return False  # its list is stale: neither announced nor resolved this run
        if pid in forms_by_project:
            return True  # we know this project's forms now: the form is done or no longer in phase
        # Not at risk any more (left the phase, below yellow, no longer active or gone) - but only a
        # complete listing can tell that a project is gone.
        return listing_complete and pid not in risky_ids

    def build(announce: set[str]) -> list[dict[str, Any]]:
        return build_models(
            alerts, announce, now, settings.timezone, settings.coperniq_app_url, notes
        )

    return Collected(
        levels={a.key: a.level for a in alerts if a.project_id not in withheld},
        build=build,
        summary=lambda key: _item(by_key[key], settings.coperniq_app_url),
        can_resolve=can_resolve,
        notes=notes,
    )
