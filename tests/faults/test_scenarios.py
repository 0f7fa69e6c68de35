"""Each fault scenario (sandbox/scenarios/) ends with nothing lost and nothing written twice."""

from __future__ import annotations

import pytest

from sandbox.scenarios import SCENARIOS, JobWorld, Scenario
from sandbox.slackclient import SlackHarness

SLACK = [s for s in SCENARIOS if s.kind == "slack"]
JOBS = [s for s in SCENARIOS if s.kind == "job"]


@pytest.mark.parametrize("scenario", SLACK, ids=[s.id for s in SLACK])
def test_a_slack_write_under_a_fault_is_neither_lost_nor_doubled(
    scenario: Scenario, slack: SlackHarness
) -> None:
    out = scenario.play(slack)
    assert (out.lost, out.duplicates) == (0, 0), out.notes


@pytest.mark.parametrize("scenario", JOBS, ids=[s.id for s in JOBS])
def test_a_digest_under_a_fault_announces_each_item_once(
    scenario: Scenario, job_world: JobWorld
) -> None:
    out = scenario.play(job_world)
    assert (out.lost, out.duplicates) == (0, 0), out.notes
    assert out.raised == 0, out.notes
