"""The sandbox's records: one SQLite table of JSON documents keyed by (collection, id), thread-safe."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    id INTEGER NOT NULL,
    parent_type TEXT,
    parent_id INTEGER,
    updated_at TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX IF NOT EXISTS records_parent ON records (collection, parent_type, parent_id, id);
CREATE INDEX IF NOT EXISTS records_updated ON records (collection, updated_at);
CREATE TABLE IF NOT EXISTS blobs (file_id INTEGER PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class RecordDB:
    """JSON records in SQLite; in memory when no path is given. Internal keys start with `_`."""

    def __init__(self, path: str | Path | None = None) -> None:
        target = str(path) if path else ":memory:"
        # One connection shared by the server's threads, serialised by a lock: simple and fast enough
        # for a local sandbox (reads are single indexed queries).
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()

    def is_empty(self) -> bool:
        """True before anything has been seeded."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    def meta_get(self, key: str) -> str | None:
        """A sandbox-level setting (seed parameters, id counters)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        """Store a sandbox-level setting."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @staticmethod
    def _row(collection: str, rec: dict[str, Any]) -> tuple[Any, ...]:
        return (
            collection,
            int(rec["id"]),
            rec.get("_parentType"),
            rec.get("_parentId"),
            rec.get("updatedAt"),
            json.dumps(rec, separators=(",", ":")),
        )

    def put(self, collection: str, rec: dict[str, Any]) -> None:
        """Insert or replace one record."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)",
                self._row(collection, rec),
            )

    def put_many(self, collection: str, recs: Iterable[dict[str, Any]]) -> None:
        """Insert or replace many records in one transaction."""
        rows = [self._row(collection, r) for r in recs]
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", rows
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def get(self, collection: str, rec_id: int) -> dict[str, Any] | None:
        """One record or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM records WHERE collection = ? AND id = ?", (collection, rec_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, collection: str, rec_id: int) -> bool:
        """Remove a record; False when it did not exist."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM records WHERE collection = ? AND id = ?", (collection, rec_id)
            )
            if collection == "files":
                self._conn.execute("DELETE FROM blobs WHERE file_id = ?", (rec_id,))
        return cur.rowcount > 0

    def all(
        self,
        collection: str,
        *,
        parent: tuple[str, int] | None = None,
        updated_after: str | None = None,
        updated_before: str | None = None,
        descending: bool = False,
    ) -> list[dict[str, Any]]:
        """Every record of a collection (optionally under one parent), ordered by id."""
        sql = "SELECT data FROM records WHERE collection = ?"
        args: list[Any] = [collection]
        if parent is not None:
            sql += " AND parent_type = ? AND parent_id = ?"
            args += [parent[0], parent[1]]
        if updated_after:
            sql += " AND updated_at > ?"
            args.append(updated_after)
        if updated_before:
            sql += " AND updated_at < ?"
            args.append(updated_before)
        sql += " ORDER BY id DESC" if descending else " ORDER BY id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def page(
        self,
        collection: str,
        *,
        offset: int,
        limit: int,
        parent: tuple[str, int] | None = None,
        updated_after: str | None = None,
        updated_before: str | None = None,
        descending: bool = False,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page in SQL (for the big collections) and whether more rows follow it."""
        sql = "SELECT data FROM records WHERE collection = ?"
        args: list[Any] = [collection]
        if parent is not None:
            sql += " AND parent_type = ? AND parent_id = ?"
            args += [parent[0], parent[1]]
        if updated_after:
            sql += " AND updated_at > ?"
            args.append(updated_after)
        if updated_before:
            sql += " AND updated_at < ?"
            args.append(updated_before)
        sql += " ORDER BY id DESC" if descending else " ORDER BY id"
        sql += " LIMIT ? OFFSET ?"
        args += [limit + 1, offset]
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        recs = [json.loads(r[0]) for r in rows[:limit]]
        return recs, len(rows) > limit

    def count(self, collection: str) -> int:
        """How many records a collection holds."""
        with self._lock:
            return self._conn.execute(
                "SELECT COUNT(*) FROM records WHERE collection = ?", (collection,)
            ).fetchone()[0]

    def max_id(self, collection: str) -> int:
        """The highest id in a collection (0 when empty)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT MAX(id) FROM records WHERE collection = ?", (collection,)
            ).fetchone()
        return int(row[0] or 0)

    def iter_ids(self, collection: str) -> Iterator[int]:
        """Ids of a collection in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM records WHERE collection = ? ORDER BY id", (collection,)
            ).fetchall()
        return iter(r[0] for r in rows)

    def put_blob(self, file_id: int, content: bytes) -> None:
        """Store an uploaded file's bytes."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (file_id, content))

    def get_blob(self, file_id: int) -> bytes | None:
        """An uploaded file's bytes, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT content FROM blobs WHERE file_id = ?", (file_id,)
            ).fetchone()
        return bytes(row[0]) if row else None
