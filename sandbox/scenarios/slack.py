"""The Slack-initiated writes under Coperniq faults: the surfaces, the faults, how each is played.

Each surface (request and call modals, photo modal, message shortcut, a DM'd photo's button) opens
its modal on the real app and fills it in (`Form`); a play function injects one fault on the write,
then does what a person or Slack does next, and counts the copies in Coperniq (`Outcome`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.ids import Action, Block, Callback
from sandbox.scenarios.modals import (
    choose_project_and_form,
    current,
    open_form_with_file,
    open_modal,
    posts_to,
    resubmit,
    submit,
)
from sandbox.scenarios.outcome import Outcome, new_tag
from sandbox.slackclient import CHANNEL, USER, SlackHarness

WAIT = 20.0  # bound on any wait for the app (timeouts hold 0.5 s; nothing should come near it)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 2000
DM = "D0USERDM"
STILL_WORKING = "You can close this window"  # the saving/working modals; anything else is final


# --- Coperniq faults on one write -------------------------------------------------------------


@dataclass(frozen=True)
class WriteFault:
    """A Coperniq fault on one write: its label in the table and sandbox.inject's arguments."""

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
        # The note's first line is what was typed; the bot signs it on a line of its own.
        return sum((c.get("note") or "").partition("\n")[0] == note for c in sb.find("calls"))

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
    project, form, field_ = open_form_with_file(slack)
    view = choose_project_and_form(slack, view, project, form)
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
        made = SURFACES[surface](slack, new_tag())
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
        made = SURFACES[surface](slack, new_tag())
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
        made = SURFACES[surface](slack, new_tag())
        _send(slack, made)
        _send(slack, made, again=True)
        out = _tally(made, Outcome())
        if not made.succeeded():
            out.notes.append("no confirmation")
        return out

    return play
