"""`coperniq-bot manifest`: the Slack app manifest, generated from what the code registers.

The command name comes from SLACK_COMMAND, its description and usage hint from the router's
table, the message shortcut's name from handlers.shortcuts. With `--url https://bot.example.com`
the manifest points Slack at `{url}/slack/events` (HTTP mode); without it, Socket Mode is switched
on and no URL is needed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import urlsplit

from bot.config import DEFAULT_COPERNIQ_APP_URL
from bot.ids import Callback

APP_NAME = "Coperniq"
EVENTS_PATH = "/slack/events"

# Every bot scope, with why the bot needs it. Nothing else is requested.
BASE_SCOPES: dict[str, str] = {
    # the slash command and the message shortcut
    "commands": "the /coperniq command and the 'Attach to Coperniq form' shortcut",
    # confirmations, help, find results (ephemeral), scheduled alerts and DM answers
    "chat:write": "post confirmations, ephemeral answers and alerts",
}
# Scopes the photo features need (modal file_input, DM photos, the shortcut's message files).
PHOTO_SCOPES: dict[str, str] = {
    # download the photos people attach (file_input, DMs, shortcut) with the bot token; files.info
    "files:read": "download photos people attach, and read their details",
}
# Scopes for photos sent to the bot in a direct message.
DM_SCOPES: dict[str, str] = {
    # the message.im event (a photo sent to the bot in its DM) requires it
    "im:history": "receive photos sent to the bot in a direct message",
}

# Scopes for linking Slack users to Coperniq users by email (whoami, link, unlink).
PEOPLE_SCOPES: dict[str, str] = {
    # users.info: who clicked, and whether they are a workspace admin (link, unlink)
    "users:read": "know who is asking, and whether they are a workspace admin",
    # the profile email in users.info, matched against Coperniq's users
    "users:read.email": "match people to their Coperniq user by email",
}

# Scopes the scheduled digests need beyond posting (jobs.slackpost).
DIGEST_SCOPES: dict[str, str] = {
    # files_upload_v2: a digest too long for thread replies gets its full list as a CSV there
    "files:write": "attach a long digest's full list as a CSV file in its thread",
}

# Scopes for unfurling Coperniq links (handlers.events.link_shared).
UNFURL_SCOPES: dict[str, str] = {
    # the link_shared event for links to the app's unfurl domain (COPERNIQ_APP_URL's host)
    "links:read": "see Coperniq links people post, to explain them",
    # chat.unfurl: the card under a Coperniq link
    "links:write": "show a card with status, phase and next work order under a Coperniq link",
}


def bot_scopes() -> dict[str, str]:
    """The bot scopes the registered listeners and the digests need, each with its reason."""
    return {
        **BASE_SCOPES,
        **PHOTO_SCOPES,
        **DM_SCOPES,
        **PEOPLE_SCOPES,
        **DIGEST_SCOPES,
        **UNFURL_SCOPES,
    }


def bot_events() -> list[str]:
    """The bot events the registered listeners handle (handlers.events)."""
    # function_executed: a Workflow Builder step of handlers.functions runs
    return ["app_home_opened", "message.im", "link_shared", "function_executed"]


def unfurl_domain(app_url: str) -> str:
    """The host whose links Slack sends the bot (link_shared): COPERNIQ_APP_URL's."""
    return (urlsplit(app_url).hostname or "").lower()


def command_description(modules: list[Any]) -> str:
    """The slash command's one-line description, from the router's table."""
    return "Coperniq from Slack: " + ", ".join(m.NAME for m in modules)


def build_manifest(
    command: str = "/coperniq",
    url: str | None = None,
    app_url: str = DEFAULT_COPERNIQ_APP_URL,
) -> dict[str, Any]:
    """The app manifest; HTTP request URLs under `url` when given, else Socket Mode.

    `app_url` (COPERNIQ_APP_URL) gives the unfurl domain: links there are unfurled.
    """
    import handlers.shortcuts as shortcuts
    from handlers.commands import available_subcommands, usage_hint
    from handlers.functions import functions_manifest

    request_url = f"{url.rstrip('/')}{EVENTS_PATH}" if url else None
    slash: dict[str, Any] = {
        "command": command,
        "description": command_description(available_subcommands()),
        "usage_hint": usage_hint(),
        # Escaped text carries mentions as <@U…|name> (link, unlink need the ids); the router
        # turns it back into what the person typed for the other subcommands.
        "should_escape": True,
    }
    if request_url:
        slash["url"] = request_url
    features: dict[str, Any] = {
        "app_home": {
            "home_tab_enabled": True,
            "messages_tab_enabled": True,
            "messages_tab_read_only_enabled": False,
        },
        "bot_user": {"display_name": APP_NAME, "always_online": True},
        "slash_commands": [slash],
        "unfurl_domains": [unfurl_domain(app_url)],
    }
    features["shortcuts"] = [
        {
            "name": shortcuts.SHORTCUT_NAME,
            "type": "message",
            "callback_id": Callback.ATTACH_SHORTCUT.value,
            "description": shortcuts.SHORTCUT_DESCRIPTION,
        }
    ]
    events: dict[str, Any] = {"bot_events": bot_events()}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
        # external_select menus (search-as-you-type) load their options here
        interactivity["message_menu_options_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": APP_NAME,
            "description": "Service requests, call logs and job-site photos into Coperniq",
            "background_color": "#1b3a57",
        },
        "features": features,
        "oauth_config": {"scopes": {"bot": sorted(bot_scopes())}},
        # Workflow Builder steps (custom steps on paid Slack plans), run by this app: "remote"
        "functions": functions_manifest(),
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "function_runtime": "remote",
            # Slack's manifest reference: required for `functions`
            "org_deploy_enabled": True,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }


def main(args: argparse.Namespace) -> int:
    """Print the manifest as JSON (Slack's app config accepts JSON or YAML)."""
    from bot.config import load_settings

    settings = load_settings()
    manifest = build_manifest(
        settings.slack_command, getattr(args, "url", None), app_url=settings.coperniq_app_url
    )
    print(json.dumps(manifest, indent=2))
    return 0
