"""Attach photos to a form field: project -> open forms -> FILE field -> upload, attach each."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot import submissions
from bot.blocks.call import record_option
from bot.blocks.common import (
    decode_metadata,
    errors_for_view,
    selected_option,
    selected_texts,
)
from bot.blocks.photo import (
    MAX_UPLOAD_BYTES,
    build_photo_modal,
    clean_refs,
    file_fields,
    open_forms,
    parse_photo,
    photo_confirmation,
    photo_in_progress_modal,
    photo_result_modal,
    photo_working_modal,
    validate_photo,
)
from bot.coperniq.errors import CoperniqError, NotFound
from bot.ids import Block
from bot.links import record_url
from bot.refs import NotARecordNumber, parse_id, parse_ref
from bot.slackfiles import SlackFileError, download
from bot.store import audit
from handlers.views.common import (
    find_project,
    input_options,
    interactive,
    no_single_project,
    open_view,
    post_result,
    slack_error,
    update_view,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.coperniq import CoperniqClient

log = logging.getLogger(__name__)

ACTION = "attach_photo"
# files.info's answers for a file in a conversation the bot is not part of.
_NOT_VISIBLE = ("file_not_found", "access_denied", "not_in_channel")


def forms_for(coperniq: CoperniqClient, project_id: int) -> list[dict[str, Any]]:
    """The project's open forms."""
    return [dict(f) for f in open_forms(coperniq.forms.list_for_project(project_id))]


def open_photo_modal(
    *,
    client: WebClient,
    context: Any,
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
    coperniq = interactive(context)
    try:
        if ref := parse_ref(project, ("project",)):
            record = coperniq.projects.get(ref[1])
        else:
            record = find_project(coperniq, project_text or "")
        if record is None:
            view = build_photo_modal(meta, notice=no_single_project(project_text))
        else:
            option = record_option("project", record)
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


def project_chosen(ack: Any, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Show the chosen project's open forms (a loading line first, then the list)."""
    ack()
    view = body["view"]
    meta = decode_metadata(view)
    option = _chosen(body) or selected_option(view, Block.PHOTO_PROJECT)
    if option is None:
        return
    ref = parse_ref(option.get("value"), ("project",))
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
    project_id = ref[1]
    try:
        new = build_photo_modal(
            meta, project_option=option, forms=forms_for(interactive(context), project_id)
        )
    except CoperniqError as exc:
        log.warning("Loading forms failed: %r", exc)
        new = build_photo_modal(meta, project_option=option, notice=f":warning: {exc.user_message}")
    update_view(client, view["id"], new, loading.get("hash"))


def form_chosen(ack: Any, body: dict[str, Any], client: WebClient, context: Any) -> None:
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
        fields = file_fields(interactive(context).forms.get(form_value))
        new = build_photo_modal(
            meta, project_option=option, forms=forms, form_id=form_value, fields=fields
        )
    except CoperniqError as exc:
        log.warning("Loading form %s failed: %r", form_value, exc)
        new = build_photo_modal(
            meta, project_option=option, forms=forms, notice=f":warning: {exc.user_message}"
        )
    update_view(client, view["id"], new, view.get("hash"))


def _slack_files(client: WebClient, data: dict[str, Any], meta: dict[str, Any]) -> list[dict]:
    """Every chosen file as a Slack file object (files chosen before the modal: via files.info)."""
    out: list[dict[str, Any]] = []
    for file_id, name, size in clean_refs(meta.get("f")):
        out.append({"id": file_id, "name": name, "size": size})
    out += [dict(f) for f in data["files"]]
    return out


def _already_on_field(
    coperniq: CoperniqClient, form_id: int, column_id: int, name: str
) -> bool | None:
    """Whether the FILE field already holds a file of that name; None when Coperniq can't say."""
    try:
        detail = coperniq.forms.get(form_id)
    except CoperniqError as exc:
        log.warning("Could not check form %s for an earlier copy: %r", form_id, exc)
        return None
    for group in detail.get("formLayouts") or []:
        for prop in group.get("properties") or group.get("fields") or []:
            if prop.get("columnId") == column_id and isinstance(prop.get("value"), list):
                return any(isinstance(v, dict) and v.get("name") == name for v in prop["value"])
    return False


def _resolve(client: WebClient, file: dict[str, Any]) -> dict[str, Any]:
    """The file with its download link and full name (from files.info when not in the payload)."""
    # Files chosen before the modal carry only their id and a name shortened for display.
    if file.get("url_private_download"):
        return file
    try:
        info = client.files_info(file=file["id"])["file"]
    except SlackApiError as exc:
        why = slack_error(exc)
        if why in _NOT_VISIBLE:
            raise SlackFileError(
                "the bot cannot see it there (add me to that channel, or send the photo to me "
                "in a direct message)."
            ) from None
        raise SlackFileError(f"Slack would not give the bot this file ({why}).") from None
    except Exception as exc:  # Slack unreachable: this file fails, the others still go
        log.exception("files.info %s failed", file["id"])
        why = type(exc).__name__
        raise SlackFileError(f"Slack could not be reached for it ({why}).") from None
    if not info.get("url_private_download"):
        raise SlackFileError("Slack gave no download link for it.")
    return {**file, **info}


def _upload_once(
    client: WebClient,
    coperniq: CoperniqClient,
    db: Any,
    key: str,
    claim: submissions.Claim,
    file: dict[str, Any],
    *,
    name: str,
    project_id: int,
) -> tuple[dict[str, Any] | None, str | None]:
    """The file in the project's files, uploaded by this try or found from an earlier one.

    (None, why) when it could not be had; a CoperniqError from the upload itself is raised.
    An earlier try that uploaded before its attach failed is remembered in the submission's
    progress; one whose upload answer was lost is looked for by name and size. Either way the
    project does not get a second copy.
    """
    progress = claim.progress or {}
    if progress.get("uploaded"):
        earlier = _still_uploaded(coperniq, project_id, progress["uploaded"])
        if earlier is not None:
            return earlier, None
        submissions.note_progress(db, key, uploaded=None)
    try:
        got = download(
            file["url_private_download"],
            client.token or "",
            max_bytes=MAX_UPLOAD_BYTES,
            api_url=client.base_url,
        )
    except SlackFileError as exc:
        return None, str(exc)
    size = len(got.content)
    if progress.get("uploading"):
        # An earlier upload's answer was lost: Coperniq may hold the file already.
        try:
            found = _find_upload(coperniq, project_id, name, size)
        except CoperniqError as exc:
            log.warning(
                "Could not list project %s files for an earlier upload: %r", project_id, exc
            )
            return None, (
                "Coperniq could not be asked whether an earlier try already uploaded it; "
                "try again in a minute."
            )
        if found is not None:
            submissions.note_progress(db, key, uploaded=found, uploading=None)
            return found, None
    submissions.note_progress(db, key, uploading={"name": name, "size": size})
    try:
        answer = coperniq.files.upload("project", project_id, got.content, name, got.content_type)
    except CoperniqError as exc:
        if not exc.outcome_unknown:
            submissions.note_progress(db, key, uploading=None)  # definitely not uploaded
        raise
    uploaded = {"id": answer.get("id"), "downloadUrl": answer["downloadUrl"]}
    submissions.note_progress(db, key, uploaded=uploaded, uploading=None)
    return uploaded, None


def _still_uploaded(
    coperniq: CoperniqClient, project_id: int, earlier: dict[str, Any]
) -> dict[str, Any] | None:
    """The earlier upload with a current download link; None when it was deleted meanwhile."""
    if earlier.get("id") is None:
        return earlier
    try:
        current = coperniq.files.get("project", project_id, earlier["id"])
    except NotFound:
        return None
    except CoperniqError as exc:
        # The link remembered from the upload is still the best there is.
        log.warning("Could not re-read uploaded file %s: %r", earlier["id"], exc)
        return earlier
    if not isinstance(current, dict) or not current.get("downloadUrl"):
        return earlier
    return {"id": current.get("id", earlier["id"]), "downloadUrl": current["downloadUrl"]}


def _find_upload(
    coperniq: CoperniqClient, project_id: int, name: str, size: int
) -> dict[str, Any] | None:
    """The newest project file with this name and size in bytes (an earlier try's upload)."""
    matches = [
        f
        for f in coperniq.files.list("project", project_id)
        if f.get("name") == name
        and (f.get("metaData") or {}).get("size") == size
        and f.get("downloadUrl")
        and not f.get("isArchived")
    ]
    if not matches:
        return None
    newest = max(matches, key=lambda f: (str(f.get("createdAt") or ""), int(f.get("id") or 0)))
    return {"id": newest.get("id"), "downloadUrl": newest["downloadUrl"]}


def _attach_one(
    client: WebClient,
    coperniq: CoperniqClient,
    db: Any,
    file: dict[str, Any],
    *,
    project_id: int,
    form_id: int,
    column_id: int,
    user: str,
) -> tuple[str, str | None]:
    """Download, upload, attach one file: ("attached" | "already" | "pending" | "failed", why)."""
    key = submissions.fingerprint(
        "", ACTION, {"form": form_id, "column": column_id, "file": file["id"]}
    )
    claim = submissions.begin(db, key, slack_user=user, action=ACTION)
    if claim.verdict == "done":
        return "already", None
    if claim.verdict == "pending":
        return "pending", None  # another submission (a double click) is attaching it now
    # After an unknown outcome, a failure before the attach leaves it unknown: a later try must
    # still look for the earlier copy first.
    not_done = submissions.UNKNOWN if claim.verdict == "retry_unknown" else submissions.FAILED
    try:
        file = _resolve(client, file)
    except SlackFileError as exc:
        submissions.mark(db, key, not_done, detail={"error": str(exc)})
        return "failed", str(exc)
    name = str(file.get("name") or file["id"])
    if claim.verdict == "retry_unknown":
        found = _already_on_field(coperniq, form_id, column_id, name)
        if found is None:
            submissions.mark(db, key, submissions.UNKNOWN)
            return "failed", (
                "Coperniq could not be asked whether an earlier try already attached it; "
                "try again in a minute."
            )
        if found:
            # The earlier attach timed out after Coperniq took it: do not attach a second copy.
            submissions.finish(
                db,
                key,
                record_type="form",
                record_id=form_id,
                detail={"slack_file": file["id"], "found": True},
            )
            return "already", None
    try:
        uploaded, why = _upload_once(
            client, coperniq, db, key, claim, file, name=name, project_id=project_id
        )
        if uploaded is None:
            submissions.mark(db, key, not_done, detail={"error": why})
            return "failed", why
        attached = coperniq.forms.attach_file_from_url(
            form_id,
            column_id,
            uploaded["downloadUrl"],
            name=name,
            project_id=project_id,
            action="add",
        )
    except CoperniqError as exc:
        state = submissions.UNKNOWN if exc.outcome_unknown else not_done
        submissions.mark(db, key, state, detail={"error": repr(exc)})
        log.warning("Attaching %s failed: %r", file["id"], exc)
        return "failed", exc.user_message
    except Exception:
        # Not a Coperniq answer (a bug): it may have been written, and the other photos still go.
        log.exception("Attaching %s failed unexpectedly", file["id"])
        submissions.mark(db, key, submissions.UNKNOWN)
        return "failed", "something went wrong on our side; try again in a minute."
    submissions.finish(
        db,
        key,
        record_type="form",
        record_id=form_id,
        detail={"slack_file": file["id"], "file_id": attached.get("fileId")},
    )
    audit(
        db,
        slack_user=user,
        action=ACTION,
        record_type="project",
        record_id=project_id,
        outcome="attached",
        detail={
            "form": form_id,
            "column": column_id,
            "slack_file": file["id"],
            "file_id": attached.get("fileId"),
        },
    )
    return "attached", None


def submit(ack: Any, body: dict[str, Any], client: WebClient, context: Any) -> None:
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
    files = _slack_files(client, data, meta)
    ack(response_action="update", view=photo_working_modal(len(files)))
    user = body["user"]["id"]
    texts = selected_texts(view)
    coperniq = interactive(context)
    db = context["store"].db
    results: dict[str, list[Any]] = {"attached": [], "already": [], "pending": [], "failed": []}
    for file in files:
        verdict, why = _attach_one(
            client,
            coperniq,
            db,
            file,
            project_id=data["project_id"],
            form_id=data["form_id"],
            column_id=data["column_id"],
            user=user,
        )
        name = str(file.get("name") or file["id"])
        results[verdict].append((name, why) if verdict == "failed" else name)
    if results["pending"] and not (results["attached"] or results["failed"]):
        # Another submission of the same photos is at work and will post the result itself.
        update_view(client, view["id"], photo_in_progress_modal(len(results["pending"])))
        return
    url = record_url(context["settings"].coperniq_app_url, "project", data["project_id"])
    message = photo_confirmation(
        user=user,
        project_label=texts.get(Block.PHOTO_PROJECT, f"project {data['project_id']}"),
        # The option reads "name · phase · status"; the confirmation names the form only.
        form_name=texts.get(Block.PHOTO_FORM, f"form {data['form_id']}").split(" · ")[0],
        field_name=texts.get(Block.PHOTO_FIELD, "photos"),
        attached=results["attached"],
        already=results["already"],
        pending=results["pending"],
        failed=results["failed"],
        url=url,
    )
    post_result(client, meta.get("c"), user, message, thread_ts=meta.get("t"))
    update_view(client, view["id"], photo_result_modal(message))
