"""A recording fake of Slack's Web API on loopback, for tests, benchmarks and the demo.

    fs = FakeSlack(bot_token="xoxb-test"); fs.start()
    WebClient(token="xoxb-test", base_url=fs.base_url)   # base_url ends in "/api/"
    fs.calls (SlackCall: method, args, at, ok, error, response) / fs.calls_to("views.open")
    fs.wait_for("chat.postMessage", count=1) / fs.wait_call(lambda call: ...)
    fs.fail("chat.postMessage", "ratelimited", times=1, retry_after=0) / fs.clear_faults()
    fs.new_trigger_id() / fs.advance(seconds) / fs.new_response_url() / fs.responses(url)
    fs.add_file(b"...", login_page=False) / fs.add_user(id, **fields) / fs.add_channel(id, **fields)
    fs.messages(channel) / fs.ephemerals() / fs.view(view_id) / fs.view_ids() / fs.home(user)
    fs.uploaded() / fs.warnings / fs.socket_mode_url = "ws://..." (for apps.connections.open)
    fs.stop()

It answers with the response shapes Slack documents, checks the bot token (or the app-level
token for apps.connections.open), enforces the Block Kit limits Slack enforces (answering
`invalid_arguments` or `invalid_blocks`), expires trigger ids after 3 s of its clock, serves file
downloads only with `Authorization: Bearer <bot token>` (else a 200 HTML login page, as Slack
does) and records every call, with a `time.monotonic()` timestamp, for assertions and benchmarks.

The package: fake.py (FakeSlack: controls, inspection, request handling), methods.py (the Web API
methods, one function each, in one table), wire.py (the HTTP server side), state.py (what the fake
records), limits.py (Slack's Block Kit limits, shared with the tests).
"""

from sandbox.slack.fake import FakeSlack
from sandbox.slack.state import SlackApiError, SlackCall

__all__ = ["FakeSlack", "SlackApiError", "SlackCall"]
