"""Attach-photos modal listeners: open it, follow the project and form choices, submit.

The work (Coperniq look-ups, upload and attach once per photo) is in bot.flows.photo; these
listeners translate Slack to it and its results back to Slack.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.blocks.common import (
    decode_metadata,
    errors_for_view,
    input_options,
    selected_option,
    selected_texts,
)
from bot.blocks.photo import build_photo_modal, clean_refs, parse_photo, validate_photo
from bot.blocks.photo_replies import (
    photo_confirmation,
    photo_in_progress_modal,
    photo_result_modal,
    photo_working_modal,
)
from bot.blocks.records import record_option
from bot.coperniq.errors import CoperniqError
from bot.flows.photo import attach_photos, fields_for, forms_for
from bot.ids import Block
from bot.people import author_of
from bot.records import PROJECT, find_project, parse_value, record_url
from bot.refs import NotARecordNumber, parse_id
from bot.store import utcnow
from handlers.views.common import no_single_project, open_view, post_result, update_view

if TYPE_CHECKING:
    from slack_bolt import Ack
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)


def open_photo_modal(
    *,
    client: WebClient,
    coperniq: CoperniqClient,
    trigger_id: str,
    channel: str | None,
    user: str,
    files: list[list[Any]] | None = None,
    project: str | None = None,
    project_text: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """Open at once (chosen files listed); a given project and its forms are loaded after."""
    meta = {"c": channel, "u": user, "f": files or [], "t": thread_ts}
    if not project and not project_text:
        open_view(client, trigger_id, build_photo_modal(meta), channel=channel, user=user)
        return
    opened = open_view(
        client,
        trigger_id,
        build_photo_modal(meta, loading="Looking up the project…"),
        channel=channel,
        user=user,
    )
    if opened is None:
        return
    coperniq = coperniq.interactive
    try:
        if ref := parse_value(project, (PROJECT.kind,)):
            record = coperniq.projects.get(ref[1])
        else:
            record = find_project(coperniq, project_text or "")
        if record is None:
            view = build_photo_modal(meta, notice=no_single_project(project_text))
        else:
            option = record_option(PROJECT.kind, record)
            view = build_photo_modal(
                meta, project_option=option, forms=forms_for(coperniq, record["id"])
            )
    except (CoperniqError, NotARecordNumber) as exc:
        log.warning("Project lookup for the photo modal failed: %r", exc)
        view = build_photo_modal(meta, notice=f":warning: {exc.user_message}")
    update_view(client, opened["id"], view, opened.get("hash"))


def _chosen(body: dict[str, Any]) -> dict[str, Any] | None:
    """The option the person just picked (from the action, which is always current)."""
    for action in body.get("actions") or []:
        if action.get("selected_option"):
            return action["selected_option"]
    return None


def project_chosen(
    ack: Ack, body: dict[str, Any], client: WebClient, coperniq: CoperniqClient
) -> None:
    """Show the chosen project's open forms (a loading line first, then the list)."""
    ack()
    view = body["view"]
    meta = decode_metadata(view)
    option = _chosen(body) or selected_option(view, Block.PHOTO_PROJECT)
    if option is None:
        return
    ref = parse_value(option.get("value"), (PROJECT.kind,))
    if ref is None:
        # Not a value the bot's own list offers: ask again, and ask Coperniq nothing.
        update_view(
            client,
            view["id"],
            build_photo_modal(meta, notice=":warning: Choose the project from the list again."),
            view.get("hash"),
        )
        return
    loading = update_view(
        client,
        view["id"],
        build_photo_modal(meta, project_option=option, loading="Loading forms…"),
        view.get("hash"),
    )
    if loading is None:
        return
    try:
        new = build_photo_modal(
            meta, project_option=option, forms=forms_for(coperniq.interactive, ref[1])
        )
    except CoperniqError as exc:
        log.warning("Loading forms failed: %r", exc)
        new = build_photo_modal(meta, project_option=option, notice=f":warning: {exc.user_message}")
    update_view(client, view["id"], new, loading.get("hash"))


def form_chosen(
    ack: Ack, body: dict[str, Any], client: WebClient, coperniq: CoperniqClient
) -> None:
    """Show the chosen form's FILE fields, keeping the project and the form list."""
    ack()
    view = body["view"]
    meta = decode_metadata(view)
    option = selected_option(view, Block.PHOTO_PROJECT)
    picked = (_chosen(body) or {}).get("value", "")
    form_value = parse_id(picked) or parse_photo(view)["form_id"]
    if option is None or form_value is None:
        return
    forms = [
        {"id": form_id, "name": o["text"]["text"]}
        for o in input_options(view, Block.PHOTO_FORM)
        if (form_id := parse_id(o.get("value"))) is not None
    ]
    try:
        fields = fields_for(coperniq.interactive, form_value)
        new = build_photo_modal(
            meta, project_option=option, forms=forms, form_id=form_value, fields=fields
        )
    except CoperniqError as exc:
        log.warning("Loading form %s failed: %r", form_value, exc)
        new = build_photo_modal(
            meta, project_option=option, forms=forms, notice=f":warning: {exc.user_message}"
        )
    update_view(client, view["id"], new, view.get("hash"))


def submit(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    coperniq: CoperniqClient,
    store: Store,
    settings: Settings,
) -> None:
    """Validate (sizes inline, naming the limit), then attach each photo and report each failure."""
    view = body["view"]
    meta = decode_metadata(view)
    data = parse_photo(view)
    errors = validate_photo(data, meta)
    if errors:
        ack(
            response_action="errors",
            errors=errors_for_view(view, errors, fallback=Block.PHOTO_PROJECT),
        )
        return
    # Files chosen before the modal (a message's, a DM's) come from metadata with id, name, size.
    files = [{"id": i, "name": n, "size": s} for i, n, s in clean_refs(meta.get("f"))]
    files += [dict(f) for f in data["files"]]
    ack(response_action="update", view=photo_working_modal(len(files)))
    user = body["user"]["id"]
    texts = selected_texts(view)
    # The option reads "name · phase · status"; the confirmation and the note name the form only.
    form_name = texts.get(Block.PHOTO_FORM, f"form {data['form_id']}").split(" · ")[0]
    field_name = texts.get(Block.PHOTO_FIELD, "photos")
    results = attach_photos(
        store.db,
        coperniq.interactive,
        client,
        user=user,
        files=files,
        project_id=data["project_id"],
        form_id=data["form_id"],
        column_id=data["column_id"],
        # Asked after the ack, and only when a photo is attached: who the project note names.
        author=lambda: author_of(store.db, coperniq.interactive, client, user, utcnow()),
        field_label=f"{form_name} · {field_name}",
    )
    if results.only_pending:
        # Another submission of the same photos is at work and will post the result itself.
        update_view(client, view["id"], photo_in_progress_modal(len(results.pending)))
        return
    message = photo_confirmation(
        user=user,
        project_label=texts.get(Block.PHOTO_PROJECT, f"project {data['project_id']}"),
        form_name=form_name,
        field_name=field_name,
        attached=results.attached,
        already=results.already,
        pending=results.pending,
        failed=results.failed,
        url=record_url(settings.coperniq_app_url, PROJECT.kind, data["project_id"]),
    )
    post_result(client, meta.get("c"), user, message, thread_ts=meta.get("t"))
    update_view(client, view["id"], photo_result_modal(message))
