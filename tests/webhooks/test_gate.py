"""Which SLA violations may cost a Coperniq call, and which alerts a phase event resolves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.store import iso
from jobs import state
from jobs.sla.event import could_concern, over_alerts
from jobs.subscriptions import SLA, subscribe

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def _settings(tmp_path: Path, channel: str | None = None) -> Settings:
    return Settings(db_path=tmp_path / "bot.db", sla_alert_channel=channel)


def _project(db, pid: int, workflow: str, trades: list[str], phase: str, template: int) -> None:
    db["projects"].insert(
        {
            "id": pid,
            "workflow": workflow,
            "trades": json.dumps(trades),
            "phase": phase,
            "phase_key": f"phase:9{pid}:{template}",
        }
    )


def test_only_a_subscription_or_a_person_that_could_want_the_project_opens_the_gate(
    store, tmp_path
) -> None:
    db = store.db
    settings = _settings(tmp_path)
    _project(db, 1, "Residential Solar Install", ["Solar"], "Inspection", 5106)
    assert not could_concern(db, settings, 1, 5106)  # nobody subscribed
    subscribe(db, "C1", SLA, {"trade": ["HVAC"], "level": ["red"]}, by="U", now=NOW)
    assert not could_concern(db, settings, 1, 5106)
    assert could_concern(db, settings, 2, 5106)  # a project never seen could be anything
    subscribe(db, "C2", SLA, {"phase": ["Permitting"]}, by="U", now=NOW)
    assert not could_concern(db, settings, 1, 5106)
    # The stored phase is not the violated one: its name says nothing, so the phase may match.
    assert could_concern(db, settings, 1, 5104)
    # Level filters are left aside: the level is known only once the project is read.
    subscribe(db, "C3", SLA, {"trade": ["solar"], "level": ["red"]}, by="U", now=NOW)
    assert could_concern(db, settings, 1, 5106)


def test_an_environment_channel_or_a_person_with_form_dms_wants_every_project(
    store, tmp_path
) -> None:
    db = store.db
    _project(db, 1, "HVAC Replacement", ["HVAC"], "Install", 5203)
    assert could_concern(db, _settings(tmp_path, "C0ENV"), 1, 5203)
    assert not could_concern(db, _settings(tmp_path), 1, 5203)
    db["notify_prefs"].insert({"slack_user": "U1", "forms": 1, "updated_at": iso(NOW)})
    assert could_concern(db, _settings(tmp_path), 1, 5203)


def _alert(db, key: str, pid: int, phase: str, first: datetime) -> None:
    state.record_announced(
        db,
        SLA,
        key=key,
        level="yellow",
        channel="C1",
        message_ts="1.1",
        now=first,
        summary={"project_id": pid, "phase": phase},
        previous=None,
    )


def test_a_phase_event_resolves_the_alerts_announced_before_it_fired(store) -> None:
    db = store.db
    _alert(db, "form:1", 7, "Inspection", NOW - timedelta(days=2))
    _alert(db, "form:2", 7, "Inspection", NOW - timedelta(seconds=20))  # firedAt rounded down
    _alert(db, "form:3", 7, "Permitting", NOW + timedelta(days=3))  # a later stay's
    _alert(db, "form:4", 8, "Inspection", NOW - timedelta(days=2))  # another project's
    assert over_alerts(db, 7, NOW, None, started=True) == ["form:1", "form:2"]
    # Without firedAt, by name: another phase than the one started, or the one completed.
    assert over_alerts(db, 7, None, "Permitting", started=True) == ["form:1", "form:2"]
    assert over_alerts(db, 7, None, "Inspection", started=False) == ["form:1", "form:2"]
    assert over_alerts(db, 7, None, None, started=True) == []
