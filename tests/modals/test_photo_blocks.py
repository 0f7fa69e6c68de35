from __future__ import annotations

from bot.blocks.common import errors_for_view
from bot.blocks.photo import (
    MAX_UPLOAD_BYTES,
    build_photo_modal,
    file_fields,
    file_refs,
    open_forms,
    parse_photo,
    refs_from_button,
    validate_photo,
)
from bot.blocks.photo_replies import dm_photos_prompt, photo_confirmation
from bot.ids import Block
from tests.modals.slackstate import check_message, check_view, fill

PROJECT = {"text": {"type": "plain_text", "text": "Project #9 · Lee"}, "value": "project:9"}
FORMS = [
    {"id": 31, "name": "Site survey", "status": "ASSIGNED", "phaseName": "Design"},
    {"id": 32, "name": "Install QA", "status": "COMPLETED"},
    {"id": 33, "name": "Old", "status": "CANCELLED"},
]
FORM_DETAIL = {
    "id": 31,
    "formLayouts": [
        {
            "id": "default",
            "properties": [
                {"id": 1, "columnId": 501, "name": "Roof photos", "type": "FILE"},
                {"id": 2, "columnId": 502, "name": "Notes", "type": "TEXT"},
            ],
        },
        {"id": 5, "fields": [{"id": 3, "columnId": 503, "name": "Panel photos", "type": "FILE"}]},
    ],
}


def _photo(name="a.jpg", size=1000, mimetype="image/jpeg"):
    return {
        "id": "F" + name,
        "name": name,
        "size": size,
        "mimetype": mimetype,
        "url_private_download": f"http://files/{name}",
    }


def _full_view():
    """The modal with project 9, form 31 and field 503 chosen."""
    return build_photo_modal(
        {"c": "C1"},
        project_option=PROJECT,
        forms=open_forms(FORMS),
        form_id=31,
        fields=file_fields(FORM_DETAIL),
        column_id=503,
    )


def test_each_step_of_the_modal_fits_slack_limits():
    check_view(build_photo_modal({"c": "C1"}))
    check_view(build_photo_modal({"c": "C1"}, project_option=PROJECT, loading="Loading forms…"))
    check_view(build_photo_modal({"c": "C1"}, project_option=PROJECT, forms=open_forms(FORMS)))
    check_view(
        build_photo_modal(
            {"c": "C1", "f": [["F1", "a.jpg", 10]]},
            project_option=PROJECT,
            forms=open_forms(FORMS),
            form_id=31,
            fields=file_fields(FORM_DETAIL),
        )
    )
    check_view(build_photo_modal({"c": "C1"}, project_option=PROJECT, forms=[]))


def test_only_open_forms_and_file_fields_are_offered():
    assert [f["id"] for f in open_forms(FORMS)] == [31]
    assert file_fields(FORM_DETAIL) == [
        {"columnId": 501, "name": "Roof photos"},
        {"columnId": 503, "name": "Panel photos"},
    ]


def test_choices_survive_each_update():
    view = _full_view()
    data = parse_photo(fill(view, {Block.PHOTO_FILES: [_photo()]}))
    assert data["project_id"] == 9 and data["form_id"] == 31 and data["column_id"] == 503
    assert data["files"][0]["name"] == "a.jpg"
    assert validate_photo(data, {}) == {}


def test_a_form_with_one_file_field_preselects_it():
    detail = {"formLayouts": [{"properties": [{"columnId": 9, "name": "Photos", "type": "FILE"}]}]}
    view = build_photo_modal(
        {}, project_option=PROJECT, forms=open_forms(FORMS), form_id=31, fields=file_fields(detail)
    )
    assert parse_photo(fill(view, {}))["column_id"] == 9


def test_oversize_files_are_refused_naming_the_limit():
    view = build_photo_modal(
        {},
        project_option=PROJECT,
        forms=open_forms(FORMS),
        form_id=31,
        fields=file_fields(FORM_DETAIL),
        column_id=501,
    )
    data = parse_photo(
        fill(view, {Block.PHOTO_FILES: [_photo("big.jpg", MAX_UPLOAD_BYTES + 1), _photo()]})
    )
    errors = validate_photo(data, {})
    assert list(errors) == [Block.PHOTO_FILES]
    assert "6 MB" in errors[Block.PHOTO_FILES] and "big.jpg" in errors[Block.PHOTO_FILES]


def test_preselected_files_make_the_upload_optional_but_their_size_still_counts():
    meta = {"f": [["F1", "a.jpg", 100]]}
    view = build_photo_modal(
        meta,
        project_option=PROJECT,
        forms=open_forms(FORMS),
        form_id=31,
        fields=file_fields(FORM_DETAIL),
        column_id=501,
    )
    files_block = next(b for b in view["blocks"] if b.get("block_id") == Block.PHOTO_FILES)
    assert files_block["optional"] is True
    assert validate_photo(parse_photo(fill(view, {})), meta) == {}
    big = {"f": [["F1", "a.jpg", MAX_UPLOAD_BYTES * 2]]}
    assert Block.PHOTO_FILES in validate_photo(parse_photo(fill(view, {})), big)


def test_missing_steps_are_errors_and_map_onto_the_blocks_shown():
    view = build_photo_modal({}, project_option=PROJECT, forms=open_forms(FORMS))
    errors = validate_photo(parse_photo(fill(view, {Block.PHOTO_FORM: None})), {})
    assert set(errors) == {Block.PHOTO_FORM, Block.PHOTO_FILES}
    mapped = errors_for_view(view, errors)
    assert "photo_form~9" in mapped and Block.PHOTO_FILES in mapped


def test_dm_prompt_carries_only_photos_and_round_trips():
    files = [_photo("a.jpg"), _photo("doc.pdf", mimetype="application/pdf") | {"filetype": "pdf"}]
    msg = dm_photos_prompt(files)
    check_message(msg)
    value = msg["blocks"][1]["elements"][0]["value"]
    assert refs_from_button(value) == [["Fa.jpg", "a.jpg", 1000]]
    assert dm_photos_prompt([files[1]]) is None
    assert file_refs([_photo(str(i)) for i in range(15)]).__len__() == 10


def test_confirmation_names_each_failed_file():
    msg = photo_confirmation(
        user="U1",
        project_label="Project #9",
        form_name="Site survey",
        field_name="Roof photos",
        attached=["a.jpg", "b.jpg"],
        already=[],
        failed=[("c.jpg", "it is not a photo")],
        url="https://app.example/projects/9",
    )
    check_message(msg)
    text = msg["blocks"][0]["text"]["text"]
    assert "attached 2 photos" in text and "c.jpg: it is not a photo" in text
    assert "c.jpg" in msg["text"]


def _named(names):
    return [
        {"id": f"F{i:011d}", "name": n, "mimetype": "image/jpeg", "size": 3_000_000}
        for i, n in enumerate(names)
    ]


def test_ten_photos_with_non_latin_names_all_reach_the_dm_button():
    files = _named([f"Фото крыши северная сторона дом Смит {i}.jpg" for i in range(10)])
    prompt = dm_photos_prompt(files)
    check_message(prompt)
    assert prompt["text"].startswith("Got 10 photos")
    refs = refs_from_button(prompt["blocks"][1]["elements"][0]["value"])
    assert [r[0] for r in refs] == [f["id"] for f in files]


def test_ten_photos_with_emoji_names_fit_the_modal_metadata():
    refs = file_refs(_named(["📷" * 40 + f"{i}.jpg" for i in range(10)]))
    view = build_photo_modal({"c": "C0CHANNEL", "u": "U0USER", "f": refs, "t": "1700000000.0001"})
    check_view(view)
    assert len(view["private_metadata"]) <= 3000
    assert len(refs) == 10


def test_a_form_listed_for_another_project_is_refused():
    """The person switched project while its forms loaded: the form shown belongs to the old one."""
    view = _full_view()
    other = {"text": {"type": "plain_text", "text": "Project #10 · Kim"}, "value": "project:10"}
    data = parse_photo(fill(view, {Block.PHOTO_PROJECT: other, Block.PHOTO_FILES: [_photo()]}))
    errors = validate_photo(data, {})
    assert set(errors) == {Block.PHOTO_FORM} and "project" in errors[Block.PHOTO_FORM]
    assert set(errors_for_view(view, errors)) == {f"{Block.PHOTO_FORM}~9"}


def test_a_field_listed_for_another_form_is_refused():
    view = _full_view()
    forms = [{"id": 31, "name": "Site survey"}, {"id": 34, "name": "Roof"}]
    view["blocks"] = (
        build_photo_modal({"c": "C1"}, project_option=PROJECT, forms=forms, form_id=31, fields=[])[
            "blocks"
        ][:2]
        + [b for b in view["blocks"] if b.get("block_id", "").startswith("photo_field")]
        + view["blocks"][-1:]
    )
    data = parse_photo(fill(view, {Block.PHOTO_FORM: "34", Block.PHOTO_FILES: [_photo()]}))
    errors = validate_photo(data, {})
    assert set(errors) == {Block.PHOTO_FIELD} and "another form" in errors[Block.PHOTO_FIELD]


def test_blank_form_and_field_names_still_make_options_slack_accepts():
    blank = {
        "id": 31,
        "formLayouts": [{"properties": [{"columnId": 501, "name": "   ", "type": "FILE"}]}],
    }
    view = build_photo_modal(
        {"c": "C1"},
        project_option=PROJECT,
        forms=[{"id": 31, "name": " \n ", "status": "ASSIGNED"}],
        form_id=31,
        fields=file_fields(blank),
    )
    check_view(view)
    texts = [
        o["text"]["text"]
        for b in view["blocks"]
        if b.get("type") == "input"
        for o in b["element"].get("options") or []
    ]
    assert texts and all(t.strip() for t in texts)


def test_forged_photo_references_are_dropped_not_met_as_a_crash():
    good = ["F1", "roof.jpg", 1200]
    forged = [["F2", "x.jpg", "²"], ["F3", None, 5], [7, "y.jpg", 5], ["F4", "z.jpg"], "F5", good]
    assert refs_from_button('[["F1", "roof.jpg", 1200], ["F2", "x.jpg", true]]') == [good]
    meta = {"c": "C1", "f": forged}
    check_view(build_photo_modal(meta))
    data = parse_photo(fill(_full_view(), {}))
    data["files"] = [{"id": "F9", "name": "odd.jpg", "size": "²", "mimetype": "image/jpeg"}]
    assert validate_photo(data, meta) == {}
