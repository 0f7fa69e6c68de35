from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import submissions as subs

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_fingerprint_depends_on_user_action_and_details():
    a = subs.fingerprint("U1", "request", {"title": "x"})
    assert a == subs.fingerprint("U1", "request", {"title": "x"})
    assert a != subs.fingerprint("U2", "request", {"title": "x"})
    assert a != subs.fingerprint("U1", "call", {"title": "x"})


def test_first_claim_writes_and_a_repeat_while_in_flight_is_pending(store):
    db = store.db
    assert subs.begin(db, "k", slack_user="U1", action="request", now=T0).verdict == "new"
    assert subs.begin(db, "k", slack_user="U1", action="request", now=T0).verdict == "pending"


def test_done_answers_the_existing_record(store):
    db = store.db
    subs.begin(db, "k", slack_user="U1", action="request", now=T0)
    subs.finish(db, "k", record_type="opportunity", record_id=5, record_number=1042)
    claim = subs.begin(db, "k", slack_user="U1", action="request", now=T0)
    assert (claim.verdict, claim.record_id, claim.record_number) == ("done", "5", "1042")


def test_unknown_outcome_asks_for_a_lookup_and_failed_may_retry(store):
    db = store.db
    subs.begin(db, "k", slack_user="U1", action="request", now=T0)
    subs.mark(db, "k", subs.UNKNOWN)
    claim = subs.begin(db, "k", slack_user="U1", action="request", now=T0 + timedelta(seconds=30))
    assert claim.verdict == "retry_unknown" and claim.first_at == T0
    assert subs.state_of(db, "k") == subs.PENDING
    subs.mark(db, "k", subs.FAILED)
    assert subs.begin(db, "k", slack_user="U1", action="request").verdict == "new"


def test_a_stale_pending_row_is_treated_as_unknown(store):
    db = store.db
    subs.begin(db, "k", slack_user="U1", action="request", now=T0)
    later = T0 + subs.STALE_PENDING + timedelta(seconds=1)
    assert (
        subs.begin(db, "k", slack_user="U1", action="request", now=later).verdict == "retry_unknown"
    )


def test_a_done_submission_older_than_the_repeat_window_is_new_again(store):
    db = store.db
    subs.begin(db, "k", slack_user="U1", action="request", now=T0)
    subs.finish(db, "k", record_type="opportunity", record_id=5, now=T0)
    window = timedelta(hours=24)
    soon = T0 + timedelta(hours=2)
    assert subs.begin(
        db, "k", slack_user="U1", action="r", now=soon, repeat_after=window
    ).verdict == ("done")
    later = T0 + timedelta(hours=25)
    claim = subs.begin(db, "k", slack_user="U1", action="r", now=later, repeat_after=window)
    assert claim.verdict == "new" and subs.state_of(db, "k") == subs.PENDING
    assert subs.begin(db, "k", slack_user="U1", action="r", now=later).verdict == "pending"


def test_progress_outlives_a_failed_try_and_is_handed_to_the_next(store):
    db = store.db
    subs.begin(db, "k", slack_user="U1", action="attach_photo", now=T0)
    subs.note_progress(db, "k", uploading={"name": "a.jpg", "size": 10})
    subs.note_progress(db, "k", uploaded={"id": 7, "downloadUrl": "http://x/7"}, uploading=None)
    subs.mark(db, "k", subs.FAILED)
    claim = subs.begin(db, "k", slack_user="U1", action="attach_photo", now=T0)
    assert claim.verdict == "new"
    assert claim.progress == {"uploaded": {"id": 7, "downloadUrl": "http://x/7"}}
    subs.mark(db, "k", subs.UNKNOWN)
    again = subs.begin(db, "k", slack_user="U1", action="attach_photo", now=T0)
    assert again.verdict == "retry_unknown" and again.progress == claim.progress


def test_a_repeat_after_the_window_starts_with_no_progress(store):
    db = store.db
    subs.begin(db, "k", slack_user="U1", action="r", now=T0)
    subs.note_progress(db, "k", uploaded={"id": 7})
    subs.finish(db, "k", record_type="form", record_id=5, now=T0)
    later = T0 + timedelta(hours=25)
    claim = subs.begin(
        db, "k", slack_user="U1", action="r", now=later, repeat_after=timedelta(hours=24)
    )
    assert claim.verdict == "new" and claim.progress is None


def _write(**overrides):
    from bot.coperniq.errors import ServerError

    calls = {"lookup": 0, "create": 0}

    def lookup(claim):
        calls["lookup"] += 1
        if overrides.get("lookup_fails"):
            raise ServerError("look-up failed", status=500)
        return overrides.get("found")

    def create(claim):
        calls["create"] += 1
        if overrides.get("create_error"):
            raise overrides["create_error"]
        return {"id": 7, "number": 1042}

    write = subs.Write(
        slack_user="U1",
        action="request",
        details={"title": "x"},
        what="Creating a request",
        lookup=lookup,
        create=create,
        saved_as=lambda r: subs.Saved("opportunity", r["id"], r.get("number")),
    )
    return write, calls


def test_write_once_creates_finishes_and_audits_then_answers_the_repeat(store):
    write, calls = _write()
    claims = []
    first = subs.write_once(store.db, write, on_claim=claims.append, now=T0)
    assert first.outcome is subs.Outcome.CREATED and first.record["id"] == 7
    assert [c.verdict for c in claims] == [subs.Verdict.NEW]
    again = subs.write_once(store.db, write, now=T0)
    assert again.outcome is subs.Outcome.ALREADY and again.record["id"] == "7"
    assert calls == {"lookup": 0, "create": 1}
    audited = list(store.db.query("select action, record_id, outcome from audit_log"))
    assert audited == [{"action": "request", "record_id": "7", "outcome": "created"}]


def test_a_look_up_that_fails_after_an_unknown_outcome_keeps_it_unknown(store):
    from bot.coperniq.errors import Timeout

    write, calls = _write(create_error=Timeout("t", outcome_unknown=True))
    assert subs.write_once(store.db, write, now=T0).outcome is subs.Outcome.UNKNOWN
    write, calls = _write(lookup_fails=True)
    later = T0 + timedelta(seconds=30)
    retried = subs.write_once(store.db, write, now=later)
    # Not FAILED: the next try would create without looking, and might make a second record.
    assert retried.outcome is subs.Outcome.UNKNOWN and calls["create"] == 0
    assert subs.state_of(store.db, write.key) == subs.UNKNOWN
    write, calls = _write(found={"id": 7})
    found = subs.write_once(store.db, write, now=later + timedelta(seconds=30))
    assert found.outcome is subs.Outcome.FOUND and calls == {"lookup": 1, "create": 0}


def test_a_refusal_before_writing_is_failed_with_the_reason(store):
    write, _ = _write(create_error=subs.NotWritten("Slack would not give the bot this file."))
    written = subs.write_once(store.db, write, now=T0)
    assert written.outcome is subs.Outcome.FAILED and "Slack" in (written.why or "")
    assert subs.state_of(store.db, write.key) == subs.FAILED
