"""The `/coperniq help` message and the Home tab: pure builders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.common import context, section


def build_help(
    command: str, entries: Sequence[tuple[str, str, str]], note: str | None = None
) -> dict[str, Any]:
    """An ephemeral message listing each subcommand with its one-line help and an example."""
    lines = [
        f"*`{command} {name}`* {text}\n      e.g. `{example}`" for name, text, example in entries
    ]
    intro = f"Here's what `{command}` can do:"
    if note:
        intro = f"{note} {intro}"
    blocks: list[dict[str, Any]] = [section(intro)]
    blocks += [section(line) for line in lines]
    blocks.append(
        context("Answers only you can see stay private; confirmations go to the channel.")
    )
    fallback = intro + "\n" + "\n".join(f"{command} {n}: {t} (e.g. {e})" for n, t, e in entries)
    return {"text": fallback, "blocks": blocks, "response_type": "ephemeral"}


def build_home(command: str, entries: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """The App Home tab: what the bot does and how to use it from a channel or a phone."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Coperniq in Slack"}},
        section(
            "Open service requests, log calls and attach job-site photos to Coperniq forms "
            "without leaving Slack."
        ),
        {"type": "divider"},
        section(f"*Type `{command}` in any channel:*"),
    ]
    blocks += [section(f"*`{command} {n}`* {t}\n      e.g. `{e}`") for n, t, e in entries]
    blocks += [
        {"type": "divider"},
        section(
            "*On your phone:* send photos to me in a direct message, or use the message "
            "shortcut *Attach to Coperniq form* on any message with photos. I'll answer with "
            "a button to choose the project, form and field."
        ),
    ]
    return {"type": "home", "blocks": blocks}
