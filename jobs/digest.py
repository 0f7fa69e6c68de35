"""What a digest job is: the DigestJob protocol and the values it exchanges with the engine.

A job names itself and its settings (crontab, channel, re-alert interval), ranks its levels, and
does three things: `collect(run)` fetches from Coperniq (through its caches) and selects what is
alerting now into a Snapshot; `build(snapshot, announce, now, settings)` turns the items one
channel announces into message models; `render(model)` / `to_text(models)` turn a model into
Block Kit and readable text, and `to_csv(items)` a long digest's full list into the CSV file
attached in its thread. Claiming, planning, posting, recording and resolving are the
engine's (jobs.engine), for every job alike.

One snapshot feeds every channel of a job: the engine narrows it to what each channel accepts
and plans each channel against that channel's own alert state.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import ENV_NAMES, Settings

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.deps import Deps
    from jobs.state import AlertRow

Model = dict[str, Any]  # one Slack message's content as plain data (kept to re-render it later)

# A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)`,
# `+cmd|...`, `@SUM(...)`; tab and carriage return are read past by some), and client, project
# and form names are typed by anyone in Coperniq: such a text cell gets a leading apostrophe,
# which spreadsheets show as plain text ("CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell: text a spreadsheet would run as a formula is defused; numbers as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_money(amount: float) -> Decimal:
    """Dollars as a plain number with two decimals (1234.5 -> 1234.50), for a CSV cell."""
    return Decimal(f"{amount:.2f}")


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV file: the header, then one line per row, text cells defused (csv_cell)."""
    out = io.StringIO()
    # Excel reads a CSV as UTF-8 only when it starts with a byte order mark; without it a client
    # named "Müller" opens as "MÃ¼ller". Other spreadsheets and csv readers skip it.
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


class LeaseLost(RuntimeError):
    """Our lease expired during a run and another process took the job over."""


class RunStopped(RuntimeError):
    """The process is shutting down (SIGTERM): the run stops at its next safe point."""


@dataclass
class RunResult:
    """What one run of a job did."""

    job: str
    dry_run: bool = False
    ran: bool = True  # False when another process held the lease
    posted: int = 0  # items announced in messages that reached Slack
    messages: int = 0  # Slack messages posted (main + thread replies or the CSV file)
    updated: int = 0  # chat.update calls that succeeded (resolutions shown in place)
    resolved: int = 0  # items recorded as resolved
    skipped: int = 0  # items still alerting, already announced, not due again
    failed: int = 0  # items or messages that failed (logged; retried next run)
    left_out: int = 0  # items or projects left unchecked for lack of budget
    coperniq_calls: int = 0
    notes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # readable text of each message (posted or not)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        if not self.ran:
            why = "; ".join(self.notes) or "another process holds the lease"
            return f"{self.job}: did not run ({why})"
        if self.dry_run:
            return (
                f"{self.job} (dry run): would post {self.posted} item(s), would mark "
                f"{self.resolved} resolved; {self.skipped} already announced, "
                f"{self.left_out} left out; Coperniq calls {self.coperniq_calls}"
            )
        return (
            f"{self.job}: posted {self.posted} item(s) in {self.messages} message(s), "
            f"updated {self.updated}, resolved {self.resolved}, unchanged {self.skipped}, "
            f"left out {self.left_out}, failed {self.failed}, Coperniq calls {self.coperniq_calls}"
        )


@dataclass(frozen=True)
class Item:
    """One thing alerting now: its dedupe key, level, the job's record and its message view."""

    key: str
    level: str
    record: Any  # the job's typed selection (an OverdueInvoice, a FormAlert)
    view: Model  # how a message lists it; also what its alert row remembers of it
    held: bool = False  # its data is too old to act on: neither announced nor resolved this run


@dataclass
class Snapshot:
    """What one collect saw: every item alerting now (in digest order) and notes for the digest."""

    items: list[Item]
    notes: list[str] = field(default_factory=list)

    def levels(self) -> dict[str, str]:
        """Item key -> level, for the items this run may act on."""
        return {i.key: i.level for i in self.items if not i.held}

    def covers(self, row: AlertRow) -> bool:
        """May an open alert whose item is no longer listed be resolved from this snapshot?"""
        return True

    def narrowed(self, accepts: Callable[[Item], bool] | None) -> Snapshot:
        """The part of this snapshot one channel wants (all of it without a filter)."""
        if accepts is None:
            return self
        return replace(self, items=[i for i in self.items if accepts(i)])


@dataclass(frozen=True)
class Channel:
    """Where one digest of a job goes, and which of the snapshot's items it wants."""

    id: str | None  # None only for a dry run with no channel configured
    accepts: Callable[[Item], bool] | None = None  # None: every item


@dataclass(frozen=True)
class JobSettings:
    """Which settings configure a job; the one place that says whether it is on."""

    cron_setting: str
    channel_setting: str
    realert_setting: str
    realert_unit: str  # "days" or "hours"
    # notify_prefs columns whose people this job's runs serve (personal DMs and summaries): a
    # job with no channel still runs for them.
    personal_columns: tuple[str, ...] = ()

    def cron(self, settings: Settings) -> str:
        return str(getattr(settings, self.cron_setting))

    def channel(self, settings: Settings) -> str | None:
        """The channel the environment subscribes (INVOICE_ALERT_CHANNEL, SLA_ALERT_CHANNEL)."""
        return getattr(settings, self.channel_setting) or None

    def channels(self, settings: Settings, db: Database | None = None) -> list[Channel]:
        """Every channel that gets a digest: the environment's (unfiltered), then the channels
        subscribed from Slack (`/coperniq subscribe`), each with its filters; none without a db."""
        from jobs.subscriptions import job_channels

        return job_channels(self, settings, db)

    def personal(self, db: Database | None) -> int:
        """How many people want this job's runs for their own notifications."""
        if db is None or not self.personal_columns:
            return 0
        where = " or ".join(f"{c} = 1" for c in self.personal_columns)
        return int(db.execute(f"select count(*) from notify_prefs where {where}").fetchone()[0])

    def off_reason(self, settings: Settings, db: Database | None = None) -> str | None:
        """Why the job does not run or post; None when it is on (a channel or a person wants it)."""
        if self.channels(settings, db) or self.personal(db):
            return None
        return (
            f"no channel is subscribed ({ENV_NAMES[self.channel_setting]} is not set and no "
            "channel ran `subscribe`) and nobody turned on personal notifications"
        )

    def realert(self, settings: Settings) -> timedelta | None:
        """INVOICE_REALERT_DAYS / SLA_REALERT_HOURS as an interval; 0: never."""
        return realert_interval(int(getattr(settings, self.realert_setting)), self.realert_unit)


def realert_interval(amount: int, unit: str) -> timedelta | None:
    """A re-alert interval of `amount` days or hours; 0: never."""
    return timedelta(**{unit: amount}) if amount > 0 else None


@dataclass
class Run:
    """One run as a job's collect sees it: dependencies, metered Coperniq, now, tally, stop."""

    deps: Deps
    api: Any  # the background Coperniq client view counting this run's calls
    now: datetime
    result: RunResult
    stop: threading.Event
    clock: Callable[[], datetime]

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def db(self) -> Database:
        return self.deps.store.db

    def check_stop(self) -> None:
        """Raise RunStopped once the process is shutting down (called between pages and posts)."""
        if self.stop.is_set():
            raise RunStopped(f"{self.result.job}: the process is shutting down")


class DigestJob(Protocol):
    """A scheduled digest: what the engine, the scheduler and the CLI need of a job."""

    id: str
    title: str
    config: JobSettings
    rank: Mapping[str, int]  # level -> rank; a higher rank than announced is an escalation

    def collect(self, run: Run) -> Snapshot:
        """Fetch and select what is alerting now; count failures on run.result."""
        ...

    def build(
        self, snapshot: Snapshot, announce: set[str], now: datetime, settings: Settings
    ) -> list[Model]:
        """Models for one channel's digest: the main message, then thread replies or a csv model."""
        ...

    def render(self, model: Model) -> tuple[str, list[dict[str, Any]]]:
        """The text fallback and Block Kit blocks of one message model."""
        ...

    def to_text(self, models: list[Model]) -> str:
        """A whole digest as readable text (dry run, demo)."""
        ...

    def to_csv(self, items: list[Model]) -> str:
        """A digest's announced items (their views, in digest order) as a CSV file's text."""
        ...
