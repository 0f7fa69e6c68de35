"""The sandbox's records: JSON documents in SQLite keyed by (collection, id), thread-safe."""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Iterable
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
    """JSON records in SQLite (in memory when no path is given) with a parsed in-memory index.

    SQLite is the store; reads are served from a per-collection dict of parsed records so that
    list pages over thousands of records stay fast. Internal keys start with `_`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        target = str(path) if path else ":memory:"
        # One connection shared by the server's threads, serialised by a lock: simple and fast
        # enough for a local sandbox.
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._cache: dict[str, dict[int, dict[str, Any]]] = {}
        self._ordered: dict[str, list[dict[str, Any]]] = {}
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
        """A sandbox-level setting (id counters)."""
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

    def _coll(self, collection: str) -> dict[int, dict[str, Any]]:
        """The parsed records of a collection, loaded from SQLite on first use."""
        cache = self._cache.get(collection)
        if cache is None:
            rows = self._conn.execute(
                "SELECT id, data FROM records WHERE collection = ? ORDER BY id", (collection,)
            ).fetchall()
            cache = {int(r[0]): json.loads(r[1]) for r in rows}
            self._cache[collection] = cache
        return cache

    def _touch(self, collection: str) -> None:
        self._ordered.pop(collection, None)

    def put(self, collection: str, rec: dict[str, Any]) -> None:
        """Insert or replace one record (the store keeps its own copy)."""
        row = self._row(collection, rec)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", row)
            self._coll(collection)[int(rec["id"])] = json.loads(row[5])
            self._touch(collection)

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
            cache = self._coll(collection)
            for row in rows:
                cache[row[1]] = json.loads(row[5])
            self._touch(collection)

    def get(self, collection: str, rec_id: int) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        with self._lock:
            rec = self._coll(collection).get(int(rec_id))
            return copy.deepcopy(rec) if rec is not None else None

    def delete(self, collection: str, rec_id: int) -> bool:
        """Remove a record; False when it did not exist."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM records WHERE collection = ? AND id = ?", (collection, rec_id)
            )
            if collection == "files":
                self._conn.execute("DELETE FROM blobs WHERE file_id = ?", (rec_id,))
            self._coll(collection).pop(int(rec_id), None)
            self._touch(collection)
        return cur.rowcount > 0

    def _sorted(self, collection: str) -> list[dict[str, Any]]:
        ordered = self._ordered.get(collection)
        if ordered is None:
            cache = self._coll(collection)
            ordered = [cache[k] for k in sorted(cache)]
            self._ordered[collection] = ordered
        return ordered

    def all(
        self,
        collection: str,
        *,
        parent: tuple[str, int] | None = None,
        updated_after: str | None = None,
        updated_before: str | None = None,
        descending: bool = False,
    ) -> list[dict[str, Any]]:
        """Records of a collection ordered by id (shared objects: read them, do not change them)."""
        with self._lock:
            recs = self._sorted(collection)
        if parent is not None:
            recs = [
                r
                for r in recs
                if r.get("_parentType") == parent[0] and r.get("_parentId") == parent[1]
            ]
        if updated_after:
            recs = [r for r in recs if (r.get("updatedAt") or "") > updated_after]
        if updated_before:
            recs = [r for r in recs if (r.get("updatedAt") or "") < updated_before]
        return list(reversed(recs)) if descending else list(recs)

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
        """One page of all() and whether more records follow it."""
        recs = self.all(
            collection,
            parent=parent,
            updated_after=updated_after,
            updated_before=updated_before,
            descending=descending,
        )
        return recs[offset : offset + limit], len(recs) > offset + limit

    def count(self, collection: str) -> int:
        """How many records a collection holds."""
        with self._lock:
            return len(self._coll(collection))

    def max_id(self, collection: str) -> int:
        """The highest id in a collection (0 when empty)."""
        with self._lock:
            return max(self._coll(collection), default=0)

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
