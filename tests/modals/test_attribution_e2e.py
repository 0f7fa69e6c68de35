"""Writes from Slack say who made them, in Coperniq and in the audit log: the real app over HTTP
against the fake Slack and the Coperniq sandbox (which checks every request against the spec)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.ids import Block
from sandbox.scenarios.modals import choose_project_and_form, open_form_with_file
from tests.modals.e2e import open_modal, posts_to, resubmit, submit, writes
from tests.slack.harness import CHANNEL, USER

DANA = "dana.whitfield@sunbelt.example.com"  # seeded Coperniq user 1001
START = int(datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp())
CALL = {
    Block.CALL_FROM: "512-555-0177",
    Block.CALL_START: START,
    Block.CALL_DURATION: "12",
    Block.CALL_REASON: "SERVICE",
    Block.CALL_DISPOSITION: "VISIT_SCHEDULED",
    Block.CALL_NOTE: "Wants a visit Tuesday",
}
REQUEST = {
    Block.REQUEST_TITLE: "AC not cooling",
    Block.REQUEST_ADDRESS: "12 Oak St, Austin, TX 78701",
    Block.REQUEST_TRADES: ["HVAC"],
    Block.REQUEST_CONTACT: "Maria Lopez",
    Block.REQUEST_PHONE: "(512) 555-0134",
    Block.REQUEST_DESCRIPTION: "Blowing warm air since Monday",
}


def _log_call(slack: Any, values: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    """Log a call on the first project and wait for the confirmation: (project, the POST)."""
    project = slack.sandbox.find("projects")[0]
    view = open_modal(slack, f"call {project['number']}", updates=1)
    submit(slack, view, values or CALL)
    _wait_done(slack, view)
    posts = writes(slack, "POST", f"/projects/{project['id']}/calls")
    assert len(posts) == 1
    return project, posts[0]


def _wait_done(slack: Any, view: dict[str, Any]) -> None:
    """Wait until the modal shows its last state (after the confirmation in the channel)."""
    slack.wait_until(lambda: ":white_check_mark:" in str(slack.fake_slack.view(view["id"])))


def _open_request(slack: Any) -> Any:
    """Open the request and wait for its confirmation: the POST."""
    view = open_modal(slack, "request", updates=1)
    submit(slack, view, REQUEST)
    _wait_done(slack, view)
    posts = writes(slack, "POST", "/opportunities")
    assert len(posts) == 1
    return posts[0]


def _audit(slack: Any) -> list[tuple[str, str, int | None]]:
    rows = slack.store.db.query("select slack_user, action, coperniq_user_id from audit_log")
    return [(r["slack_user"], r["action"], r["coperniq_user_id"]) for r in rows]


def _users_info(slack: Any) -> list[dict[str, Any]]:
    return slack.fake_slack.calls_to("users.info")


def test_a_linked_persons_call_note_is_signed_with_their_coperniq_name(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA, real_name="Dana W. (Slack)")
    _, post = _log_call(slack)
    assert post.body["note"] == "Wants a visit Tuesday\n— logged from Slack by Dana Whitfield"
    assert _audit(slack) == [(USER, "log_call", 1001)]
    assert len(_users_info(slack)) == 1  # the link and the name from one users.info


def test_a_call_without_a_note_gets_the_signature_alone(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    _, post = _log_call(slack, {**CALL, Block.CALL_NOTE: ""})
    assert post.body["note"] == "— logged from Slack by Dana Whitfield"
    # The channel's confirmation quotes the person's note only: it names them already.
    assert "> " not in str(posts_to(slack, CHANNEL)[0]["blocks"])


def test_a_linked_persons_request_description_is_signed_with_their_coperniq_name(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    post = _open_request(slack)
    assert post.body["description"] == (
        "Blowing warm air since Monday\n\n"
        "Contact: Maria Lopez, (512) 555-0134\n"
        "— opened from Slack by Dana Whitfield"
    )
    assert _audit(slack) == [(USER, "create_request", 1001)]


def test_an_unlinked_person_signs_with_their_slack_real_name(slack) -> None:
    slack.fake_slack.add_user(USER, email="pat@elsewhere.example.com", real_name="Pat  Quinn\n")
    _, call = _log_call(slack)
    assert call.body["note"].endswith("\n— logged from Slack by Pat Quinn")
    post = _open_request(slack)
    assert post.body["description"].endswith("\n— opened from Slack by Pat Quinn")
    assert _audit(slack) == [(USER, "log_call", None), (USER, "create_request", None)]


def test_an_admins_link_signs_with_the_linked_name_without_asking_slack(slack) -> None:
    slack.store.db["slack_links"].insert(
        {"slack_user": USER, "coperniq_user_id": 1004, "email": "tom.nguyen@sunbelt.example.com"}
    )
    _, post = _log_call(slack)
    assert post.body["note"].endswith("— logged from Slack by Tom Nguyen")
    assert _audit(slack) == [(USER, "log_call", 1004)]
    assert _users_info(slack) == []


def test_when_slack_cannot_say_who_it_is_the_call_is_still_logged_by_a_slack_user(slack) -> None:
    slack.fake_slack.fail("users.info", "missing_scope", times=None)
    _, post = _log_call(slack)
    assert post.body["note"] == "Wants a visit Tuesday\n— logged from Slack by a Slack user"
    assert USER not in post.body["note"]
    assert _audit(slack) == [(USER, "log_call", None)]
    assert len(_users_info(slack)) == 1


def test_when_slack_is_down_the_request_is_still_opened_by_a_slack_user(slack) -> None:
    slack.fake_slack.fail("users.info", "internal_error", times=None, status=500)
    post = _open_request(slack)
    assert post.body["description"].endswith("\n— opened from Slack by a Slack user")
    assert _audit(slack) == [(USER, "create_request", None)]


def test_the_same_call_submitted_twice_is_logged_once_and_asks_slack_once(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    project = slack.sandbox.find("projects")[0]
    view = open_modal(slack, f"call {project['number']}", updates=1)
    submit(slack, view, CALL)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    answer = resubmit(slack, view, CALL)
    assert "already logged" in str(answer["view"]["blocks"])
    assert len(writes(slack, "POST", f"/projects/{project['id']}/calls")) == 1
    assert _audit(slack) == [(USER, "log_call", 1001)]
    assert len(_users_info(slack)) == 1


def test_the_same_request_submitted_twice_is_created_once(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    view = open_modal(slack, "request", updates=1)
    submit(slack, view, REQUEST)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    answer = resubmit(slack, view, REQUEST)
    assert "already created" in str(answer["view"]["blocks"])
    assert len(writes(slack, "POST", "/opportunities")) == 1
    assert _audit(slack) == [(USER, "create_request", 1001)]


def _wait_unsure(slack: Any) -> None:
    slack.wait_until(
        lambda: any(
            "may or may not" in str(c["view"]["blocks"])
            for c in slack.fake_slack.calls_to("views.update")
        ),
        timeout=15,
    )


def test_a_signed_call_whose_answer_was_lost_is_found_not_logged_again(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    project = slack.sandbox.find("projects")[0]
    path = f"/projects/{project['id']}/calls"
    view = open_modal(slack, f"call {project['number']}", updates=1)
    slack.sandbox.inject(path=path, method="POST", timeout=0.5, apply_first=True, times=1)
    submit(slack, view, CALL)
    _wait_unsure(slack)
    submit(slack, view, CALL)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    signed = [
        c
        for c in slack.sandbox.find("calls")
        if (c.get("note") or "").endswith("— logged from Slack by Dana Whitfield")
    ]
    assert len(signed) == 1 and len(writes(slack, "POST", path)) == 1
    rows = list(slack.store.db.query("select outcome, coperniq_user_id from audit_log"))
    assert rows == [{"outcome": "found_after_unknown_outcome", "coperniq_user_id": 1001}]


def test_a_signed_request_whose_answer_was_lost_is_found_not_created_again(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    view = open_modal(slack, "request", updates=1)
    slack.sandbox.inject(
        path="/opportunities", method="POST", timeout=0.5, apply_first=True, times=1
    )
    submit(slack, view, REQUEST)
    _wait_unsure(slack)
    submit(slack, view, REQUEST)
    slack.wait_until(lambda: posts_to(slack, CHANNEL))
    made = [o for o in slack.sandbox.find("opportunities") if o.get("title") == "AC not cooling"]
    assert len(made) == 1 and len(writes(slack, "POST", "/opportunities")) == 1
    assert made[0]["description"].endswith("— opened from Slack by Dana Whitfield")
    rows = list(slack.store.db.query("select outcome, coperniq_user_id from audit_log"))
    assert rows == [{"outcome": "found_after_unknown_outcome", "coperniq_user_id": 1001}]


# --- photos: a note on the project says who added them ----------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 2000


def _photo_form(slack: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Any]:
    """(project, form, FILE field, the photo modal with the project and form chosen)."""
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    return project, form, field, view


def _notes(slack: Any, project: dict[str, Any]) -> list[Any]:
    return writes(slack, "POST", f"/projects/{project['id']}/notes")


def test_photos_get_one_project_note_naming_who_added_them(slack) -> None:
    slack.fake_slack.add_user(USER, email=DANA)
    project, form, field, view = _photo_form(slack)
    files = [
        slack.fake_slack.add_file(JPEG, "roof1.jpg"),
        slack.fake_slack.add_file(JPEG, "r2.jpg"),
    ]
    values = {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files}
    submit(slack, view, values)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    notes = _notes(slack, project)
    assert len(notes) == 1 and notes[0].status == 201
    where = f"{form['name']} · {field['name']}"
    assert notes[0].body == {
        "body": f"2 photos added to {where}, from Slack by Dana Whitfield: roof1.jpg, r2.jpg"
    }
    assert _audit(slack) == [
        (USER, "attach_photo", 1001),
        (USER, "attach_photo", 1001),
        (USER, "photo_note", 1001),
    ]
    # Slack's retry of the same submission: nothing attached, so nothing noted, Slack not asked.
    resubmit(slack, view, values)
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2, timeout=10)
    assert len(_notes(slack, project)) == 1 and len(_audit(slack)) == 3
    assert len(_users_info(slack)) == 1


def test_an_unlinked_persons_photo_note_names_them_by_their_slack_name(slack) -> None:
    slack.fake_slack.add_user(USER, email="pat@elsewhere.example.com", real_name="Pat Quinn")
    project, _, field, view = _photo_form(slack)
    file = slack.fake_slack.add_file(JPEG, "panel.jpg")
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [file]})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    body = _notes(slack, project)[0].body["body"]
    assert body.startswith("1 photo added to ") and body.endswith(
        ", from Slack by Pat Quinn: panel.jpg"
    )
    assert {row[2] for row in _audit(slack)} == {None}


def test_a_failed_note_leaves_the_photos_attached_and_says_nothing_failed(slack) -> None:
    project, form, field, view = _photo_form(slack)
    slack.sandbox.inject(path=f"/projects/{project['id']}/notes", method="POST", status=500)
    file = slack.fake_slack.add_file(JPEG, "meter.jpg")
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [file]})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    text = posts_to(slack, CHANNEL)[0]["text"]
    assert "1 photo attached" in text and "failed" not in text
    assert len(writes(slack, "POST", f"/forms/{form['id']}/fields/file-from-url")) == 1
    assert [r.status for r in _notes(slack, project)] == [500]
    assert [row[1] for row in _audit(slack)] == ["attach_photo"]


def test_a_photo_whose_attach_answer_was_lost_is_noted_when_the_retry_finds_it(slack) -> None:
    project, form, field, view = _photo_form(slack)
    path = f"/forms/{form['id']}/fields/file-from-url"
    slack.sandbox.inject(path=path, method="POST", timeout=0.5, apply_first=True, times=1)
    file = slack.fake_slack.add_file(JPEG, "inverter.jpg")
    values = {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [file]}
    submit(slack, view, values)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    assert _notes(slack, project) == []  # not known to be attached: nothing to say yet
    resubmit(slack, view, values)
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2, timeout=10)
    assert len(writes(slack, "POST", path)) == 1
    notes = _notes(slack, project)
    assert len(notes) == 1 and notes[0].body["body"].endswith(": inverter.jpg")
