from __future__ import annotations

from bot.blocks.photo import MAX_UPLOAD_BYTES
from bot.ids import Action, Block, Callback
from sandbox.scenarios.modals import choose_project_and_form, input_block, open_form_with_file
from tests.modals.e2e import current, open_modal, posts_to, resubmit, submit, writes
from tests.modals.slackstate import check_message
from tests.slack.harness import CHANNEL, USER

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1500
DM = "D0USERDM"


def _attaches(slack, form_id):
    return writes(slack, "POST", f"/forms/{form_id}/fields/file-from-url")


def test_photos_go_to_the_chosen_form_field_once_each(slack):
    project, form, field = open_form_with_file(slack)
    view = open_modal(slack, "photo")
    assert slack.sandbox.requests == []
    view = choose_project_and_form(slack, view, project, form)
    assert input_block(view, Block.PHOTO_PROJECT)["element"]["initial_option"]["value"] == (
        f"project:{project['id']}"
    )
    files = [
        slack.fake_slack.add_file(JPEG, "roof1.jpg"),
        slack.fake_slack.add_file(PNG, "roof2.png", mimetype="image/png"),
    ]
    answer = submit(
        slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files}
    )
    assert answer["response_action"] == "update"
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    uploads = writes(slack, "POST", f"/projects/{project['id']}/files/upload")
    assert [u.status for u in uploads] == [200, 200]
    attaches = _attaches(slack, form["id"])
    assert [a.status for a in attaches] == [200, 200]
    assert attaches[0].body["columnId"] == field["columnId"]
    assert attaches[0].body["action"] == "add" and attaches[0].body["projectId"] == project["id"]
    assert {a.body["name"] for a in attaches} == {"roof1.jpg", "roof2.png"}
    assert attaches[0].body["url"].startswith("http")
    values = [
        f
        for g in slack.sandbox.get("forms", form["id"])["formLayouts"]
        for f in g["properties"]
        if f["columnId"] == field["columnId"]
    ][0]["value"]
    # Attached as each upload ends (in parallel): in the order they arrive, not always chosen.
    assert sorted(v["name"] for v in values[-2:]) == ["roof1.jpg", "roof2.png"]
    message = posts_to(slack, CHANNEL)[0]
    check_message({"text": message["text"], "blocks": message["blocks"]})
    assert "2 photos attached" in message["text"] and form["name"] in message["text"]
    assert field["name"] in message["text"]
    rows = list(slack.store.db.query("select action, record_id from audit_log order by id"))
    # Each photo, then the project note saying who added them.
    assert [r["action"] for r in rows] == ["attach_photo", "attach_photo", "photo_note"]
    assert {r["record_id"] for r in rows} == {str(project["id"])}
    # The same submission again (Slack's retry) attaches nothing twice.
    resubmit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files})
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2, timeout=10)
    assert len(_attaches(slack, form["id"])) == 2
    assert "already there" in str(posts_to(slack, CHANNEL)[1]["blocks"])


def test_an_oversize_photo_is_refused_inline_naming_the_limit(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    big = slack.fake_slack.add_file(JPEG + b"\x00" * MAX_UPLOAD_BYTES, "huge.jpg")
    answer = submit(
        slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [big]}
    )
    assert answer["response_action"] == "errors"
    assert "6 MB" in answer["errors"][Block.PHOTO_FILES]
    assert "huge.jpg" in answer["errors"][Block.PHOTO_FILES]
    assert writes(slack, "POST", "/projects") == [] and _attaches(slack, form["id"]) == []


def test_missing_choices_are_errors_on_blocks_the_modal_shows(slack):
    view = open_modal(slack, "photo")
    answer = submit(slack, view, {})
    assert answer["response_action"] == "errors"
    shown = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert set(answer["errors"]) <= shown and Block.PHOTO_PROJECT in answer["errors"]


def test_a_login_page_download_fails_that_photo_only_and_says_why(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    good = slack.fake_slack.add_file(JPEG, "ok.jpg")
    locked = slack.fake_slack.add_file(JPEG, "locked.jpg", login_page=True)
    submit(
        slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [good, locked]}
    )
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    message = posts_to(slack, CHANNEL)[0]
    assert "1 photo attached" in message["text"]
    assert "locked.jpg" in message["text"] and "sign-in page" in message["text"]
    assert len(_attaches(slack, form["id"])) == 1
    assert len(writes(slack, "POST", f"/projects/{project['id']}/files/upload")) == 1


def test_a_coperniq_failure_on_one_photo_is_named(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    files = [slack.fake_slack.add_file(JPEG, "a.jpg"), slack.fake_slack.add_file(JPEG, "b.jpg")]
    slack.sandbox.inject(
        path=f"/forms/{form['id']}/fields/file-from-url",
        method="POST",
        status=400,
        times=1,
        body={"message": "bad", "code": "VALIDATION_ERROR", "field": "url"},
    )
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    text = posts_to(slack, CHANNEL)[0]["text"]
    # The photos go in parallel: the refused one is whichever reached Coperniq first.
    refused = [a.body["name"] for a in _attaches(slack, form["id"]) if a.status == 400]
    assert len(refused) == 1
    assert "1 photo attached" in text and "1 failed" in text and refused[0] in text


def test_message_shortcut_opens_the_modal_with_the_message_photos(slack):
    project, form, field = open_form_with_file(slack)
    photo = slack.fake_slack.add_file(JPEG, "site.jpg")
    doc = slack.fake_slack.add_file(b"%PDF-1.4", "spec.pdf", mimetype="application/pdf")
    slack.message_action(
        Callback.ATTACH_SHORTCUT, {"ts": "1700000000.000100", "text": "roof", "files": [photo, doc]}
    )
    slack.wait_for("views.open")
    view = current(slack, slack.last_view_id())
    assert "site.jpg" in str(view["blocks"]) and "spec.pdf" not in str(view["blocks"])
    assert input_block(view, Block.PHOTO_FILES)["optional"] is True
    view = choose_project_and_form(slack, view, project, form)
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: []})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    message = posts_to(slack, CHANNEL)[0]
    assert message["thread_ts"] == "1700000000.000100"  # answered under the photos
    assert "1 photo attached" in message["text"]
    assert _attaches(slack, form["id"])[0].body["name"] == "site.jpg"


def test_message_shortcut_on_a_message_without_photos_says_so(slack):
    slack.message_action(Callback.ATTACH_SHORTCUT, {"ts": "1700000000.000300", "text": "hi"})
    opened = slack.wait_for("views.open")[-1]["view"]
    assert "no photos" in str(opened["blocks"])


def test_photos_in_a_dm_get_one_answer_with_a_button_that_opens_the_modal(slack):
    photo = slack.fake_slack.add_file(JPEG, "panel.jpg")
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
    assert slack.event(event, event_id="EvPHOTO1").status == 200
    assert slack.event(event, event_id="EvPHOTO1", retry_num=1).status == 200
    slack.wait_until(lambda: posts_to(slack, DM))
    slack.wait_until(
        lambda: list(
            slack.store.db.query(
                "select 1 from slack_events where event_id = 'EvPHOTO1' and status = 'done'"
            )
        )
    )
    posts = posts_to(slack, DM)
    assert len(posts) == 1
    check_message({"text": posts[0]["text"], "blocks": posts[0]["blocks"]})
    button = posts[0]["blocks"][1]["elements"][0]
    assert button["action_id"] == Action.ATTACH_DM_FILES
    slack.block_action(Action.ATTACH_DM_FILES, value=button["value"], channel=DM)
    slack.wait_for("views.open")
    view = current(slack, slack.last_view_id())
    assert "panel.jpg" in str(view["blocks"])
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, view, project, form)
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"])})
    slack.wait_until(lambda: len(posts_to(slack, DM)) == 2, timeout=10)
    assert "1 photo attached" in posts_to(slack, DM)[1]["text"]


def test_a_photo_command_with_a_project_number_shows_its_forms(slack):
    project, form, _ = open_form_with_file(slack)
    view = open_modal(slack, f"photo {project['number']}", updates=1)
    assert input_block(view, Block.PHOTO_PROJECT)["element"]["initial_option"]["value"] == (
        f"project:{project['id']}"
    )
    assert str(form["id"]) in [
        o["value"] for o in input_block(view, Block.PHOTO_FORM)["element"]["options"]
    ]


def test_after_an_attach_timed_out_the_retry_does_not_attach_a_second_copy(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    files = [slack.fake_slack.add_file(JPEG, "timed.jpg")]
    values = {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files}
    slack.sandbox.inject(
        path=f"/forms/{form['id']}/fields/file-from-url", method="POST", timeout=1.0, times=1
    )
    submit(slack, view, values)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=15)
    assert "1 failed" in posts_to(slack, CHANNEL)[0]["text"]
    # Coperniq did attach it before the connection dropped.
    stored = slack.sandbox.raw("forms", form["id"])
    for group in stored["formLayouts"]:
        for prop in group["properties"]:
            if prop["columnId"] == field["columnId"]:
                prop["value"] = (prop.get("value") or []) + [
                    {"id": 1, "name": "timed.jpg", "downloadUrl": "http://x/1", "metaData": {}}
                ]
    slack.sandbox.put("forms", stored)
    resubmit(slack, view, values)
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2, timeout=10)
    assert "already there" in str(posts_to(slack, CHANNEL)[1]["blocks"])
    assert [a.status for a in _attaches(slack, form["id"])] == [0]


def test_the_find_button_opens_the_photo_modal_on_that_project(slack):
    project, form, _ = open_form_with_file(slack)
    slack.block_action(Action.OPEN_PHOTO_MODAL, value=f"project:{project['id']}")
    slack.wait_for("views.update")
    view = current(slack, slack.last_view_id())
    assert input_block(view, Block.PHOTO_PROJECT)["element"]["initial_option"]["value"] == (
        f"project:{project['id']}"
    )
    offered = [o["value"] for o in input_block(view, Block.PHOTO_FORM)["element"]["options"]]
    assert str(form["id"]) in offered


def test_a_file_whose_link_leaves_slack_is_not_fetched_and_is_named(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    good = slack.fake_slack.add_file(JPEG, "ok.jpg")
    odd = dict(slack.fake_slack.add_file(JPEG, "odd.jpg"))
    odd["url_private_download"] = "http://127.0.0.1:9/files-pri/T0TEST-F1/download/odd.jpg"
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: [good, odd]})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    text = posts_to(slack, CHANNEL)[0]["text"]
    assert "1 photo attached" in text and "odd.jpg" in text and "not on Slack" in text
    assert len(_attaches(slack, form["id"])) == 1


def test_a_shortcut_photo_with_a_long_name_is_uploaded_under_its_full_name(slack):
    project, form, field = open_form_with_file(slack)
    name = "2026-11-24 Smith residence roof inspection north side.jpg"
    photo = slack.fake_slack.add_file(JPEG, name)
    slack.message_action(
        Callback.ATTACH_SHORTCUT, {"ts": "1700000000.000700", "text": "roof", "files": [photo]}
    )
    slack.wait_for("views.open")
    view = choose_project_and_form(slack, current(slack, slack.last_view_id()), project, form)
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: []})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    assert _attaches(slack, form["id"])[0].body["name"] == name
    assert name in {f.get("name") for f in slack.sandbox.find("files")}


def test_after_a_timeout_a_retry_that_cannot_check_coperniq_attaches_nothing(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    values = {
        Block.PHOTO_FIELD: str(field["columnId"]),
        Block.PHOTO_FILES: [slack.fake_slack.add_file(JPEG, "maybe.jpg")],
    }
    slack.sandbox.inject(
        path=f"/forms/{form['id']}/fields/file-from-url", method="POST", timeout=1.0, times=1
    )
    submit(slack, view, values)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=15)
    # Coperniq cannot say whether the first try landed: the retry must not attach blindly.
    slack.sandbox.inject(path=f"/forms/{form['id']}", method="GET", status=503)
    resubmit(slack, view, values)
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2, timeout=15)
    assert "maybe.jpg" in posts_to(slack, CHANNEL)[1]["text"]
    assert [a.status for a in _attaches(slack, form["id"])] == [0]
    assert [r["state"] for r in slack.store.db.query("select state from submissions")] == [
        "unknown"
    ]


def test_a_second_submission_while_the_first_runs_posts_no_false_failure(slack):
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    values = {
        Block.PHOTO_FIELD: str(field["columnId"]),
        Block.PHOTO_FILES: [slack.fake_slack.add_file(JPEG, "twice.jpg")],
    }
    slack.sandbox.inject(
        path=f"/projects/{project['id']}/files/upload", method="POST", latency=1.5, times=1
    )
    submit(slack, view, values)
    slack.wait_for("file_download")  # the upload that follows takes 1.5 s
    resubmit(slack, view, values)  # a double click: the first is still uploading

    def said_in_progress():
        return [
            c
            for c in slack.fake_slack.calls_to("views.update")
            if "already being attached" in str(c.get("view"))
        ]

    slack.wait_until(said_in_progress, timeout=10)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    posts = posts_to(slack, CHANNEL)
    assert len(posts) == 1 and "1 photo attached" in posts[0]["text"]
    assert "failed" not in posts[0]["text"]
    assert len(_attaches(slack, form["id"])) == 1


def test_a_shortcut_photo_the_bot_cannot_see_says_how_to_get_it_through(slack):
    project, form, field = open_form_with_file(slack)
    hidden = {"id": "F0NOTSHARED", "name": "hidden.jpg", "mimetype": "image/jpeg", "size": 900}
    slack.message_action(
        Callback.ATTACH_SHORTCUT, {"ts": "1700000000.000900", "text": "x", "files": [hidden]}
    )
    slack.wait_for("views.open")
    view = choose_project_and_form(slack, current(slack, slack.last_view_id()), project, form)
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: []})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=10)
    text = posts_to(slack, CHANNEL)[0]["text"]
    assert "hidden.jpg" in text and "direct message" in text and "add me" in text
