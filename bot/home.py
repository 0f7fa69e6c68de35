"""The App Home: my forms, my notification settings, and for admins the bot's state (issue 10).

The Home opens from the store alone, with no Coperniq call: the projects the SLA listing saw
(`projects`), the cached form lists of projects at or past yellow (`form_cache`), the open
form-sla alerts (`alert_items`), the person's settings (`notify_prefs`), the subscriptions, the
job runs and the budget's ledger. Who the person is comes from the cached Coperniq directory
(never refreshed on open) and one Slack `users.info`, which also says whether they are a
workspace admin.

Each publish is remembered in `home_views` (who, as whom, a hash of the view): after every run
`after_run` re-renders the Homes opened in the last HOME_KEEP and publishes only those whose view
changed, again without Coperniq or users.info calls.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.blocks.home import (
    AdminPart,
    FormLine,
    HomeData,
    JobLine,
    Prefs,
    SubscriptionLine,
    build_home,
    morning_words,
)
from bot.blocks.people import refusal
from bot.people import (
    GONE,
    UNLINKED,
    Identity,
    Person,
    cached_person,
    directory_fetched_at,
    identify,
    is_admin_profile,
    slack_user_info,
)
from bot.records import record_url
from bot.store import iso

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlite_utils import Database

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.coperniq.budget import Budget
    from jobs.digest import DigestJob, Run, Snapshot

log = logging.getLogger(__name__)

SLA_JOB = "form-sla"
HOME_KEEP = timedelta(days=30)  # a run republishes the Homes opened within this
REPUBLISH_MAX = 500  # at most this many Homes per run, the most recently opened first
REFRESH_PROJECTS = 3  # Refresh re-reads at most this many form lists (one call each)
REFRESH_MIN_AGE = timedelta(minutes=1)  # a list read more recently is not read again
CLIENTS_STATIC_MAX = 100  # above this, the clients select searches (options listener)
CLIENTS_MAX = 100  # clients one person may pick
ADMIN_SUMMARY_MAX = 600


# --- what the Home shows, from the store ---------------------------------------------------------


def _project_shape(row: tuple[Any, ...]) -> dict[str, Any]:
    """A `projects` row as the SLA selection reads a listed project (phase ids from phase_key)."""
    pid, number, title, status, workflow, trades, phase, key, days, yellow, red = row
    kind, _, rest = (key or "").partition(":")
    ph: dict[str, Any] = {"name": phase, "timeInStageDays": days, "yellowSla": yellow}
    ph["redSla"] = red
    shape: dict[str, Any] = {"id": pid, "number": number, "title": title, "status": status}
    shape.update(workflowName=workflow, trades=json.loads(trades or "[]"))
    if kind == "phase":
        instance, _, template = rest.partition(":")
        ph.update(
            instanceId=int(instance) if instance.isdigit() else None,
            templateId=int(template) if template.isdigit() else None,
        )
        shape["phase"] = ph
    elif kind == "stage":
        ph["id"] = int(rest) if rest.isdigit() else None
        shape["stage"] = ph
    return shape


def _line(alert: Any, app_url: str, key: str | None = None) -> FormLine:
    return FormLine(
        key=key or alert.key,
        project_id=alert.project_id,
        project_number=str(alert.project_number),
        project_title=str(alert.project_title),
        phase=str(alert.phase),
        level=alert.level,
        days=alert.days,
        yellow_sla=alert.yellow_sla,
        red_sla=alert.red_sla,
        form_name=str(alert.form_name),
        status=str(alert.status),
        url=record_url(app_url, "project", alert.project_id),
    )


def my_forms(db: Database, settings: Settings, coperniq_id: int, now: datetime) -> list[FormLine]:
    """Open forms assigned to this Coperniq user on projects at or past yellow, most urgent first.

    From the cached form lists that are still of their project's current phase, judged by the
    same selection as the SLA digest (so the Home and the channels agree on what is late).
    """
    from jobs.sla.select import select

    projects, forms = [], {}
    for row in db.execute(
        "select p.id, p.number, p.title, p.status, p.workflow, p.trades, p.phase, p.phase_key, "
        "p.days, p.yellow_sla, p.red_sla, c.forms from projects p join form_cache c "
        "on c.project_id = p.id and c.phase_key = p.phase_key where p.level is not null"
    ).fetchall():
        try:
            listed = json.loads(row[11] or "[]")
        except ValueError:
            continue
        mine = [
            f
            for f in listed
            if isinstance(f, dict) and (f.get("assignee") or {}).get("id") == coperniq_id
        ]
        if mine:
            projects.append(_project_shape(row[:11]))
            forms[int(row[0])] = mine
    alerts = select(projects, forms, now, settings.timezone)
    return [_line(a, settings.coperniq_app_url) for a in alerts]


def unassigned_forms(db: Database, app_url: str) -> list[FormLine]:
    """Forms past SLA that nobody is assigned to (the open form-sla alerts), most urgent first.

    One line per form however many channels list it; a form someone took from Slack since its
    card was posted is left out (its alert row still says unassigned until the next run).
    """
    from jobs import state

    taken = {
        r[0]
        for r in db.execute(
            "select item_key from alert_acts where job = ? and act = 'take'", [SLA_JOB]
        ).fetchall()
    }
    seen: dict[str, dict[str, Any]] = {}
    for row in state.open_alerts(db, SLA_JOB):
        item = row.summary
        if item.get("assignee_id") is not None or row.item_key in taken:
            continue
        if not isinstance(item.get("form_id"), int) or row.item_key in seen:
            continue
        seen[row.item_key] = item
    lines = []
    for key, item in seen.items():
        try:
            lines.append(
                FormLine(
                    key=key,
                    project_id=int(item["project_id"]),
                    project_number=str(item["project_number"]),
                    project_title=str(item["project_title"]),
                    phase=str(item["phase"]),
                    level=item.get("level") if item.get("level") in ("red", "yellow") else None,
                    days=int(item["days"]) if isinstance(item.get("days"), int) else None,
                    yellow_sla=item.get("yellow_sla"),
                    red_sla=item.get("red_sla"),
                    form_name=str(item["form_name"]),
                    status=str(item.get("status") or ""),
                    url=record_url(app_url, "project", int(item["project_id"])),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # an odd summary must not hide the others
    lines.sort(key=_urgency)
    return lines


def _urgency(line: FormLine) -> tuple[Any, ...]:
    rank = {"red": 0, "yellow": 1}.get(line.level or "", 2)
    return (rank, -(line.days or 0), line.project_number, line.form_name, line.key)


def read_prefs(db: Database, slack_user: str) -> Prefs:
    """The person's notification settings (all off until they choose)."""
    row = db.execute(
        "select forms, morning, invoices, clients from notify_prefs where slack_user = ?",
        [slack_user],
    ).fetchone()
    if row is None:
        return Prefs()
    try:
        clients = json.loads(row[3] or "[]")
    except ValueError:
        clients = []
    titles = (
        tuple(str(c) for c in clients if isinstance(c, str)) if isinstance(clients, list) else ()
    )
    return Prefs(bool(row[0]), bool(row[1]), bool(row[2]), titles)


def save_prefs(
    db: Database, slack_user: str, person: Person, now: datetime, **changes: Any
) -> Prefs:
    """Write the person's settings with `changes` (forms, morning, invoices, clients) applied."""
    current = read_prefs(db, slack_user)
    merged = {
        "forms": current.forms,
        "morning": current.morning,
        "invoices": current.invoices,
        "clients": list(current.clients),
        **changes,
    }
    db.execute(
        "insert into notify_prefs (slack_user, coperniq_user_id, forms, morning, invoices, "
        "clients, updated_at) values (?, ?, ?, ?, ?, ?, ?) on conflict(slack_user) do update set "
        "coperniq_user_id = excluded.coperniq_user_id, forms = excluded.forms, "
        "morning = excluded.morning, invoices = excluded.invoices, clients = excluded.clients, "
        "updated_at = excluded.updated_at",
        [
            slack_user,
            person.coperniq_id,
            int(bool(merged["forms"])),
            int(bool(merged["morning"])),
            int(bool(merged["invoices"])),
            json.dumps(sorted(set(merged["clients"]))),
            iso(now),
        ],
    )
    return read_prefs(db, slack_user)


def client_titles(db: Database, query: str = "", limit: int | None = None) -> list[str]:
    """Distinct client titles in the local copy of invoices, A to Z, matching `query` if given."""
    sql = (
        "select distinct account_title from invoices where account_title is not null "
        "and trim(account_title) != '' and instr(lower(account_title), lower(?)) > 0 "
        "order by account_title collate nocase"
    )
    args: list[Any] = [query.strip()]
    if limit is not None:
        sql += " limit ?"
        args.append(limit)
    return [str(r[0]) for r in db.execute(sql, args).fetchall()]


def _static_clients(db: Database) -> list[str] | None:
    """The clients as a static list when they fit one select; None: too many (search them)."""
    titles = client_titles(db, limit=CLIENTS_STATIC_MAX + 1)
    return titles if len(titles) <= CLIENTS_STATIC_MAX else None


def admin_part(db: Database, settings: Settings, budget: Budget, now: datetime) -> AdminPart:
    """Every channel's subscriptions, each job's last and next run, and the budget today."""
    from bot.crontab import crontab_trigger
    from jobs import state
    from jobs.personal import MORNING_JOB
    from jobs.registry import JOBS
    from jobs.scheduler import trigger_for
    from jobs.subscriptions import subscriptions

    subs = [
        SubscriptionLine(s.channel, s.kind, s.describe(), s.source)
        for s in subscriptions(db, settings)
    ]
    jobs = []
    for job in JOBS.values():
        try:
            nxt = trigger_for(settings, job).get_next_fire_time(None, now)
        except ValueError:
            nxt = None
        last = state.last_run_summary(db, job.id)
        jobs.append(
            JobLine(
                job.id,
                job.title,
                last[0] if last else None,
                last[1] if last else None,
                nxt,
                job.config.off_reason(settings, db),
            )
        )
    # The morning summaries run beside the digests (jobs/scheduler.py), on MORNING_DIGEST_CRON.
    morning = state.last_run_summary(db, MORNING_JOB)
    try:
        nxt = crontab_trigger(settings.morning_digest_cron, settings.timezone)
        nxt_at = nxt.get_next_fire_time(None, now)
    except ValueError:
        nxt_at = None
    jobs.append(
        JobLine(
            MORNING_JOB,
            "Morning summaries",
            morning[0] if morning else None,
            morning[1] if morning else None,
            nxt_at,
        )
    )
    return AdminPart(
        subscriptions=subs,
        jobs=jobs,
        used=budget.used(),
        background_left=budget.available_for_background(),
        reserve=budget.reserve,
        daily_budget=budget.daily_budget,
    )


def unlinked_text(db: Database, identity: Identity, settings: Settings) -> str:
    """Why the person has no toggles, and how to get linked."""
    if identity.person is None and identity.reason != UNLINKED and directory_fetched_at(db) is None:
        return (
            "I haven't read Coperniq's list of users yet, so I can't tell who you are there. "
            f"`{settings.slack_command} whoami` reads it; then open this tab again."
        )
    return refusal(
        identity,
        "get notifications or take forms",
        settings.slack_command,
        settings.payment_roles,
    )


def home_data(
    db: Database,
    settings: Settings,
    budget: Budget,
    identity: Identity,
    *,
    admin: bool,
    now: datetime,
    notice: str | None = None,
) -> HomeData:
    """What one person's Home shows now (store only)."""
    person = identity.person
    return HomeData(
        command=settings.slack_command,
        tz=settings.timezone,
        person_name=person.name if person else None,
        unlinked=None if person else unlinked_text(db, identity, settings),
        my_forms=my_forms(db, settings, person.coperniq_id, now) if person else [],
        unassigned=unassigned_forms(db, settings.coperniq_app_url),
        prefs=read_prefs(db, identity.slack_user) if person else None,
        billing=bool(person and person.may("record_payment")),
        clients=_static_clients(db) if person and person.may("record_payment") else None,
        morning_at=morning_words(settings.morning_digest_cron),
        quiet=settings.quiet_hours,
        admin=admin_part(db, settings, budget, now) if admin else None,
        notice=notice,
    )


# --- publishing ------------------------------------------------------------------------------


def view_hash(view: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()


def _remember(
    db: Database,
    identity: Identity,
    admin: bool,
    digest: str,
    now: datetime,
    *,
    opened: bool,
) -> None:
    person = identity.person
    db.execute(
        "insert into home_views (slack_user, coperniq_user_id, linked, slack_email, is_admin, "
        "opened_at, published_at, hash) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict(slack_user) "
        "do update set coperniq_user_id = excluded.coperniq_user_id, linked = excluded.linked, "
        "slack_email = excluded.slack_email, "
        "is_admin = excluded.is_admin, published_at = excluded.published_at, "
        "hash = excluded.hash" + (", opened_at = excluded.opened_at" if opened else ""),
        [
            identity.slack_user,
            person.coperniq_id if person else None,
            person.linked if person else identity.reason,
            identity.slack_email,
            int(admin),
            iso(now),
            iso(now),
            digest,
        ],
    )


def publish(
    client: WebClient,
    db: Database,
    settings: Settings,
    budget: Budget,
    identity: Identity,
    *,
    admin: bool,
    now: datetime,
    notice: str | None = None,
    opened: bool = False,
) -> dict[str, Any]:
    """Render the person's Home from the store, views.publish it, remember what was published."""
    view = build_home(
        home_data(db, settings, budget, identity, admin=admin, now=now, notice=notice)
    )
    client.views_publish(user_id=identity.slack_user, view=view)
    _remember(db, identity, admin, view_hash(view), now, opened=opened)
    return view


def who_opened(
    db: Database,
    coperniq: CoperniqClient,
    client: WebClient,
    settings: Settings,
    slack_user: str,
    now: datetime,
) -> tuple[Identity, bool]:
    """Who the person is in Coperniq and whether a workspace admin: one users.info, no Coperniq
    call (the cached directory as it is)."""
    answers: dict[str, Any] = {}

    def user_info(user: str) -> dict[str, Any]:
        # Asked once, for the link and the admin check together; a failure is remembered too.
        if "error" in answers:
            raise answers["error"]
        if "user" not in answers:
            try:
                answers["user"] = slack_user_info(client, user)
            except SlackApiError as exc:
                answers["error"] = exc
                raise
        return answers["user"]

    identity = identify(
        db,
        coperniq,
        client,
        slack_user,
        now,
        payment_roles=settings.payment_roles,
        user_info=user_info,
        refresh=False,
    )
    try:
        user = user_info(slack_user)
    except SlackApiError as exc:
        log.warning("users.info for the App Home failed: %s", (exc.response or {}).get("error"))
        return identity, False
    return identity, is_admin_profile(user)


def remembered(db: Database, settings: Settings, slack_user: str) -> tuple[Identity, bool] | None:
    """Who the person was when they last opened the Home (no Slack or Coperniq call); an admin's
    link or unlink since then wins."""
    row = db.execute(
        "select coperniq_user_id, linked, slack_email, is_admin from home_views "
        "where slack_user = ?",
        [slack_user],
    ).fetchone()
    if row is None:
        return None
    uid, linked, email, admin = row
    override = db.execute(
        "select coperniq_user_id from slack_links where slack_user = ?", [slack_user]
    ).fetchone()
    if override is not None:
        uid, linked = override[0], "override" if override[0] is not None else UNLINKED
    person = (
        cached_person(db, int(uid), str(linked), settings.payment_roles)
        if uid is not None
        else None
    )
    if person is None:
        reason = linked if uid is None else GONE
        return Identity(slack_user, None, reason, email), bool(admin)
    return Identity(slack_user, person, person.linked), bool(admin)


def after_run(job: DigestJob, run: Run, snapshot: Snapshot, snoozed: set[str]) -> None:
    """Republish the App Homes a run changed (opened lately; only where the view differs)."""
    del job, snapshot, snoozed  # the Home reads what the run stored
    client = run.deps.slack
    if client is None:
        return
    db, settings, budget = run.db, run.settings, run.deps.coperniq.budget
    rows = db.execute(
        "select slack_user, hash from home_views where opened_at >= ? "
        "order by opened_at desc limit ?",
        [iso(run.now - HOME_KEEP), REPUBLISH_MAX],
    ).fetchall()
    published = 0
    for slack_user, old in rows:
        run.check_stop()
        who = remembered(db, settings, slack_user)
        if who is None:
            continue
        identity, admin = who
        try:
            data = home_data(db, settings, budget, identity, admin=admin, now=run.now)
            view = build_home(data)
            digest = view_hash(view)
            if digest == old:
                continue
            client.views_publish(user_id=slack_user, view=view)
        except SlackApiError as exc:
            log.warning("Republishing an App Home failed: %s", (exc.response or {}).get("error"))
            continue
        _remember(db, identity, admin, digest, run.now, opened=False)
        published += 1
    if published:
        log.info("%d App Home(s) republished after the run", published)


def refresh_forms(
    db: Database, coperniq: CoperniqClient, settings: Settings, person: Person, now: datetime
) -> tuple[int, int]:
    """Re-read from Coperniq the form lists of the person's most urgent projects (at most
    REFRESH_PROJECTS calls, on the interactive budget); (lists read, failures)."""
    from bot.coperniq.errors import CoperniqError

    projects: list[int] = []
    for line in my_forms(db, settings, person.coperniq_id, now):
        if line.project_id not in projects:
            projects.append(line.project_id)
    read = failed = 0
    for pid in projects:
        if read + failed >= REFRESH_PROJECTS:
            break
        row = db.execute(
            "select p.phase_key, c.fetched_at from projects p left join form_cache c "
            "on c.project_id = p.id where p.id = ?",
            [pid],
        ).fetchone()
        if row is None:
            continue
        if row[1] and now - datetime.fromisoformat(row[1]) < REFRESH_MIN_AGE:
            continue  # just read: a double click or an eager finger spends nothing
        try:
            forms = list(coperniq.interactive.forms.list_for_project(pid))
        except CoperniqError as exc:
            log.warning("Refreshing the forms of project %s failed: %r", pid, exc)
            failed += 1
            continue
        # As the SLA job keeps it: the phase the list was read in, and when.
        db["form_cache"].upsert(
            {
                "project_id": pid,
                "phase_key": row[0],
                "fetched_at": iso(now),
                "forms": json.dumps(forms, sort_keys=True, default=str),
            },
            pk="project_id",
        )
        read += 1
    return read, failed


def refresh_words(read: int, failed: int) -> str:
    """What Refresh did, for the line at the top of the Home."""
    if read == 0 and failed == 0:
        return (
            "Nothing to re-read: none of your forms is late, or their lists were read from "
            "Coperniq a moment ago."
        )
    said = f"Re-read the forms of {read} project(s) from Coperniq." if read else ""
    if failed:
        said += f" {failed} could not be read from Coperniq; try again in a minute."
    return said.strip()
