"""Channel subscriptions: which channels get which job's digest, narrowed by which filters.

A subscription is (channel, job, filters). `INVOICE_ALERT_CHANNEL` / `SLA_ALERT_CHANNEL` are
unfiltered subscriptions from the environment (never stored); `/coperniq subscribe` stores the
others in `subscriptions`. Filters are written `key:value`, `key:"a value with spaces"`, several
values of one key with commas (any of them), several keys combined with AND:

    sla       workflow:"Residential Solar"  trade:HVAC  phase:Permitting  level:red
    invoices  min:5000  days:60  client:"Cypress Creek HOA"

Parsing (`parse_filters`) checks the syntax; `check_values` checks names against what Coperniq
has (jobs.catalog), so a typo gets a precise answer instead of a subscription matching nothing.
`accepts` turns a channel's filters into the predicate the engine narrows a snapshot with.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store import iso

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings
    from jobs.catalog import Catalog
    from jobs.digest import Channel, Item, JobSettings

SLA, INVOICES = "form-sla", "overdue-invoices"
# What people type after subscribe -> the job id, and back.
KINDS: dict[str, str] = {"sla": SLA, "invoices": INVOICES}
KIND_OF: dict[str, str] = {job: kind for kind, job in KINDS.items()}
# Each kind's filter keys, in the order help and descriptions list them.
FILTER_KEYS: dict[str, tuple[str, ...]] = {
    SLA: ("workflow", "trade", "phase", "level"),
    INVOICES: ("min", "days", "client"),
}
LEVELS = ("yellow", "red")
# Words people reach for that mean one of our keys ("stage" is what Workflows 1.0 calls a phase).
ALIASES = {
    "stage": "phase",
    "stages": "phase",
    "phases": "phase",
    "workflows": "workflow",
    "trades": "trade",
    "levels": "level",
    "sla": "level",
    "amount": "min",
    "balance": "min",
    "minimum": "min",
    "over": "min",
    "overdue": "days",
    "age": "days",
    "account": "client",
    "customer": "client",
    "clients": "client",
}
MAX_VALUES = 20  # values of one filter
MAX_VALUE_LEN = 100
# Slack (and phones) turn typed quotes into curly ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_TOKEN = re.compile(r'\s*([A-Za-z_]+)\s*:\s*("([^"]*)"?|[^\s"]+)|\s*(\S+)')

Filters = dict[str, list[str]]


class FilterError(ValueError):
    """A filter that cannot be used, with one sentence (mrkdwn) saying what and what would do."""


def fold(text: str) -> str:
    """How names are compared: case and repeated spaces do not matter."""
    return " ".join(str(text).split()).casefold()


def kind_help(job: str) -> str:
    """The filters one kind takes, as a line for answers."""
    if job == SLA:
        return (
            '`workflow:"Residential Solar"`, `trade:HVAC`, `phase:Permitting`, `level:red` '
            "(yellow or red)"
        )
    return (
        "`min:5000` (dollars owed, at least), `days:60` (days overdue, at least), "
        '`client:"Cypress Creek HOA"`'
    )


def parse_filters(job: str, text: str) -> Filters:
    """`key:value ...` -> {key: [values]}; FilterError on a word that is no filter of this kind."""
    out: Filters = {}
    keys = FILTER_KEYS[job]
    for m in _TOKEN.finditer((text or "").translate(_QUOTES)):
        if m.group(4) is not None:
            word = m.group(4)
            if word.endswith(":") and word[:-1].lower() in keys:
                raise FilterError(
                    f"`{word.lower()}` has no value: write it like `{word.lower()}value` (quote "
                    f"a value with spaces). Filters: {kind_help(job)}."
                )
            raise FilterError(
                f"“{word[:60]}” is not a filter. Write filters as `key:value` (quote a value with "
                f"spaces; commas for several values). For {KIND_OF[job]}: {kind_help(job)}."
            )
        key = m.group(1).lower()
        raw = m.group(3) if m.group(3) is not None else m.group(2)
        if key not in keys:
            alias = ALIASES.get(key)
            close = [alias] if alias in keys else difflib.get_close_matches(key, keys, n=1)
            hint = f" Did you mean `{close[0]}:`?" if close else ""
            raise FilterError(
                f"`{key[:30]}:` is not a filter for {KIND_OF[job]} subscriptions.{hint} "
                f"Filters: {kind_help(job)}."
            )
        # An amount's commas are thousands ("$5,000"): min and days take one value anyway.
        parts = (
            [raw]
            if key in ("min", "days") and re.fullmatch(r"\$?\d{1,3}(,\d{3})+(\.\d+)?", raw)
            else raw.split(",")
        )
        values = [" ".join(v.split()) for v in parts]
        values = [v for v in values if v]
        if not values:
            raise FilterError(f"`{key}:` has no value. Filters: {kind_help(job)}.")
        if any(len(v) > MAX_VALUE_LEN for v in values):
            raise FilterError(f"A `{key}:` value is longer than {MAX_VALUE_LEN} characters.")
        merged = out.setdefault(key, [])
        for v in values:
            if fold(v) not in {fold(x) for x in merged}:
                merged.append(v)
        if len(merged) > MAX_VALUES:
            raise FilterError(f"`{key}:` takes at most {MAX_VALUES} values.")
    _check_numbers(job, out)
    return out


def _number(key: str, value: str) -> float:
    text = value.replace("$", "").replace(",", "").strip().lower()
    scale = 1000 if text.endswith("k") else 1
    text = text.removesuffix("k")
    try:
        n = float(text) * scale
    except ValueError:
        n = float("nan")
    if not n > 0 or n > 1e12:
        what = (
            "an amount in dollars such as `min:5000`"
            if key == "min"
            else "a number of days such as `days:60`"
        )
        raise FilterError(f"`{key}:{value[:30]}` is not valid: `{key}:` takes {what}.")
    return n


def _check_numbers(job: str, filters: Filters) -> None:
    if job == SLA:
        for level in filters.get("level", []):
            if fold(level) not in LEVELS:
                raise FilterError(
                    f"`level:{level[:30]}` is not a level: SLA alerts are `level:yellow` (past the "
                    "yellow SLA) or `level:red` (past the red SLA)."
                )
        if "level" in filters:
            filters["level"] = [fold(v) for v in filters["level"]]
        return
    for key in ("min", "days"):
        values = filters.get(key)
        if not values:
            continue
        if len(values) > 1:
            raise FilterError(f"`{key}:` takes one value (it is an “at least”), not {len(values)}.")
        n = _number(key, values[0])
        if key == "days" and n != int(n):
            raise FilterError(f"`days:{values[0][:30]}` is not valid: `days:` takes whole days.")
        filters[key] = [f"{n:g}" if key == "days" else _money_text(n)]


def _money_text(n: float) -> str:
    return f"{n:.2f}".rstrip("0").rstrip(".")


def _unknown(what: str, value: str, known: Iterable[str], where: str = "") -> FilterError:
    names = sorted(set(known), key=fold)
    close = difflib.get_close_matches(fold(value), {fold(n): n for n in names}, n=1, cutoff=0.6)
    by_fold = {fold(n): n for n in names}
    hint = f" Did you mean “{by_fold[close[0]]}”?" if close else ""
    listed = ", ".join(names[:25]) + (f" and {len(names) - 25} more" if len(names) > 25 else "")
    exist = f" {what.capitalize()}s{where}: {listed}." if names else ""
    return FilterError(f"No {what} named “{value[:60]}” in Coperniq{where}.{hint}{exist}")


def check_values(job: str, filters: Filters, catalog: Catalog) -> Filters:
    """The filters with names spelt as Coperniq spells them; FilterError names a typo precisely."""
    out = {k: list(v) for k, v in filters.items()}
    if job == SLA:
        workflows = {fold(w): w for w in catalog.workflows}
        chosen: list[str] = []
        for i, w in enumerate(out.get("workflow", [])):
            if fold(w) not in workflows:
                raise _unknown("workflow", w, catalog.workflows)
            out["workflow"][i] = workflows[fold(w)]
            chosen.append(workflows[fold(w)])
        trades = {fold(t): t for t in catalog.trades}
        for i, t in enumerate(out.get("trade", [])):
            if fold(t) not in trades:
                raise _unknown("trade", t, catalog.trades)
            out["trade"][i] = trades[fold(t)]
        phases_of = catalog.phases_of(chosen) if chosen else catalog.all_phases()
        phases = {fold(p): p for p in phases_of}
        where = f" in {', '.join(chosen)}" if chosen else ""
        for i, p in enumerate(out.get("phase", [])):
            if fold(p) not in phases:
                raise _unknown("phase", p, phases_of, where)
            out["phase"][i] = phases[fold(p)]
    else:
        clients = {fold(c): c for c in catalog.clients}
        for i, c in enumerate(out.get("client", [])):
            if fold(c) not in clients:
                raise _unknown("client", c, catalog.clients)
            out["client"][i] = clients[fold(c)]
    return out


def describe(job: str, filters: Mapping[str, list[str]]) -> str:
    """Filters as people read them: `workflow: Residential Solar · level: red`; "" for none."""
    parts = []
    for key in FILTER_KEYS[job]:
        values = filters.get(key)
        if not values:
            continue
        if key == "min":
            parts.append(f"owed at least ${float(values[0]):,.2f}".replace(".00", ""))
        elif key == "days":
            parts.append(f"at least {values[0]} days overdue")
        else:
            parts.append(f"{key}: {' or '.join(values)}")
    return " · ".join(parts)


def accepts(job: str, filters: Mapping[str, list[str]]) -> Callable[[Item], bool] | None:
    """The engine's predicate for a channel's filters (None: every item)."""
    if not filters:
        return None
    wanted = {k: {fold(v) for v in vs} for k, vs in filters.items() if k not in ("min", "days")}
    least = {k: float(vs[0]) for k, vs in filters.items() if k in ("min", "days") and vs}

    def match(item: Item) -> bool:
        view = item.view
        for key, values in wanted.items():
            if key == "level":
                if fold(item.level) not in values:
                    return False
            elif key == "trade":
                if not any(fold(t) in values for t in view.get("trades") or []):
                    return False
            else:
                # workflow, phase (forms) and client (invoices) are fields of the item's view.
                if fold(view.get(key) or "") not in values:
                    return False
        if "min" in least and float(view.get("balance") or 0) < least["min"]:
            return False
        return not ("days" in least and int(view.get("days") or 0) < least["days"])

    return match


# --- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One channel's subscription to one job; `source` "env" for the environment's channel."""

    channel: str
    job: str
    filters: Filters = field(default_factory=dict)
    source: str = "slack"
    created_by: str | None = None
    created_at: str | None = None
    channel_name: str | None = None

    @property
    def kind(self) -> str:
        return KIND_OF[self.job]

    def describe(self) -> str:
        return (
            describe(self.job, self.filters)
            or f"every {'SLA alert' if self.job == SLA else 'overdue invoice'}"
        )


def env_channel(job: str, settings: Settings) -> str | None:
    """The channel the environment subscribes to this job, if any."""
    name = "sla_alert_channel" if job == SLA else "invoice_alert_channel"
    return getattr(settings, name) or None


def subscriptions(
    db: Database | None, settings: Settings, job: str | None = None, channel: str | None = None
) -> list[Subscription]:
    """The subscriptions (environment first, then stored by channel), for a job or channel."""
    out: list[Subscription] = []
    for j in (job,) if job else (SLA, INVOICES):
        env = env_channel(j, settings)
        if env and (channel is None or channel == env):
            out.append(Subscription(env, j, {}, source="env"))
    if db is None:
        return out
    where, params = ["1 = 1"], []
    if job:
        where.append("job = ?")
        params.append(job)
    if channel:
        where.append("channel = ?")
        params.append(channel)
    rows = db.execute(
        "select channel, job, filters, created_by, created_at, channel_name from subscriptions "
        f"where {' and '.join(where)} order by job, channel_name, channel",
        params,
    ).fetchall()
    envs = {(s.channel, s.job) for s in out}
    for ch, j, filters, by, at, name in rows:
        if (ch, j) in envs:
            continue  # the environment's channel gets every item whatever a stored row says
        out.append(Subscription(ch, j, json.loads(filters or "{}"), "slack", by, at, name))
    return out


def subscribe(
    db: Database,
    channel: str,
    job: str,
    filters: Filters,
    *,
    by: str,
    now: datetime,
    channel_name: str | None = None,
) -> Subscription | None:
    """Store (or replace) a channel's subscription; returns the one it replaced, if any."""
    with db.conn:
        db.execute("begin immediate")
        old = subscriptions(db, _NO_ENV, job, channel)
        db.execute(
            "insert into subscriptions (channel, job, filters, channel_name, created_by, "
            "created_at) values (?, ?, ?, ?, ?, ?) on conflict(channel, job) do update set "
            "filters = excluded.filters, channel_name = coalesce(excluded.channel_name, "
            "subscriptions.channel_name), created_by = excluded.created_by, "
            "created_at = excluded.created_at",
            [channel, job, json.dumps(filters, sort_keys=True), channel_name, by, iso(now)],
        )
    return old[0] if old else None


def unsubscribe(db: Database, channel: str, job: str) -> Subscription | None:
    """Remove a channel's stored subscription; returns it (None when there was none)."""
    with db.conn:
        db.execute("begin immediate")
        old = subscriptions(db, _NO_ENV, job, channel)
        db.execute("delete from subscriptions where channel = ? and job = ?", [channel, job])
    return old[0] if old else None


class _NoEnv:
    sla_alert_channel = None
    invoice_alert_channel = None


_NO_ENV: Any = _NoEnv()


def job_channels(config: JobSettings, settings: Settings, db: Database | None) -> list[Channel]:
    """The engine's channels for a job: each subscribed channel with its filters' predicate."""
    from jobs.digest import Channel

    job = SLA if config.channel_setting == "sla_alert_channel" else INVOICES
    if db is None:
        env = env_channel(job, settings)
        return [Channel(env)] if env else []
    return [Channel(s.channel, accepts(job, s.filters)) for s in subscriptions(db, settings, job)]
