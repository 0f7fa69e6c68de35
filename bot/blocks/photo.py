"""Attach-photos modal: project -> open form -> FILE field -> photos; photo references and sizes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks.common import (
    MIN_SEARCH_CHARS,
    VERSION_SEP,
    context,
    escape,
    external_select,
    flatten_state,
    input_block,
    modal,
    option,
    section,
    static_select,
    truncate,
    versioned,
)
from bot.ids import Action, Block, Callback
from bot.refs import parse_id, parse_ref

TITLE = "Attach photos"

# In practice Coperniq refuses uploads above about 6 MB (its request limit is 10 MB).
MAX_UPLOAD_BYTES = 6 * 1024 * 1024
MAX_UPLOAD_LABEL = "6 MB"
MAX_FILES = 10
IMAGE_FILETYPES = ("jpg", "jpeg", "png", "gif", "heic", "heif", "webp")
CLOSED_FORM_STATUSES = ("COMPLETED", "CANCELLED")
BUTTON_VALUE_MAX = 2000


def is_image_file(file: Mapping[str, Any]) -> bool:
    """A Slack file object that looks like a photo (by MIME type or file type)."""
    mimetype = str(file.get("mimetype") or "")
    return (
        mimetype.startswith("image/") or str(file.get("filetype") or "").lower() in IMAGE_FILETYPES
    )


def file_size(file: Mapping[str, Any]) -> int:
    """A Slack file object's size in bytes; 0 when absent or not a whole number."""
    return parse_id(file.get("size"), minimum=0) or 0


def file_refs(files: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Compact [id, name, size] for each photo among Slack file objects (what metadata carries)."""
    return [
        [
            f["id"],
            truncate(str(f.get("name") or f.get("title") or f["id"]), 40),
            file_size(f),
        ]
        for f in files
        if f.get("id") and is_image_file(f)
    ][:MAX_FILES]


def human_size(size: int) -> str:
    """Bytes as people read them (KB or MB)."""
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def open_forms(forms: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Forms that can still take photos (not completed or cancelled)."""
    return [
        f
        for f in forms
        if str(f.get("status") or "") not in CLOSED_FORM_STATUSES and not f.get("isCompleted")
    ]


def file_fields(form_detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The FILE fields of a form (GET /forms/{id}) as {columnId, name}, in layout order."""
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for group in form_detail.get("formLayouts") or []:
        for prop in group.get("properties") or group.get("fields") or []:
            if str(prop.get("type") or "").upper() == "FILE" and prop.get("columnId") is not None:
                if prop["columnId"] not in seen:
                    seen.add(prop["columnId"])
                    out.append(
                        {
                            "columnId": int(prop["columnId"]),
                            "name": str(prop.get("name") or "Photos"),
                        }
                    )
    return out


def form_option_text(form: Mapping[str, Any]) -> str:
    """A form as a select option: name · phase · status."""
    parts = [str(form.get("name") or f"Form {form.get('id')}")]
    if form.get("phaseName"):
        parts.append(str(form["phaseName"]))
    if form.get("status"):
        parts.append(str(form["status"]).replace("_", " ").lower())
    return " · ".join(parts)


def build_photo_modal(
    meta: Mapping[str, Any],
    *,
    project_option: dict[str, Any] | None = None,
    forms: Sequence[Mapping[str, Any]] | None = None,
    form_id: int | None = None,
    fields: Sequence[Mapping[str, Any]] | None = None,
    column_id: int | None = None,
    notice: str | None = None,
    loading: str | None = None,
) -> dict[str, Any]:
    """The photo modal at each step; what is already chosen is shown again as initial options."""
    preselected = clean_refs(meta.get("f"))
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append(section(notice))
    if preselected:
        names = ", ".join(f"{escape(n)} ({human_size(s)})" for _, n, s in preselected)
        blocks.append(
            section(
                f":paperclip: *{len(preselected)} photo{'s' if len(preselected) != 1 else ''} "
                f"chosen:* {truncate(names, 2500)}"
            )
        )
    blocks.append(
        input_block(
            Block.PHOTO_PROJECT,
            "Project",
            external_select(
                Action.PHOTO_PROJECT,
                initial=project_option,
                min_query_length=MIN_SEARCH_CHARS,
                placeholder="Type a project name, number or address",
            ),
            dispatch=True,
        )
    )
    project_suffix = project_option["value"].split(":", 1)[-1] if project_option else None
    if loading:
        blocks.append(context(f":hourglass_flowing_sand: {loading}"))
    elif forms is not None:
        if forms:
            blocks.append(
                input_block(
                    versioned(Block.PHOTO_FORM, project_suffix),
                    "Form",
                    static_select(
                        [option(form_option_text(f), str(f["id"])) for f in forms],
                        initial=str(form_id) if form_id else None,
                        action_id=Action.PHOTO_FORM,
                        placeholder="Choose an open form",
                    ),
                    dispatch=True,
                )
            )
        else:
            blocks.append(
                context(
                    ":information_source: This project has no open forms. Choose another project."
                )
            )
    if form_id and fields is not None and not loading:
        if fields:
            initial = (
                str(column_id)
                if column_id
                else (str(fields[0]["columnId"]) if len(fields) == 1 else None)
            )
            blocks.append(
                input_block(
                    versioned(Block.PHOTO_FIELD, form_id),
                    "Photo field",
                    static_select(
                        [option(f["name"], str(f["columnId"])) for f in fields],
                        initial=initial,
                        action_id=Action.PHOTO_FIELD,
                        placeholder="Choose the field",
                    ),
                )
            )
        else:
            blocks.append(
                context(
                    ":information_source: This form has no photo (file) fields. "
                    "Choose another form."
                )
            )
    file_el: dict[str, Any] = {
        "type": "file_input",
        "action_id": Action.INPUT,
        "filetypes": list(IMAGE_FILETYPES),
        "max_files": MAX_FILES,
    }
    blocks.append(
        input_block(
            Block.PHOTO_FILES,
            "More photos" if preselected else "Photos",
            file_el,
            optional=bool(preselected),
            hint=f"Up to {MAX_FILES} photos, {MAX_UPLOAD_LABEL} each.",
        )
    )
    return modal(Callback.PHOTO_MODAL, TITLE, blocks, submit="Attach", metadata=meta)


def _version_of(view: Mapping[str, Any], base: str) -> int | None:
    """The numeric version suffix of the state's `base` block (what its list was built for)."""
    for block_id in ((view.get("state") or {}).get("values")) or {}:
        name, _, suffix = block_id.partition(VERSION_SEP)
        if name == base and (version := parse_id(suffix)) is not None:
            return version
    return None


def parse_photo(view: Mapping[str, Any]) -> dict[str, Any]:
    """The photo form's values: project/form/field ids and the uploaded Slack file objects."""
    s = flatten_state(view)
    # The form block is versioned by the project whose forms it lists, the field block by the form.
    forms_of, fields_of = _version_of(view, Block.PHOTO_FORM), _version_of(view, Block.PHOTO_FIELD)
    project = parse_ref(s.get(Block.PHOTO_PROJECT), ("project",))
    return {
        "project_id": project[1] if project else None,
        "form_id": parse_id(s.get(Block.PHOTO_FORM)),
        "column_id": parse_id(s.get(Block.PHOTO_FIELD)),
        "files": [f for f in s.get(Block.PHOTO_FILES) or [] if isinstance(f, dict)],
        "forms_of": forms_of,
        "fields_of": fields_of,
    }


def validate_photo(data: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, str]:
    """Every problem at once; sizes over Coperniq's limit are refused here, naming the limit."""
    errors: dict[str, str] = {}
    if not data.get("project_id"):
        errors[Block.PHOTO_PROJECT] = "Choose the project."
    elif not data.get("form_id"):
        errors[Block.PHOTO_FORM] = "Choose the form the photos belong to."
    elif data.get("forms_of") not in (None, data["project_id"]):
        # The project changed while its forms were loading: this list is the other project's.
        errors[Block.PHOTO_FORM] = (
            "This list shows another project's forms. Choose the project again (if it does "
            "not reload, pick another one, then this one) to see its forms."
        )
    elif not data.get("column_id"):
        errors[Block.PHOTO_FIELD] = "Choose the photo field."
    elif data.get("fields_of") not in (None, data["form_id"]):
        errors[Block.PHOTO_FIELD] = (
            "This list shows another form's fields. Choose the form again to see its fields."
        )
    uploaded = list(data.get("files") or [])
    preselected = [{"id": i, "name": n, "size": s} for i, n, s in clean_refs(meta.get("f"))]
    every = preselected + uploaded
    problems: list[str] = []
    if not every:
        problems.append("Add at least one photo.")
    elif len(every) > MAX_FILES:
        problems.append(f"At most {MAX_FILES} photos at a time; you chose {len(every)}.")
    too_big = [f for f in every if file_size(f) > MAX_UPLOAD_BYTES]
    if too_big:
        names = ", ".join(f"{f.get('name')} ({human_size(file_size(f))})" for f in too_big)
        problems.append(f"Coperniq accepts files up to {MAX_UPLOAD_LABEL}; too large: {names}.")
    not_images = [f for f in uploaded if not is_image_file(f)]
    if not_images:
        problems.append(
            "Only photos can be attached: " + ", ".join(str(f.get("name")) for f in not_images)
        )
    if problems:
        errors[Block.PHOTO_FILES] = " ".join(problems)
    return errors


def refs_from_button(value: str | None) -> list[list[Any]]:
    """The [id, name, size] list a DM button carries; [] when malformed."""
    try:
        refs = json.loads(value or "[]")
    except ValueError:
        return []
    return clean_refs(refs)


def clean_refs(refs: object) -> list[list[Any]]:
    """The well-formed [id, name, size] entries of a button value or `private_metadata`'s "f".

    Both come back from Slack: a forged or mangled entry is dropped here, not met later as a
    crash in the middle of an upload.
    """
    if not isinstance(refs, list):
        return []
    return [
        r
        for r in refs
        if isinstance(r, list)
        and len(r) == 3
        and isinstance(r[0], str)
        and r[0]
        and isinstance(r[1], str)
        and isinstance(r[2], int)
        and not isinstance(r[2], bool)
        and r[2] >= 0
    ][:MAX_FILES]
