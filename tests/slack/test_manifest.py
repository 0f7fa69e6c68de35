"""The manifest matches what the code registers: every surface it declares is handled by the app."""

from __future__ import annotations

import json

from bot.cli import main as cli_main
from bot.ids import Callback
from bot.manifest import bot_scopes, build_manifest
from tests.slack.harness import USER, SlackHarness

URL = "https://bot.example.com"


def test_http_manifest_points_every_url_at_slack_events() -> None:
    manifest = build_manifest("/coperniq", url=URL + "/")
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == URL + "/slack/events"
    assert settings["interactivity"]["request_url"] == URL + "/slack/events"
    assert settings["interactivity"]["message_menu_options_url"] == URL + "/slack/events"
    assert manifest["features"]["slash_commands"][0]["url"] == URL + "/slack/events"


def test_socket_mode_manifest_has_no_urls() -> None:
    manifest = build_manifest("/coperniq")
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in manifest["settings"]["interactivity"]
    assert "request_url" not in manifest["settings"]["event_subscriptions"]
    assert "url" not in manifest["features"]["slash_commands"][0]


def test_the_usage_hint_and_description_name_every_subcommand() -> None:
    from handlers.commands import available_subcommands

    command = build_manifest("/cq")["features"]["slash_commands"][0]
    for module in available_subcommands():
        assert module.NAME in command["usage_hint"]
        assert module.NAME in command["description"]


def test_scopes_are_only_those_the_features_need() -> None:
    # commands and chat:write for the command and answers; files:read for the photos people
    # attach; im:history for photos sent to the bot in a DM; users:read and users:read.email to
    # link people to Coperniq users by email and to know workspace admins; files:write for the
    # CSV a long digest attaches in its thread; links:read and links:write to unfurl Coperniq
    # links.
    scopes = set(build_manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "files:read",
        "files:write",
        "im:history",
        "users:read",
        "users:read.email",
        "links:read",
        "links:write",
    }


def test_every_scope_says_why_it_is_needed() -> None:
    scopes = bot_scopes()
    assert set(scopes) == set(build_manifest()["oauth_config"]["scopes"]["bot"])
    assert all(reason.strip() for reason in scopes.values())
    assert "CSV" in scopes["files:write"]


def test_every_declared_surface_is_handled_by_the_app(bare_slack: SlackHarness) -> None:
    # Bolt answers 404 to a request no listener takes: each declared surface must get a 200.
    manifest = build_manifest(bare_slack.settings.slack_command)
    for command in manifest["features"]["slash_commands"]:
        assert bare_slack.command("help", command=command["command"]).status == 200
    for shortcut in manifest["features"].get("shortcuts", []):
        assert shortcut["callback_id"] == Callback.ATTACH_SHORTCUT
        reply = bare_slack.message_action(shortcut["callback_id"], {"text": "no photos here"})
        assert reply.status == 200, shortcut
    samples = {
        "app_home_opened": {"type": "app_home_opened", "user": USER, "tab": "home"},
        "message.im": {
            "type": "message",
            "subtype": "file_share",
            "channel_type": "im",
            "channel": "D0USER",
            "user": USER,
            "text": "",
            "files": [],
        },
        "link_shared": {
            "type": "link_shared",
            "channel": "C0CHANNEL",
            "user": USER,
            "message_ts": "1700000000.000100",
            "source": "conversations_history",
            "unfurl_id": "C0CHANNEL.1700000000.000100.0",
            "links": [{"domain": "example.com", "url": "https://example.com/"}],
        },
        "function_executed": {
            "type": "function_executed",
            "function": {"callback_id": Callback.STEP_ADD_NOTE.value},
            "function_execution_id": "Fx0MANIFEST",
            "inputs": {},
        },
    }
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert bare_slack.event(samples[event]).status == 200, event


def test_the_unfurl_domain_is_the_host_of_coperniq_app_url() -> None:
    manifest = build_manifest("/coperniq", app_url="https://App.Coperniq.io/388")
    assert manifest["features"]["unfurl_domains"] == ["app.coperniq.io"]
    assert "link_shared" in manifest["settings"]["event_subscriptions"]["bot_events"]
    other = build_manifest("/coperniq", app_url="https://crm.example.com:8443/12")
    assert other["features"]["unfurl_domains"] == ["crm.example.com"]


def test_cli_prints_the_manifest_as_json(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SLACK_COMMAND", "/cq")
    monkeypatch.setenv("COPERNIQ_APP_URL", "https://coperniq.example.com/42")
    monkeypatch.chdir(tmp_path)  # no stray .env
    assert cli_main(["manifest", "--url", URL]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["features"]["slash_commands"][0]["command"] == "/cq"
    assert "files:write" in manifest["oauth_config"]["scopes"]["bot"]
    assert manifest["features"]["unfurl_domains"] == ["coperniq.example.com"]


# Types Workflow Builder offers for a step's inputs and outputs (Slack's built-in types).
STEP_TYPES = {"string", "integer", "number", "boolean", "slack#/types/user_id",
              "slack#/types/timestamp", "slack#/types/channel_id"}  # fmt: skip


def test_the_workflow_steps_are_declared_with_typed_inputs_and_outputs() -> None:
    manifest = build_manifest()
    assert manifest["settings"]["function_runtime"] == "remote"
    assert manifest["settings"]["org_deploy_enabled"] is True  # Slack requires it for functions
    assert "function_executed" in manifest["settings"]["event_subscriptions"]["bot_events"]
    functions = manifest["functions"]
    assert set(functions) == {"create_service_request", "log_call", "add_note"}
    assert functions["create_service_request"]["title"] == "Create Coperniq service request"
    assert functions["log_call"]["title"] == "Log a call in Coperniq"
    assert functions["add_note"]["title"] == "Add a note to a Coperniq record"
    for callback_id, step in functions.items():
        assert step["description"].strip(), callback_id
        for kind in ("input_parameters", "output_parameters"):
            for name, param in step[kind].items():
                assert param["name"] == name
                assert param["type"] in STEP_TYPES, (callback_id, name)
                assert param["title"].strip() and param["description"].strip()
                assert isinstance(param["is_required"], bool)
    # Every step gives the Coperniq record's id and link (and number where there is one).
    outputs = {cid: step["output_parameters"] for cid, step in functions.items()}
    assert {"request_id", "request_number", "request_url"} <= set(outputs["create_service_request"])
    for cid in ("log_call", "add_note"):
        assert {"record_id", "record_number", "record_url"} <= set(outputs[cid])
        assert outputs[cid]["record_url"]["is_required"] is True
    inputs = functions["log_call"]["input_parameters"]
    assert inputs["started_at"]["type"] == "slack#/types/timestamp"
    assert inputs["duration_minutes"]["type"] == "integer"
    assert inputs["logged_by"]["type"] == "slack#/types/user_id"
    assert [
        n for n, p in functions["add_note"]["input_parameters"].items() if p["is_required"]
    ] == [
        "record",
        "text",
    ]


def test_every_declared_step_is_handled_by_the_app(bare_slack: SlackHarness) -> None:
    # A step no listener takes would never complete: each must end with a completion call.
    for n, callback_id in enumerate(build_manifest()["functions"]):
        event = {
            "type": "function_executed",
            "function": {"callback_id": callback_id},
            "function_execution_id": f"Fx0STEP{n}",
            "inputs": {},
        }
        assert bare_slack.event(event).status == 200, callback_id
        bare_slack.fake_slack.wait_call(
            lambda c, n=n: (
                c.method == "functions.completeError"
                and c.args.get("function_execution_id") == f"Fx0STEP{n}"
            )
        )
