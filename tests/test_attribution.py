"""Attribution of writes made from Slack: the audit log's Coperniq user, and who a Slack user is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bot import store as st


def test_an_upgraded_audit_log_keeps_its_rows_with_no_coperniq_user(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(str(path), isolation_level=None))
    st.migrations.apply(old, stop_before="m010_audit_people")
    old["audit_log"].insert({"at": "2026-03-02T15:00:00+00:00", "slack_user": "U1", "action": "x"})
    old.close()
    s = st.Store(path)
    try:
        assert s.db["audit_log"].columns_dict["coperniq_user_id"] is int
        assert [r["coperniq_user_id"] for r in s.db["audit_log"].rows] == [None]
    finally:
        s.close()


def test_an_audit_row_keeps_the_slack_user_and_the_coperniq_user(store: st.Store) -> None:
    st.audit(
        store.db,
        slack_user="U123",
        action="log_call",
        record_type="project",
        record_id=7,
        outcome="created",
        coperniq_user=1004,
    )
    st.audit(
        store.db, slack_user="U9", action="x", record_type=None, record_id=None, outcome="ok"
    )
    rows = [(r["slack_user"], r["coperniq_user_id"]) for r in store.db["audit_log"].rows]
    assert rows == [("U123", 1004), ("U9", None)]
