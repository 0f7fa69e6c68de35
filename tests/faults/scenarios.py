"""Fault scenarios: every Slack-initiated write and both digests, under Coperniq and Slack faults.

One table, SCENARIOS, shared by tests/faults/test_scenarios.py and benchmarks/bench_faults.py.
A scenario drives the real app (signed HTTP, as Slack sends it) or a job run against the Coperniq
sandbox and the fake Slack, injects one fault, then does what comes next in real life: the person
presses the button again when told the save failed or may not have happened, Slack delivers the
same submission again, the next scheduled run comes. Then it counts:

  lost        what should exist in Coperniq (or have been announced in Slack) does not, and the
              person was not told so with what they typed kept
  duplicates  copies beyond the first: records, calls, photos on the field, uploads to the
              project, digests listing the same item

Writes go through interactive policy (one quick retry, 429 only for writes); faults are
`times=1` unless named "stays". "timeout" holds the request, then drops it without an answer;
"after" faults apply the write first (`apply_first`), so only the answer is lost.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.ids import Block, Callback
from tests.modals.e2e import current, open_modal, posts_to, resubmit, submit
from tests.slack.harness import CHANNEL, USER, SlackHarness

# The jobs' sandbox is seeded for a fixed day and the runs are given a fixed `now` on it.
JOB_TODAY = date(2026, 1, 15)
JOB_NOW = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
JOB_PROJECTS = 150  # two pages of projects, five of invoices: room for a page-2 fault
WAIT = 20.0  # bound on any wait for the app (timeouts hold 0.5 s; nothing should come near it)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 2000
DM = "D0USERDM"
STILL_WORKING = "You can close this window"  # the saving/working modals; anything else is final


@dataclass
class Outcome:
    """What a scenario found once everything settled."""

    lost: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)
    raised: int = 0  # job runs that ended in an exception instead of a result


@dataclass(frozen=True)
class Scenario:
    """One write surface (or job) under one fault; `play` takes a SlackHarness or a JobWorld."""

    surface: str
    fault: str
    kind: str  # "slack" | "job"
    play: Callable[[Any], Outcome]

    @property
    def name(self) -> str:
        return f"{self.surface} / {self.fault}"

    @property
    def id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


# --- Coperniq faults on one write -------------------------------------------------------------


@dataclass(frozen=True)
class WriteFault:
    label: str
    inject: dict[str, Any]


WRITE_FAULTS = {
    "500": WriteFault("500 before the write", {"status": 500}),
    "500-after": WriteFault("500 after the write", {"status": 500, "apply_first": True}),
    "429": WriteFault("429 before the write", {"status": 429}),
    "429-twice": WriteFault("429 twice (retry refused too)", {"status": 429, "times": 2}),
    "timeout": WriteFault("timeout before the write", {"timeout": 0.5}),
    "timeout-after": WriteFault("timeout after the write", {"timeout": 0.5, "apply_first": True}),
    "drop": WriteFault("connection dropped before the write", {"drop": True}),
    "drop-after": WriteFault(
        "connection dropped after the write", {"drop": True, "apply_first": True}
    ),
    "400": WriteFault("400 refused", {"status": 400}),
}


# --- the write surfaces -----------------------------------------------------------------------


@dataclass
class Form:
    """An open modal filled in, ready to submit, and how to count what it writes."""

    view: dict[str, Any]
    values: dict[str, Any]
    paths: dict[str, str]  # step -> Coperniq path it POSTs to
    typed: str  # a piece of what the person typed, to find in a failure answer
    count: Callable[[], int]  # copies in Coperniq
    extra_copies: Callable[[], int] = lambda: 0  # other duplicates (second uploads)
    succeeded: Callable[[], bool] = lambda: False
    shown: Callable[[], str] = lambda: ""  # what the person last saw (modal and posts)


def _seen(slack: SlackHarness, view_id: str, channel: str = CHANNEL) -> str:
    view = slack.fake_slack.view(view_id) or {}
    posts = [str(p.get("blocks") or p.get("text")) for p in posts_to(slack, channel)]
    ephemerals = [str(c) for c in slack.fake_slack.calls_to("chat.postEphemeral")]
    return " ".join([str(view.get("blocks")), *posts, *ephemerals])


def request_form(slack: SlackHarness, tag: str) -> Form:
    title = f"No cooling {tag}"
    view = open_modal(slack, "request", updates=0 if slack.settings.request_trades else 1)
    values = {
        Block.REQUEST_TITLE: title,
        Block.REQUEST_ADDRESS: "12 Oak St, Austin, TX 78701",
        Block.REQUEST_TRADES: ["HVAC"],
        Block.REQUEST_CONTACT: "Dana Smith",
        Block.REQUEST_PHONE: "(512) 555-0134",
        Block.REQUEST_DESCRIPTION: "Blowing warm air since Monday",
    }
    sb = slack.sandbox

    def count() -> int:
        return sum(o.get("title") == title for o in sb.find("opportunities"))

    return Form(
        view=view,
        values=values,
        paths={"create": "/opportunities"},
        typed=title,
        count=count,
        succeeded=lambda: any(title in str(p.get("text")) for p in posts_to(slack, CHANNEL)),
        shown=lambda: _seen(slack, view["id"]),
    )


def call_form(slack: SlackHarness, tag: str) -> Form:
    project = slack.sandbox.find("projects")[0]
    note = f"Wants a visit Tuesday {tag}"
    view = open_modal(slack, f"call {project['number']}", updates=1)
    start = int(datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp())
    values = {
        Block.CALL_FROM: "512-555-0177",
        Block.CALL_START: start,
        Block.CALL_DURATION: "12",
        Block.CALL_REASON: "SERVICE",
        Block.CALL_DISPOSITION: "VISIT_SCHEDULED",
        Block.CALL_OUTCOME: "ANSWERED",
        Block.CALL_NOTE: note,
    }
    sb = slack.sandbox

    def count() -> int:
        return sum(c.get("note") == note for c in sb.find("calls"))

    return Form(
        view=view,
        values=values,
        paths={"create": f"/projects/{project['id']}/calls"},
        typed="512-555-0177",
        count=count,
        succeeded=lambda: len(posts_to(slack, CHANNEL)) > 0,
        shown=lambda: _seen(slack, view["id"]),
    )


def _photo_form(
    slack: SlackHarness, view: dict[str, Any], name: str, values: dict[str, Any], channel: str
) -> Form:
    from tests.modals.test_photo_e2e import _choose, _open_form

    project, form, field_ = _open_form(slack)
    view = _choose(slack, view, project, form)
    values = {Block.PHOTO_FIELD: str(field_["columnId"]), **values}
    sb = slack.sandbox

    def on_field() -> int:
        detail = sb.get("forms", form["id"])
        return sum(
            isinstance(v, dict) and v.get("name") == name
            for g in detail["formLayouts"]
            for f in g["properties"]
            if f["columnId"] == field_["columnId"]
            for v in f.get("value") or []
        )

    def uploads() -> int:
        return sum(f.get("name") == name and f.get("source") == "UPLOAD" for f in sb.find("files"))

    def succeeded() -> bool:
        return any(
            "attached" in str(p.get("text")) and "failed" not in str(p.get("text"))
            for p in posts_to(slack, channel)
        )

    return Form(
        view=view,
        values=values,
        paths={
            "upload": f"/projects/{project['id']}/files/upload",
            "attach": f"/forms/{form['id']}/fields/file-from-url",
        },
        typed=name,
        count=on_field,
        extra_copies=lambda: max(uploads() - 1, 0),
        succeeded=succeeded,
        shown=lambda: _seen(slack, view["id"], channel),
    )


def photo_modal_form(slack: SlackHarness, tag: str) -> Form:
    name = f"roof-{tag}.jpg"
    photo = slack.fake_slack.add_file(JPEG, name)
    view = open_modal(slack, "photo")
    return _photo_form(slack, view, name, {Block.PHOTO_FILES: [photo]}, CHANNEL)


def photo_shortcut_form(slack: SlackHarness, tag: str) -> Form:
    name = f"site-{tag}.jpg"
    photo = slack.fake_slack.add_file(JPEG, name)
    opened = len(slack.fake_slack.calls_to("views.open"))
    slack.message_action(
        Callback.ATTACH_SHORTCUT, {"ts": "1700000000.000100", "text": "roof", "files": [photo]}
    )
    slack.wait_for("views.open", opened + 1)
    view = current(slack, slack.last_view_id())
    return _photo_form(slack, view, name, {Block.PHOTO_FILES: []}, CHANNEL)


def photo_dm_form(slack: SlackHarness, tag: str) -> Form:
    """A photo sent to the bot in a DM (the event delivered twice), then its button's modal."""
    from bot.ids import Action

    name = f"panel-{tag}.jpg"
    photo = slack.fake_slack.add_file(JPEG, name)
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel_type": "im",
        "channel": DM,
        "user": USER,
        "text": "",
        "ts": "1700000000.000500",
        "files": [photo],
    }
    slack.event(event, event_id=f"Ev{tag.upper()}")
    slack.event(event, event_id=f"Ev{tag.upper()}", retry_num=1)  # Slack's retry of the same
    slack.wait_until(lambda: posts_to(slack, DM), timeout=WAIT)
    slack.wait_until(
        lambda: list(slack.store.db.query("select 1 from slack_events where status = 'done'")),
        timeout=WAIT,
    )
    prompts = posts_to(slack, DM)
    button = prompts[0]["blocks"][1]["elements"][0]
    opened = len(slack.fake_slack.calls_to("views.open"))
    slack.block_action(Action.ATTACH_DM_FILES, value=button["value"], channel=DM)
    slack.wait_for("views.open", opened + 1)
    view = current(slack, slack.last_view_id())
    made = _photo_form(slack, view, name, {}, DM)
    uploads = made.extra_copies

    def extra() -> int:
        # A second "Attach to a Coperniq form" prompt for the one event is a duplicate too.
        asked = [p for p in posts_to(slack, DM) if Action.ATTACH_DM_FILES in str(p.get("blocks"))]
        return uploads() + max(len(asked) - 1, 0)

    made.extra_copies = extra
    return made


SURFACES: dict[str, Callable[[SlackHarness, str], Form]] = {
    "request modal": request_form,
    "call modal": call_form,
    "photo modal": photo_modal_form,
    "photo shortcut": photo_shortcut_form,
    "photo DM": photo_dm_form,
}


def _send(slack: SlackHarness, made: Form, *, again: bool = False) -> None:
    """Submit (or deliver the same submission again) and wait until the app has answered."""
    updates = len(slack.fake_slack.calls_to("views.update"))
    if again:
        answer = resubmit(slack, made.view, made.values)
    else:
        answer = submit(slack, made.view, made.values)
    view = (answer or {}).get("view")
    if view is not None and STILL_WORKING not in str(view.get("blocks")):
        return  # answered in the ack: already done, or already in progress
    slack.wait_for("views.update", updates + 1, timeout=WAIT)


def _tally(made: Form, out: Outcome) -> Outcome:
    copies = made.count()
    if copies == 0:
        out.lost += 1
        out.notes.append("no copy in Coperniq")
    extra = made.extra_copies()
    out.duplicates += max(copies - 1, 0) + extra
    if copies > 1:
        out.notes.append(f"{copies} copies in Coperniq")
    if extra:
        out.notes.append(f"{extra} extra upload(s) or prompt(s)")
    return out


def play_write_fault(surface: str, step: str, fault: str) -> Callable[[SlackHarness], Outcome]:
    """The write fails once; a person told so presses the button again; one copy in the end."""

    def play(slack: SlackHarness) -> Outcome:
        made = SURFACES[surface](slack, _tag(slack))
        inject = {"times": 1, **WRITE_FAULTS[fault].inject}
        slack.sandbox.inject(path=made.paths[step], method="POST", **inject)
        _send(slack, made)
        out = Outcome()
        if made.succeeded():
            return _tally(made, out)
        shown = made.shown()
        if made.count() == 0 and made.typed not in shown:
            out.lost += 1
            out.notes.append("not saved, and the person was not shown what they typed")
            return out
        # Told it failed or may not have been saved: the person presses the button again.
        _send(slack, made, again=True)
        if not made.succeeded():
            out.notes.append("the second press did not confirm either")
        return _tally(made, out)

    return play


def play_double_click(surface: str, step: str) -> Callable[[SlackHarness], Outcome]:
    """Two submissions of the same modal while the first write is still in flight."""

    def play(slack: SlackHarness) -> Outcome:
        made = SURFACES[surface](slack, _tag(slack))
        slack.sandbox.inject(path=made.paths[step], method="POST", latency=1.0, times=1)
        first = threading.Thread(target=_send, args=(slack, made), daemon=True)
        first.start()
        # The claim is taken before the write goes out: a pending row means it is in flight.
        slack.wait_until(
            lambda: list(slack.store.db.query("select 1 from submissions where state = 'pending'")),
            timeout=WAIT,
        )
        _send(slack, made, again=True)
        first.join(timeout=WAIT)
        slack.wait_until(made.succeeded, timeout=WAIT)
        return _tally(made, Outcome())

    return play


def play_slack_retry(surface: str) -> Callable[[SlackHarness], Outcome]:
    """Slack delivers the same view_submission again after the first was saved."""

    def play(slack: SlackHarness) -> Outcome:
        made = SURFACES[surface](slack, _tag(slack))
        _send(slack, made)
        _send(slack, made, again=True)
        out = _tally(made, Outcome())
        if not made.succeeded():
            out.notes.append("no confirmation")
        return out

    return play


_COUNTER = itertools.count(1)
_COUNTER_LOCK = threading.Lock()


def _tag(slack: SlackHarness) -> str:
    """A name part no other scenario in this process uses (records are told apart by it)."""
    with _COUNTER_LOCK:
        return f"t{next(_COUNTER)}"


# --- the scheduled jobs -----------------------------------------------------------------------


@dataclass
class JobWorld:
    """A dated Coperniq sandbox, the fake Slack and a database path for one job scenario."""

    sb: Any
    fs: Any
    path: Path


@dataclass(frozen=True)
class JobFault:
    label: str
    slack: dict[str, Any] | None = None  # FakeSlack.fail(**) on chat.postMessage
    coperniq: dict[str, Any] | None = None  # sandbox.inject(**) on the job's listing


JOB_FAULTS = {
    "slack-ratelimited": JobFault(
        "Slack ratelimited once", slack={"error": "ratelimited", "times": 1, "retry_after": 2}
    ),
    "slack-ratelimited-stays": JobFault(
        "Slack ratelimited on every try", slack={"error": "ratelimited", "times": None}
    ),
    "slack-500": JobFault(
        "Slack HTTP 500", slack={"error": "internal_error", "times": 1, "status": 500}
    ),
    "page2-500": JobFault("Coperniq 500 on page 2, once", coperniq={"status": 500, "times": 1}),
    "page2-500-stays": JobFault("Coperniq 500 on page 2 all run", coperniq={"status": 500}),
    "page2-429": JobFault("Coperniq 429 on page 2, once", coperniq={"status": 429, "times": 1}),
    "page2-timeout-stays": JobFault(
        "Coperniq timeout on page 2 all run", coperniq={"timeout": 0.2}
    ),
}
JOB_LISTINGS = {"overdue-invoices": "/invoices", "form-sla": "/projects"}


def _job_run(job: str, env: Any, now: datetime) -> Any:
    from jobs import engine
    from jobs.registry import JOBS

    return engine.run(JOBS[job], env.deps, now, poster=env.poster)


def _expected(job: str, env: Any) -> set[str]:
    """What the digests must have announced by now, from Coperniq's own data."""
    from jobs.invoices import select as invoices
    from jobs.sla import select as sla

    sb, tz = env.sb, env.settings.timezone
    if job == "overdue-invoices":
        return {i.key for i in invoices.select(sb.find("invoices"), JOB_NOW, tz)}
    projects = sb.find("projects")
    risky = {int(p["id"]) for p, _ in sla.at_risk(projects)}
    forms: dict[int, list[dict[str, Any]]] = {pid: [] for pid in risky}
    for f in sb.find("forms"):
        if f.get("projectId") in forms:
            forms[int(f["projectId"])].append(f)
    return {a.key for a in sla.select(projects, forms, JOB_NOW, tz)}


def _digests_per_item(env: Any, channel: str) -> dict[str, int]:
    """For each item, how many digests (a message with its thread replies) listed it."""
    from jobs import state

    roots: dict[str, set[str]] = {}
    for message in env.fs.messages(channel):
        model = state.load_model(env.deps.store.db, channel, message["ts"]) or {}
        root = message.get("thread_ts") or message["ts"]
        for item in model.get("items") or []:
            roots.setdefault(item["key"], set()).add(root)
    return {key: len(found) for key, found in roots.items()}


def play_job_fault(job: str, fault: str) -> Callable[[JobWorld], Outcome]:
    """The fault hits the first run; the next two runs (an hour apart) are fault-free."""

    def play(world: JobWorld) -> Outcome:
        from tests.jobs.conftest import INVOICE_CHANNEL, SLA_CHANNEL, make_env, stuck_project

        channel = INVOICE_CHANNEL if job == "overdue-invoices" else SLA_CHANNEL
        env = make_env(world.sb, world.fs, world.path)
        out = Outcome()
        try:
            if job == "form-sla":
                for days in (30, 20, 9):
                    stuck_project(world.sb, days=days, forms=2)
            spec = JOB_FAULTS[fault]
            if spec.slack:
                world.fs.fail("chat.postMessage", **spec.slack)
            if spec.coperniq:
                world.sb.inject(path=JOB_LISTINGS[job], method="GET", page=2, **spec.coperniq)
            for n in range(3):
                try:
                    result = _job_run(job, env, JOB_NOW + timedelta(hours=n))
                except Exception as exc:  # the scheduler logs it; the next run must make up
                    out.raised += 1
                    out.notes.append(f"run {n + 1} raised {type(exc).__name__}")
                else:
                    if result.failed:
                        out.notes.append(f"run {n + 1}: {result.failed} failed")
                world.sb.clear_faults()
                world.fs.clear_faults()
            expected = _expected(job, env)
            listed = _digests_per_item(env, channel)
            missing = expected - set(listed)
            out.lost = len(missing)
            if missing:
                out.notes.append(f"never announced: {sorted(missing)[:5]}")
            out.duplicates = sum(n - 1 for n in listed.values() if n > 1)
            if not expected:
                out.notes.append("nothing was due: the scenario proves nothing")
                out.lost += 1
        finally:
            env.deps.coperniq.close()
            env.deps.store.close()
        return out

    return play


# --- the table --------------------------------------------------------------------------------


def _build() -> list[Scenario]:
    table: list[Scenario] = []

    def add(surface: str, fault: str, play: Callable[[Any], Outcome], kind: str = "slack") -> None:
        table.append(Scenario(surface, fault, kind, play))

    for surface in ("request modal", "call modal"):
        for fault in (
            "500",
            "500-after",
            "429",
            "429-twice",
            "timeout",
            "timeout-after",
            "drop",
            "drop-after",
            "400",
        ):
            add(surface, WRITE_FAULTS[fault].label, play_write_fault(surface, "create", fault))
        add(surface, "double click", play_double_click(surface, "create"))
        add(surface, "Slack retry of the submission", play_slack_retry(surface))
    for fault in ("500", "500-after", "429", "timeout-after", "drop", "drop-after", "400"):
        label = WRITE_FAULTS[fault].label
        add("photo modal", f"upload: {label}", play_write_fault("photo modal", "upload", fault))
        add("photo modal", f"attach: {label}", play_write_fault("photo modal", "attach", fault))
    add("photo modal", "double click", play_double_click("photo modal", "upload"))
    add("photo modal", "Slack retry of the submission", play_slack_retry("photo modal"))
    for fault in ("500-after", "drop-after"):
        label = WRITE_FAULTS[fault].label
        for surface in ("photo shortcut", "photo DM"):
            add(surface, f"upload: {label}", play_write_fault(surface, "upload", fault))
            add(surface, f"attach: {label}", play_write_fault(surface, "attach", fault))
    add("photo shortcut", "Slack retry of the submission", play_slack_retry("photo shortcut"))
    add("photo DM", "Slack retry of the event and the submission", play_slack_retry("photo DM"))
    for job in ("overdue-invoices", "form-sla"):
        for fault, spec in JOB_FAULTS.items():
            add(job, spec.label, play_job_fault(job, fault), kind="job")
    return table


SCENARIOS: list[Scenario] = _build()
