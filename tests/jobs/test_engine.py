"""The engine on its own, with a job whose snapshot is fixed: channels and outside resolutions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import Secret, Settings
from bot.deps import Deps
from bot.store import Store
from jobs import blocks, engine, state
from jobs.digest import Channel, Item, JobSettings, Model, Run, Snapshot, csv_text
from jobs.slackpost import SlackPoster

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
RANK = {"yellow": 1, "red": 2}


@dataclass(frozen=True)
class TwoChannels(JobSettings):
    """Every item to C0ALL; only red ones to C0RED (what a `level:red` subscription will do)."""

    def channels(self, settings: Settings, db: object = None) -> list[Channel]:
        return [Channel("C0ALL"), Channel("C0RED", accepts=lambda item: item.level == "red")]


def _line(item: dict[str, Any], state: str | None, *, link: bool = True) -> str:
    return f"{state or 'open'} {item['key']} {item['level']}"


@dataclass
class FixedJob:
    """A DigestJob whose collect returns `levels` as it is when called."""

    levels: dict[str, str]
    collects: list[datetime] = field(default_factory=list)
    id: str = "fixed"
    title: str = "Fixed"
    config: JobSettings = TwoChannels(
        "sla_alert_cron", "sla_alert_channel", "sla_realert_hours", "hours"
    )
    rank: dict[str, int] = field(default_factory=lambda: dict(RANK))

    def collect(self, run: Run) -> Snapshot:
        self.collects.append(run.now)
        items = [
            Item(key, level, None, {"key": key, "level": level, "url": "https://example.test"})
            for key, level in sorted(self.levels.items())
        ]
        return Snapshot(items=items)

    def build(
        self, snapshot: Snapshot, announce: set[str], now: datetime, settings: Settings
    ) -> list[Model]:
        listed = [i.view for i in snapshot.items if i.key in announce]
        return blocks.split_models(self.id, {}, listed, snapshot.notes, 20)

    def render(self, model: Model) -> tuple[str, list[dict[str, Any]]]:
        return blocks.main_message(
            model, text="fixed", title="Fixed", summary=[], line=_line, noun="items"
        )

    def to_text(self, models: list[Model]) -> str:
        return blocks.digest_text(models, ["Fixed"], lambda i: i["key"])

    def to_csv(self, items: list[Model]) -> str:
        return csv_text(["key", "level"], ([i["key"], i["level"]] for i in items))


@pytest.fixture
def deps(fake_slack: Any, tmp_path: Path) -> Iterator[Deps]:
    settings = Settings(
        slack_bot_token=Secret(fake_slack.bot_token), slack_api_url=fake_slack.base_url
    )  # type: ignore[call-arg]
    store = Store(tmp_path / "bot.db")
    no_coperniq = SimpleNamespace(
        background=SimpleNamespace(metered=lambda: SimpleNamespace(calls_made=0))
    )
    yield Deps(
        settings=settings,
        store=store,
        coperniq=no_coperniq,  # type: ignore[arg-type]
        slack=WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url),
    )
    store.close()


def poster(deps: Deps) -> SlackPoster:
    return SlackPoster(deps.slack, sleep=lambda _s: None)  # type: ignore[arg-type]


def test_one_collect_feeds_each_channel_its_own_digest_and_state(
    deps: Deps, fake_slack: Any
) -> None:
    job = FixedJob({"item:a": "yellow", "item:b": "red"})
    first = engine.run(job, deps, NOW, poster=poster(deps))
    assert job.collects == [NOW] and first.posted == 3 and first.messages == 2
    db = deps.store.db
    assert set(state.load_alerts(db, "fixed", "C0ALL")) == {"item:a", "item:b"}
    assert set(state.load_alerts(db, "fixed", "C0RED")) == {"item:b"}
    assert "item:a" not in str(fake_slack.messages("C0RED"))

    # Escalated: only the channel that had it at yellow announces it again.
    job.levels["item:a"] = "red"
    second = engine.run(job, deps, NOW + timedelta(hours=1), poster=poster(deps))
    assert second.posted == 2 and second.skipped == 2
    assert state.load_alerts(db, "fixed", "C0ALL")["item:a"].level == "red"
    assert state.load_alerts(db, "fixed", "C0RED")["item:a"].level == "red"


def test_resolve_items_updates_every_message_that_announced_them(
    deps: Deps, fake_slack: Any
) -> None:
    job = FixedJob({"item:a": "yellow", "item:b": "red"})
    engine.run(job, deps, NOW, poster=poster(deps))
    db = deps.store.db
    announced = {
        c: state.load_alerts(db, "fixed", c)["item:b"].message_ts for c in ("C0ALL", "C0RED")
    }

    # A webhook says item:b is done, between runs.
    done = engine.resolve_items(
        job, deps, ["item:b", "item:unknown"], NOW + timedelta(minutes=5), poster=poster(deps)
    )
    assert done.ran and done.resolved == 2 and done.updated == 2 and done.failed == 0
    updates = {(u["channel"], u["ts"]) for u in fake_slack.calls_to("chat.update")}
    assert updates == set(announced.items())
    for channel, ts in announced.items():
        assert state.load_alerts(db, "fixed", channel)["item:b"].resolved_at is not None
        shown = next(m for m in fake_slack.messages(channel) if m["ts"] == ts)
        assert "resolved item:b" in str(shown["blocks"])
    assert state.load_alerts(db, "fixed", "C0ALL")["item:a"].open

    # Nothing left to resolve: no Slack call; a held lease: not run.
    again = engine.resolve_items(job, deps, ["item:b"], NOW, poster=poster(deps))
    assert again.resolved == 0 and len(fake_slack.calls_to("chat.update")) == 2
    assert state.acquire_lease(db, "fixed", holder="a-run")
    assert not engine.resolve_items(job, deps, ["item:a"], NOW, poster=poster(deps)).ran


def test_a_stop_before_the_first_post_posts_and_records_nothing(
    deps: Deps, fake_slack: Any
) -> None:
    import threading

    stop = threading.Event()
    stop.set()
    result = engine.run(FixedJob({"item:a": "red"}), deps, NOW, poster=poster(deps), stop=stop)
    assert result.posted == 0 and fake_slack.calls_to("chat.postMessage") == []
    assert any("shutting down" in n for n in result.notes)
    assert state.load_alerts(deps.store.db, "fixed", None) == {}
    assert state.lease_expiry(deps.store.db, "fixed") is None  # released


def test_items_listed_again_change_only_what_the_earlier_message_shows(
    deps: Deps, fake_slack: Any
) -> None:
    # 150 items: 20 in the main message, the rest only in its CSV.
    job = FixedJob({f"item:{n:03d}": "yellow" for n in range(150)})
    first = engine.run(job, deps, NOW, poster=poster(deps))
    assert first.posted == 150 and len(fake_slack.uploaded()) == 1
    db = deps.store.db
    [main] = fake_slack.messages("C0ALL")
    shown = [i["key"] for i in state.load_model(db, "C0ALL", main["ts"])["items"]]
    assert len(shown) == 20

    # All escalate: a new digest lists them again; the first message marks only its 20 as moved
    # (one chat.update), and its stored model does not grow by the 130 it never showed.
    job.levels = dict.fromkeys(job.levels, "red")
    engine.run(job, deps, NOW + timedelta(hours=1), poster=poster(deps))
    assert [u["ts"] for u in fake_slack.calls_to("chat.update")] == [main["ts"]]
    model = state.load_model(db, "C0ALL", main["ts"])
    assert model is not None and sorted(model["moved"]) == sorted(shown)
    rows = state.load_alerts(db, "fixed", "C0ALL")
    assert main["ts"] not in {row.message_ts for row in rows.values()}


def test_an_item_that_leaves_a_channels_filter_is_let_go_not_shown_resolved(
    deps: Deps, fake_slack: Any
) -> None:
    job = FixedJob({"item:a": "yellow", "item:b": "red"})
    engine.run(job, deps, NOW, poster=poster(deps))
    db = deps.store.db
    # Still alerting, but no longer what C0RED wants (a balance paid down under `min:`).
    job.levels["item:b"] = "yellow"
    engine.run(job, deps, NOW + timedelta(hours=1), poster=poster(deps))
    assert fake_slack.calls_to("chat.update") == []  # no card says it was resolved
    assert not state.load_alerts(db, "fixed", "C0RED")["item:b"].open
    assert state.load_alerts(db, "fixed", "C0ALL")["item:b"].open
    # Matching again, it is announced afresh in that channel.
    job.levels["item:b"] = "red"
    again = engine.run(job, deps, NOW + timedelta(hours=2), poster=poster(deps))
    assert state.load_alerts(db, "fixed", "C0RED")["item:b"].open
    assert again.posted == 1  # in C0RED afresh; C0ALL announced it at red already
