"""The names a subscription filter may use, as Coperniq spells them, cached for a day.

Workflows and their phases come from `GET /workflows`; trades from the project `Trades` property
(`GET /properties?record_type=project`, its dropdown options); both are read at most once a day
(two calls), when someone subscribes with a filter that needs them. Names the SLA listing saw
on projects (the `projects` table) and the clients of the local invoice copy are added at no
cost, so a trade used on projects but missing from the dropdown is still accepted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.store import iso
from jobs.times import parse_instant

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

CATALOG_TTL = timedelta(days=1)
KIND = "filters"  # the coperniq_catalog row


@dataclass
class Catalog:
    """Workflow name -> its phase names; trade names; client names."""

    workflows: dict[str, list[str]] = field(default_factory=dict)
    trades: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    fetched_at: datetime | None = None

    def phases_of(self, workflows: list[str]) -> list[str]:
        out: dict[str, None] = {}
        for w in workflows:
            out.update(dict.fromkeys(self.workflows.get(w, [])))
        return list(out)

    def all_phases(self) -> list[str]:
        return self.phases_of(list(self.workflows))


class CatalogUnavailable(RuntimeError):
    """Coperniq could not be asked, and nothing is cached to check names against."""


def _names(values: Any) -> list[str]:
    out: dict[str, None] = {}
    for v in values or []:
        if isinstance(v, str) and v.strip():
            out[" ".join(v.split())] = None
        elif isinstance(v, dict) and isinstance(v.get("name") or v.get("label"), str):
            out[" ".join((v.get("name") or v.get("label")).split())] = None
    return list(out)


def _from_coperniq(api: CoperniqClient) -> dict[str, Any]:
    workflows: dict[str, list[str]] = {}
    for wf in api.workflows.list():
        name = " ".join(str(wf.get("name") or "").split())
        if name:
            workflows[name] = _names(wf.get("phases"))
    trades: list[str] = []
    props = api.properties.list("project") or {}
    for prop in props.get("project") or []:
        if str(prop.get("keyName") or "").lower() == "trades" or fold_name(prop) == "trades":
            trades = _names(prop.get("options"))
    return {"workflows": workflows, "trades": trades}


def fold_name(prop: dict[str, Any]) -> str:
    return str(prop.get("name") or "").strip().casefold()


def _cached(db: Database) -> tuple[dict[str, Any], datetime] | None:
    row = db.execute(
        "select data, fetched_at from coperniq_catalog where kind = ?", [KIND]
    ).fetchone()
    return (json.loads(row[0]), parse_instant(row[1])) if row else None


def _local(db: Database) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Workflows/phases and trades seen on listed projects; clients of the invoice copy."""
    workflows: dict[str, dict[str, None]] = {}
    trades: dict[str, None] = {}
    for wf, phase, tr in db.execute("select workflow, phase, trades from projects").fetchall():
        if wf:
            phases = workflows.setdefault(wf, {})
            if phase:
                phases[phase] = None
        trades.update(dict.fromkeys(_names(json.loads(tr or "[]"))))
    clients = [
        r[0]
        for r in db.execute(
            "select distinct account_title from invoices where account_title is not null "
            "and account_title != '' order by account_title"
        ).fetchall()
    ]
    return {k: list(v) for k, v in workflows.items()}, list(trades), clients


def load(
    db: Database, api: CoperniqClient | None, now: datetime, *, need_coperniq: bool = True
) -> Catalog:
    """The catalog: Coperniq's names (re-read when a day old, if `need_coperniq`) and local ones.

    A failed re-read falls back to the cached names; with none cached, CatalogUnavailable.
    """
    cached = _cached(db)
    data, fetched = (cached[0], cached[1]) if cached else ({}, None)
    if need_coperniq and api is not None and (fetched is None or now - fetched >= CATALOG_TTL):
        try:
            data = _from_coperniq(api)
            fetched = now
            db["coperniq_catalog"].upsert(
                {"kind": KIND, "data": json.dumps(data, sort_keys=True), "fetched_at": iso(now)},
                pk="kind",
            )
        except Exception as exc:
            log.warning("reading workflows and trades from Coperniq failed: %s", exc)
            if cached is None:
                raise CatalogUnavailable(str(exc)) from exc
    workflows = {k: list(v) for k, v in (data.get("workflows") or {}).items()}
    local_wf, local_trades, clients = _local(db)
    for name, phases in local_wf.items():
        have = workflows.setdefault(name, [])
        have.extend(p for p in phases if p not in have)
    trades = list(dict.fromkeys([*(data.get("trades") or []), *local_trades]))
    return Catalog(workflows, trades, clients, fetched)
