"""Slack posting: one message a second per channel, Retry-After honoured, text beside blocks."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs.slackpost import SlackPoster

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def poster(fake_slack: Any, clock: Clock) -> SlackPoster:
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
    return SlackPoster(client, sleep=clock.sleep, monotonic=clock.monotonic)


def test_posts_to_one_channel_are_a_second_apart_and_other_channels_are_not_held(
    fake_slack: Any,
) -> None:
    clock = Clock()
    p = poster(fake_slack, clock)
    p.post("C0PACEONE", "first", BLOCKS)
    p.post("C0PACETWO", "other channel", BLOCKS)
    assert clock.sleeps == []
    clock.t += 0.25
    p.post("C0PACEONE", "second", BLOCKS)
    assert clock.sleeps == [pytest.approx(0.75)]
    clock.t += 5
    p.post("C0PACEONE", "third", BLOCKS)
    assert len(clock.sleeps) == 1


def test_every_message_has_a_text_fallback_and_thread_replies_carry_thread_ts(
    fake_slack: Any,
) -> None:
    p = poster(fake_slack, Clock())
    ts = p.post("C0PACETHREE", "main", BLOCKS)
    p.post("C0PACETHREE", "reply", BLOCKS, thread_ts=ts)
    main, reply = fake_slack.calls_to("chat.postMessage")
    assert main["text"] == "main" and main["blocks"] and "thread_ts" not in main
    assert reply["thread_ts"] == ts
    assert fake_slack.warnings == []


def test_ratelimited_waits_retry_after_then_gives_up_after_the_retries(fake_slack: Any) -> None:
    clock = Clock()
    p = poster(fake_slack, clock)
    fake_slack.fail("chat.postMessage", "ratelimited", times=2, retry_after=7)
    p.post("C0PACEFOUR", "eventually", BLOCKS)
    assert clock.sleeps[:2] == [7.0, 7.0]
    fake_slack.fail("chat.postMessage", "ratelimited", times=10, retry_after=1)
    with pytest.raises(SlackApiError):
        p.post("C0PACEFIVE", "never", BLOCKS)


def test_other_errors_are_not_retried(fake_slack: Any) -> None:
    clock = Clock()
    fake_slack.fail("chat.postMessage", "not_in_channel", times=1)
    with pytest.raises(SlackApiError):
        poster(fake_slack, clock).post("C0PACESIX", "x", BLOCKS)
    assert clock.sleeps == []


def test_a_file_goes_into_the_thread_paced_like_a_message_and_waits_out_rate_limits(
    fake_slack: Any,
) -> None:
    clock = Clock()
    p = poster(fake_slack, clock)
    ts = p.post("C0PACEFILE", "main", BLOCKS)
    fake_slack.fail("files.completeUploadExternal", "ratelimited", times=1, retry_after=2)
    file_id = p.upload(
        "C0PACEFILE",
        ts,
        filename="list.csv",
        content="a,b\r\n1,2\r\n",
        title="The list",
        comment="All of it",
    )
    assert clock.sleeps == [pytest.approx(1.0), 2.0]  # a second after the message; Retry-After
    [upload] = fake_slack.uploaded()
    assert file_id and upload["file_id"] == file_id
    assert (upload["channel_id"], upload["thread_ts"]) == ("C0PACEFILE", ts)
    assert (upload["filename"], upload["title"], upload["initial_comment"]) == (
        "list.csv",
        "The list",
        "All of it",
    )
    assert upload["content"] == b"a,b\r\n1,2\r\n"


def test_a_refused_upload_raises_what_slack_said(fake_slack: Any) -> None:
    p = poster(fake_slack, Clock())
    fake_slack.fail("files.getUploadURLExternal", "missing_scope", times=1)
    with pytest.raises(SlackApiError) as refused:
        p.upload("C0PACEFILE2", "1.000001", filename="x.csv", content="a", title="x", comment="x")
    assert refused.value.response["error"] == "missing_scope"
    assert fake_slack.uploaded() == []
