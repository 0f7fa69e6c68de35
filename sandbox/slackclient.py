"""Slack's side of the conversation with the app: signed requests as Slack sends them.

SlackHarness sends signed slash commands, block actions, options loads, view submissions, message
shortcuts and events to an app served on loopback, and reads what it did on the fake Slack
(sandbox/slack/). sandbox/wiring.py's running_harness() serves the app and yields one; tests take
it as the `slack` fixture (tests/slack/conftest.py):

    reply = slack.command("call 1234")              # signed form POST to /slack/events
    assert reply.status == 200                      # the ack (reply.text: its body)
    opened = slack.wait_for("views.open")[-1]       # bounded wait; the call's arguments
    view_id = slack.last_view_id()                  # the newest modal on the fake Slack
    values = {"call_note": {"input": {"type": "plain_text_input", "value": "x"}}}
    reply = slack.submit_view(view_id, values)      # view.state.values as Slack sends them
    reply.json()  # {"response_action": "errors", ...} when the modal refused the input

Senders, all signed with the signing secret and returning a `Reply` (status, text, headers,
elapsed, and the payload that was sent, including any minted trigger_id / response_url):

    slack.command(text, user=..., channel=...)
    slack.block_action(action_id, value=..., block_id=..., view_id=None | message=...)
    slack.block_suggestion(action_id, value, block_id=..., view_id=...)
    slack.submit_view(view_id, values, user=...)        # view_submission with state.values
    slack.message_action(callback_id, message, channel=...)
    slack.event(event, event_id=None, retry_num=None)   # event_callback (JSON)
    slack.post(raw_body, content_type, timestamp=..., signature=...)   # for signature tests

Inspect: `slack.fake_slack` (FakeSlack: calls, messages, ephemerals, responses, views),
`slack.sandbox` (CoperniqSandbox: requests, find/get), `slack.store`, `slack.settings`,
`slack.app`. Wait: `slack.wait_for(method, count)` and `slack.wait_until(predicate)` (bounded;
TimeoutError on expiry). Work after an ack runs after the HTTP reply, so always wait for effects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.config import Settings

SIGNING_SECRET = "test-signing-secret"  # noqa: S105 - the fake app's secret
USER = "U0USER"
CHANNEL = "C0CHANNEL"
TEAM = "T0TEST"
API_APP_ID = "A0FAKE"


@dataclass
class Reply:
    """The app's HTTP answer to one signed request."""

    status: int
    text: str
    headers: Mapping[str, str]
    elapsed: float
    sent_at: float
    payload: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    @property
    def trigger_id(self) -> str | None:
        return self.payload.get("trigger_id")

    @property
    def response_url(self) -> str | None:
        return self.payload.get("response_url")


class SlackHarness:
    """Sends signed Slack requests to the app served on loopback; see the module docstring."""

    def __init__(
        self,
        *,
        app: Any,
        server: Any,
        fake_slack: Any,
        sandbox: Any,
        settings: Settings,
        store: Any,
        coperniq: Any,
        signing_secret: str = SIGNING_SECRET,
    ) -> None:
        self.app = app
        self.server = server
        self.fake_slack = fake_slack
        self.sandbox = sandbox
        self.settings = settings
        self.store = store
        self.coperniq = coperniq
        self.signing_secret = signing_secret
        self.url = server.url + "/slack/events"
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=100))

    # ------------------------------------------------------------ raw

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """Slack's v0 signature headers for `body`."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
        payload: dict[str, Any] | None = None,
        path: str = "/slack/events",
    ) -> Reply:
        """POST `body` signed (or with the given signature/timestamp) and time the answer."""
        sent = self.sign(body, timestamp)
        if signature is not None:
            sent["X-Slack-Signature"] = signature
        sent["Content-Type"] = content_type
        sent.update(headers or {})
        start = time.monotonic()
        response = self.http.post(self.server.url + path, content=body.encode(), headers=sent)
        elapsed = time.monotonic() - start
        return Reply(
            response.status_code, response.text, response.headers, elapsed, start, payload or {}
        )

    def get(self, path: str) -> httpx.Response:
        return self.http.get(self.server.url + path)

    def _form(self, fields: dict[str, Any], **kw: Any) -> Reply:
        return self.post(
            urlencode(fields), "application/x-www-form-urlencoded", payload=fields, **kw
        )

    def interactive(self, payload: dict[str, Any], **kw: Any) -> Reply:
        """POST an interactivity payload (form field payload=<json>)."""
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", payload=payload, **kw)

    # ------------------------------------------------------------ Slack requests

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}

    def command(
        self,
        text: str = "",
        *,
        user: str = USER,
        channel: str = CHANNEL,
        command: str | None = None,
        **kw: Any,
    ) -> Reply:
        """A slash command with a fresh trigger_id and response_url."""
        fields = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command or self.settings.slack_command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.fake_slack.new_response_url(),
            "trigger_id": self.fake_slack.new_trigger_id(),
        }
        return self._form(fields, **kw)

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "block",
        user: str = USER,
        channel: str = CHANNEL,
        view_id: str | None = None,
        message: dict[str, Any] | None = None,
        action: dict[str, Any] | None = None,
        values: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Reply:
        """A block_actions payload: from a message (default) or from the open view `view_id`."""
        act = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            act["value"] = value
        act.update(action or {})
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": API_APP_ID,
            "token": "legacy-verification-token",
            "team": {"id": TEAM, "domain": "test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": self.fake_slack.new_trigger_id(view_id=view_id),
            "actions": [act],
        }
        if view_id is not None:
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = self.view_payload(view_id, values or {})
        else:
            msg = message or {"type": "message", "ts": f"{int(time.time())}.000100", "text": ""}
            payload["container"] = {
                "type": "message",
                "message_ts": msg.get("ts"),
                "channel_id": channel,
                "is_ephemeral": message is None,
            }
            payload["channel"] = {"id": channel, "name": "general"}
            payload["message"] = msg
            payload["response_url"] = self.fake_slack.new_response_url()
        return self.interactive(payload, **kw)

    def block_suggestion(
        self,
        action_id: str,
        value: str,
        *,
        block_id: str,
        view_id: str,
        user: str = USER,
        values: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Reply:
        """An options load for an external_select in the open view `view_id`."""
        payload = {
            "type": "block_suggestion",
            "user": self._user(user),
            "container": {"type": "view", "view_id": view_id},
            "api_app_id": API_APP_ID,
            "token": "legacy-verification-token",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": {"id": TEAM, "domain": "test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": self.view_payload(view_id, values or {}),
        }
        return self.interactive(payload, **kw)

    def submit_view(
        self, view_id: str, values: dict[str, Any], *, user: str = USER, **kw: Any
    ) -> Reply:
        """A view_submission of the open view `view_id` with `values` as view.state.values."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "test"},
            "user": self._user(user),
            "api_app_id": API_APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": self.fake_slack.new_trigger_id(view_id=view_id),
            "view": self.view_payload(view_id, values),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.interactive(payload, **kw)

    def message_action(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user: str = USER,
        channel: str = CHANNEL,
        **kw: Any,
    ) -> Reply:
        """A message shortcut on `message` (give it "ts", "text", "files", ...)."""
        payload = {
            "type": "message_action",
            "token": "legacy-verification-token",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM, "domain": "test"},
            "user": self._user(user),
            "channel": {"id": channel, "name": "general"},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake_slack.new_trigger_id(),
            "response_url": self.fake_slack.new_response_url(),
            "message_ts": message.get("ts", f"{int(time.time())}.000200"),
            "message": {"type": "message", "ts": f"{int(time.time())}.000200", **message},
        }
        return self.interactive(payload, **kw)

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **kw: Any,
    ) -> Reply:
        """An event_callback (JSON) carrying `event`; retry_num adds Slack's retry headers."""
        envelope = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": API_APP_ID,
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": TEAM, "user_id": self.fake_slack.bot_user_id, "is_bot": True}
            ],
            "is_ext_shared_channel": False,
        }
        headers = dict(kw.pop("headers", {}) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(
            json.dumps(envelope), "application/json", headers=headers, payload=envelope, **kw
        )

    # ------------------------------------------------------------ views and waiting

    def view_payload(self, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """The open view as Slack sends it in a payload, with `values` as its state."""
        view = self.fake_slack.view(view_id)
        if view is None:
            raise KeyError(f"no view {view_id} was opened on the fake Slack")
        view["state"] = {"values": values}
        return view

    def last_view_id(self) -> str:
        """The id of the newest view opened or pushed on the fake Slack."""
        ids = self.fake_slack.view_ids()
        if not ids:
            raise LookupError("no view was opened")
        return ids[-1]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Arguments of calls to `method` once there are `count`; TimeoutError after `timeout`."""
        return self.fake_slack.wait_for(method, count=count, timeout=timeout)

    def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02
    ) -> Any:
        """Poll `predicate` until it returns something truthy; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            time.sleep(interval)

    def close(self) -> None:
        """Stop HTTP, then the listener pool (waiting for listeners), then the Coperniq client."""
        from bot.app import shutdown_app

        self.http.close()
        self.server.close()
        shutdown_app(self.app)
        close = getattr(self.coperniq, "close", None)
        if callable(close):
            close()
