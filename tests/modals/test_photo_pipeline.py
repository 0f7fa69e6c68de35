"""The photo pipeline: ten photos at once, each attached once, failures named, memory bounded."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlite_utils import Database

from bot import slackfiles
from bot.coperniq.resources.files import Files, Forms
from bot.flows import photo
from bot.ids import Block
from bot.people import Author
from sandbox.scenarios.modals import choose_project_and_form, open_form_with_file
from tests.modals.e2e import open_modal, posts_to, resubmit, submit, writes
from tests.slack.harness import CHANNEL, USER

# Larger than the spool's in-memory part, so every photo goes through the temporary file on disk.
BODY = 300 * 1024


def _jpeg(n: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes([n]) * BODY


def _ten(slack: Any) -> list[dict[str, Any]]:
    return [slack.fake_slack.add_file(_jpeg(i), f"roof{i:02d}.jpg") for i in range(10)]


def _field_names(slack: Any, form: dict[str, Any], field: dict[str, Any]) -> list[str]:
    for group in slack.sandbox.get("forms", form["id"])["formLayouts"]:
        for prop in group["properties"]:
            if prop["columnId"] == field["columnId"]:
                return [v["name"] for v in prop.get("value") or []]
    return []


def _attaches(slack: Any, form: dict[str, Any]) -> list[Any]:
    return writes(slack, "POST", f"/forms/{form['id']}/fields/file-from-url")


def _uploads(slack: Any, project: dict[str, Any]) -> list[Any]:
    return writes(slack, "POST", f"/projects/{project['id']}/files/upload")


def _modal(slack: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    project, form, field = open_form_with_file(slack)
    view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
    return project, form, field, view


def test_ten_photos_are_all_attached_once(slack):
    project, form, field, view = _modal(slack)
    before = _field_names(slack, form, field)
    files = _ten(slack)
    values = {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files}
    submit(slack, view, values)
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=30)
    text = posts_to(slack, CHANNEL)[0]["text"]
    assert "10 photos attached" in text and "failed" not in text
    names = [f["name"] for f in files]
    # Each is attached as soon as it is uploaded: in the order they arrive.
    assert _field_names(slack, form, field)[: len(before)] == before
    assert sorted(_field_names(slack, form, field)[len(before) :]) == names
    assert sorted(a.body["name"] for a in _attaches(slack, form)) == names
    assert [u.status for u in _uploads(slack, project)] == [200] * 10
    # Each upload carried the whole photo, streamed from its spooled file.
    # (The attach from a URL adds a record of its own, which the sandbox gives no bytes.)
    uploaded = [
        (f["name"], f["metaData"]["size"])
        for f in slack.sandbox.find("files")
        if f.get("name") in names and (f.get("metaData") or {}).get("size")
    ]
    assert sorted(uploaded) == [(n, len(_jpeg(0))) for n in names]
    rows = list(slack.store.db.query("select action from audit_log order by id"))
    assert [r["action"] for r in rows].count("attach_photo") == 10
    assert [r["action"] for r in rows][-1] == "photo_note"
    # Slack's retry of the same submission attaches none of them again.
    resubmit(slack, view, values)
    slack.wait_until(lambda: len(posts_to(slack, CHANNEL)) == 2, timeout=30)
    assert len(_attaches(slack, form)) == 10 and len(_uploads(slack, project)) == 10
    assert "already there" in str(posts_to(slack, CHANNEL)[1]["blocks"])
    assert sorted(_field_names(slack, form, field)[len(before) :]) == names


def test_a_photo_slack_will_not_give_is_named_and_the_other_nine_are_attached(slack):
    project, form, field, view = _modal(slack)
    files = _ten(slack)
    files[6] = slack.fake_slack.add_file(_jpeg(6), "locked.jpg", login_page=True)
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=30)
    text = posts_to(slack, CHANNEL)[0]["text"]
    assert "9 photos attached" in text and "1 failed" in text
    assert "locked.jpg" in text and "sign-in page" in text
    attached = sorted(a.body["name"] for a in _attaches(slack, form))
    assert attached == [f["name"] for f in files if f["name"] != "locked.jpg"]


def test_a_coperniq_upload_failure_names_that_photo_only(slack):
    project, form, field, view = _modal(slack)
    files = _ten(slack)
    slack.sandbox.inject(
        path=f"/projects/{project['id']}/files/upload",
        method="POST",
        status=400,
        times=1,
        body={"message": "bad file", "code": "VALIDATION_ERROR", "field": "file"},
    )
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=30)
    text = posts_to(slack, CHANNEL)[0]["text"]
    attached = {a.body["name"] for a in _attaches(slack, form)}
    missing = {f["name"] for f in files} - attached
    # Which photo reaches Coperniq first is up to the threads; the one refused is named.
    assert len(attached) == 9 and len(missing) == 1
    assert "9 photos attached" in text and "1 failed" in text and missing.pop() in text


class Crash(BaseException):
    """The process dying: nothing in the flow catches it."""


@pytest.mark.parametrize("where", ["after_upload", "after_attach"])
def test_after_a_crash_mid_way_the_retry_attaches_each_photo_exactly_once(
    slack, monkeypatch, where
):
    project, form, field = open_form_with_file(slack)
    before = _field_names(slack, form, field)
    files = _ten(slack)
    target = (Files, "upload") if where == "after_upload" else (Forms, "attach_file_from_url")
    real = getattr(*target)
    count = {"n": 0}
    lock = threading.Lock()

    def dies_on_the_third(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = real(self, *args, **kwargs)  # Coperniq took it...
        with lock:
            count["n"] += 1
            if count["n"] == 3:
                raise Crash  # ... and the bot died before it could write that down
        return answer

    monkeypatch.setattr(*target, dies_on_the_third)
    client = WebClient(token=slack.fake_slack.bot_token, base_url=slack.fake_slack.base_url)

    def attach() -> photo.PhotoResults:
        return photo.attach_photos(
            slack.store.db,
            slack.coperniq.interactive,
            client,
            user=USER,
            files=[dict(f) for f in files],
            project_id=project["id"],
            form_id=form["id"],
            column_id=field["columnId"],
            author=lambda: Author(slack_user=USER, name="Jane Doe", coperniq_id=None),
            field_label="Survey · Roof",
        )

    with pytest.raises(Crash):
        attach()
    states = [r["state"] for r in slack.store.db.query("select state from submissions")]
    assert states.count("pending") == 1 and states.count("done") == 9
    # The restarted bot finds the row its predecessor left (older than STALE_PENDING).
    slack.store.db.execute(
        "update submissions set updated_at = '2000-01-01T00:00:00.000000+00:00' "
        "where state = 'pending'"
    )
    monkeypatch.setattr(*target, real)
    results = attach()
    names = [f["name"] for f in files]
    assert results.failed == [] and results.pending == []
    # Died after the upload: the retry attaches that one, from the upload it left (no second
    # upload). Died after the attach: the retry finds it on the field and attaches nothing.
    assert len(results.attached) == (1 if where == "after_upload" else 0)
    assert len(results.attached) + len(results.already) == 10
    assert sorted(_field_names(slack, form, field)) == sorted(before + names)
    assert len(_uploads(slack, project)) == 10
    assert sorted(a.body["name"] for a in _attaches(slack, form)) == sorted(names)


def test_the_pipeline_transfers_its_limit_at_once_and_never_more(tmp_path):
    lock = threading.Lock()
    now = {"in_transfer": 0, "most": 0}
    # All of the limit must be in transfer at once to get past it (raises after 10 s if not).
    barrier = threading.Barrier(photo.PARALLEL_PHOTOS, timeout=10)

    def work(db: Database, item: dict[str, Any], lane: photo.Lane) -> int:
        with lane.transfer():
            with lock:
                now["in_transfer"] += 1
                now["most"] = max(now["most"], now["in_transfer"])
            if item["n"] < photo.PARALLEL_PHOTOS:
                barrier.wait()
            with lock:
                now["in_transfer"] -= 1
        return item["n"] * 10

    items = [{"id": f"F{n}", "n": n} for n in range(10)]
    results = photo.run_pipeline(Database(tmp_path / "p.db"), items, work)
    assert results == [n * 10 for n in range(10)]  # in the items' order, whatever ended first
    assert now["most"] == photo.PARALLEL_PHOTOS


def test_photos_outside_their_transfer_keep_no_other_from_theirs(tmp_path):
    # The first photo's attach is slow to come back: the nine after it still all get through.
    transferred = threading.Semaphore(0)

    def work(db: Database, item: dict[str, Any], lane: photo.Lane) -> None:
        if item["n"] == 0:
            with lane.transfer():
                pass
            for _ in range(9):
                assert transferred.acquire(timeout=10), "the others' transfers were held up"
            return
        with lane.transfer():
            transferred.release()

    items = [{"id": str(n), "n": n} for n in range(10)]
    photo.run_pipeline(Database(tmp_path / "p.db"), items, work)


def test_a_worker_that_raises_fails_its_item_only(tmp_path):
    def work(db: Database, item: dict[str, Any], lane: Any) -> str:
        if item["id"] == "F2":
            raise RuntimeError("boom")
        return item["id"]

    items = [{"id": f"F{n}"} for n in range(5)]
    assert photo.run_pipeline(Database(tmp_path / "p.db"), items, work) == [
        "F0",
        "F1",
        None,
        "F3",
        "F4",
    ]


def test_each_worker_writes_through_its_own_connection_to_the_same_file(tmp_path):
    db = Database(tmp_path / "p.db")
    db["t"].create({"n": int})

    def work(conn: Database, item: dict[str, Any], lane: Any) -> int:
        conn["t"].insert({"n": item["n"]})
        return id(conn)

    ids = photo.run_pipeline(db, [{"id": str(n), "n": n} for n in range(8)], work)
    assert id(db) not in ids  # never the caller's own connection from another thread
    assert sorted(r["n"] for r in db.query("select n from t")) == list(range(8))


def test_an_in_memory_database_runs_the_items_one_by_one_on_the_callers_thread():
    db = Database(memory=True)
    threads = set()

    def work(conn: Database, item: dict[str, Any], lane: Any) -> None:
        assert conn is db
        threads.add(threading.get_ident())

    photo.run_pipeline(db, [{"id": str(n)} for n in range(3)], work)
    assert threads == {threading.get_ident()}


def test_photos_in_flight_never_hold_more_than_their_spooled_heads_in_memory(slack, monkeypatch):
    project, form, field, view = _modal(slack)
    lock = threading.Lock()
    spools = {"open": 0, "most": 0, "made": 0, "in_memory_after_download": []}
    real = slackfiles.download_spooled

    def counted(*args: Any, **kwargs: Any) -> slackfiles.SpooledPhoto:
        got = real(*args, **kwargs)
        close = got.close

        def closing() -> None:
            close()
            with lock:
                spools["open"] -= 1

        got.close = closing  # type: ignore[method-assign]
        with lock:
            spools["open"] += 1
            spools["made"] += 1
            spools["most"] = max(spools["most"], spools["open"])
            # SpooledTemporaryFile keeps the bytes in memory until it rolls over to disk.
            spools["in_memory_after_download"].append(not got.file._rolled)  # type: ignore[attr-defined]
        return got

    monkeypatch.setattr(photo, "download_spooled", counted)
    submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: _ten(slack)})
    slack.wait_until(lambda: posts_to(slack, CHANNEL), timeout=30)
    assert "10 photos attached" in posts_to(slack, CHANNEL)[0]["text"]
    assert spools["made"] == 10 and spools["open"] == 0  # every spool closed
    assert spools["most"] <= photo.PARALLEL_PHOTOS
    # Each 300 KB photo went past the 256 KB kept in memory, so it waited on disk.
    assert spools["in_memory_after_download"] == [False] * 10


def test_a_spooled_download_keeps_at_most_its_threshold_in_memory():
    spool = _spool_of(b"\xff\xd8\xff\xe0" + b"\x01" * 5000, memory_bytes=1024)
    with spool:
        assert spool.file._rolled  # type: ignore[attr-defined]
        assert spool.size == 5004 and spool.read()[:3] == b"\xff\xd8\xff"
    tiny = _spool_of(b"\xff\xd8\xff\xe0" + b"\x01" * 100, memory_bytes=1024)
    with tiny:
        assert not tiny.file._rolled  # type: ignore[attr-defined]


def _spool_of(content: bytes, *, memory_bytes: int) -> slackfiles.SpooledPhoto:
    """download_spooled from a one-file loopback server standing in for Slack."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        return slackfiles.download_spooled(
            f"{origin}/p.jpg",
            "xoxb-t",
            max_bytes=10_000,
            api_url=origin + "/api/",
            memory_bytes=memory_bytes,
        )
    finally:
        server.shutdown()
        server.server_close()


def test_an_upload_from_a_file_over_the_limit_is_refused_before_any_request(tmp_path):
    from bot.coperniq import CoperniqClient
    from bot.coperniq.errors import PayloadTooLarge

    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024))
    # Nothing listens there: a request would fail to connect, not be refused for its size.
    with CoperniqClient("k", "http://127.0.0.1:9") as client, big.open("rb") as handle:
        handle.seek(100)
        with pytest.raises(PayloadTooLarge):
            client.interactive.files.upload("project", 1, handle, "big.jpg", "image/jpeg")
        assert handle.tell() == 0  # measured, then left at its start for the upload
