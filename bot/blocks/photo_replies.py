"""Attach photos, what people are told: the DM prompt with its button, the confirmation posted
in the channel, and the modal's working, in-progress and result views."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks.common import context, escape, link_button, modal, mrkdwn, section, truncate
from bot.blocks.photo import BUTTON_VALUE_MAX, TITLE, file_refs
from bot.ids import Action, Callback


def photo_confirmation(
    *,
    user: str,
    project_label: str,
    form_name: str,
    field_name: str,
    attached: Sequence[str],
    already: Sequence[str],
    failed: Sequence[tuple[str, str]],
    url: str,
    pending: Sequence[str] = (),
) -> dict[str, Any]:
    """How many photos went to which form and field; each failure named with its reason."""
    n = len(attached) + len(already)
    # Names come from Coperniq and from people: inert in mrkdwn.
    form_name, field_name, project_label = map(escape, (form_name, field_name, project_label))
    already, pending = [escape(a) for a in already], [escape(p) for p in pending]
    failed = [(escape(name), escape(why)) for name, why in failed]
    where = f"*{form_name}* › *{field_name}* on *{project_label}*"
    if n:
        head = f":camera_with_flash: <@{user}> attached {n} photo{'s' if n != 1 else ''} to {where}"
        text = f"{n} photo{'s' if n != 1 else ''} attached to {form_name} › {field_name}"
        text += f" on {project_label}"
    else:
        head = f":x: No photos could be attached to {where}"
        text = f"No photos could be attached to {form_name} › {field_name} on {project_label}"
    lines = [head]
    if already:
        lines.append(f"_{len(already)} already there from an earlier try: {', '.join(already)}_")
    if pending:
        lines.append(
            f"_{len(pending)} being attached by another submission right now: {', '.join(pending)}_"
        )
    if failed:
        lines.append(f":warning: *{len(failed)} failed:*")
        lines += [f"• {name}: {why}" for name, why in failed]
        text += f"; {len(failed)} failed: " + "; ".join(f"{name}: {why}" for name, why in failed)
    blocks = [
        {"type": "section", "text": mrkdwn("\n".join(lines))},
        {"type": "actions", "elements": [link_button("Open in Coperniq", url)]},
    ]
    return {"text": text, "blocks": blocks}


def _refs_json(refs: Sequence[Sequence[Any]]) -> str:
    # Slack counts characters: keep non-Latin names as they are, not as \uXXXX escapes.
    return json.dumps(refs, separators=(",", ":"), ensure_ascii=False)


def dm_photos_prompt(files: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The DM answer to photos: a button opening the photo modal with them; None if no photos."""
    refs = file_refs(files)
    if not refs:
        return None
    value = _refs_json(refs)
    # Shorter names before fewer photos: a photo left off the button would be dropped silently.
    for cut in (20, 8):
        if len(value) <= BUTTON_VALUE_MAX:
            break
        refs = [[i, truncate(n, cut), size] for i, n, size in refs]
        value = _refs_json(refs)
    while len(value) > BUTTON_VALUE_MAX and refs:
        refs = refs[:-1]
        value = _refs_json(refs)
    n = len(refs)
    them = "them" if n != 1 else "it"
    text = f"Got {n} photo{'s' if n != 1 else ''}. Attach {them} to a Coperniq form?"
    return {
        "text": text,
        "blocks": [
            section(f":camera: {text}"),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": Action.ATTACH_DM_FILES,
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Attach to a Coperniq form"},
                        "value": value,
                    }
                ],
            },
        ],
    }


def photo_working_modal(count: int) -> dict[str, Any]:
    """What the modal shows while the photos are attached."""
    return modal(
        Callback.PHOTO_MODAL,
        TITLE,
        [
            section(
                f":hourglass_flowing_sand: Attaching {count} photo{'s' if count != 1 else ''}…"
            ),
            context("You can close this window; the result is posted in the conversation."),
        ],
        close="Close",
    )


def no_photos_modal() -> dict[str, Any]:
    """The shortcut's answer on a message without photos."""
    return modal(
        Callback.PHOTO_MODAL,
        TITLE,
        [
            section(
                "That message has no photos. Use this on a message with photos attached, "
                "or send the photos to me in a direct message."
            ),
        ],
        close="Close",
    )


def photo_in_progress_modal(count: int) -> dict[str, Any]:
    """A repeated submission's answer while the first one is still attaching the same photos."""
    them = "These photos are" if count != 1 else "This photo is"
    return modal(
        Callback.PHOTO_MODAL,
        TITLE,
        [
            section(
                f":hourglass_flowing_sand: {them} already being attached. The result is posted "
                "in the conversation when it is done."
            )
        ],
        close="Close",
    )


def photo_result_modal(message: Mapping[str, Any]) -> dict[str, Any]:
    """The modal's last state: the same summary the conversation gets."""
    return modal(Callback.PHOTO_MODAL, TITLE, list(message["blocks"]), close="Close")
