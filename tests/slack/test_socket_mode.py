"""Socket Mode smoke test: the handler connects to a local websocket server and acks a command."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator

import pytest
from websockets.sync.server import ServerConnection, serve

from bot.serve import make_socket_mode_handler
from tests.slack.harness import CHANNEL, USER, SlackHarness


class LocalSocketModeServer:
    """Plays Slack's side of Socket Mode: hello, then envelopes from `outbox`; acks into `acks`."""

    def __init__(self) -> None:
        self.outbox: queue.Queue[dict] = queue.Queue()
        self.acks: queue.Queue[dict] = queue.Queue()
        self.connected = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=test"

    def _handle(self, ws: ServerConnection) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {}}))
        self.connected.set()
        while True:
            try:
                envelope = self.outbox.get(timeout=0.05)
                ws.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                message = ws.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            self.acks.put(json.loads(message))

    def __enter__(self) -> LocalSocketModeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def socket_server() -> Iterator[LocalSocketModeServer]:
    with LocalSocketModeServer() as server:
        yield server


def test_socket_mode_connects_and_acks_a_slash_command(
    bare_slack: SlackHarness, socket_server: LocalSocketModeServer
) -> None:
    fake = bare_slack.fake_slack
    fake.socket_mode_url = socket_server.url
    handler = make_socket_mode_handler(bare_slack.app, fake.app_token)
    try:
        handler.connect()
        assert socket_server.connected.wait(10), "the handler never connected"
        opened = fake.calls_to("apps.connections.open")
        assert len(opened) == 1
        socket_server.outbox.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": "T0TEST",
                    "channel_id": CHANNEL,
                    "user_id": USER,
                    "command": "/coperniq",
                    "text": "help",
                    "api_app_id": "A0FAKE",
                    "response_url": fake.new_response_url(),
                    "trigger_id": fake.new_trigger_id(),
                },
            }
        )
        ack = socket_server.acks.get(timeout=10)
    finally:
        handler.close()
    assert ack["envelope_id"] == "env-1"
    assert "/coperniq find" in ack["payload"]["text"]
    assert ack["payload"]["response_type"] == "ephemeral"
