"""Block Kit for records: the option a project, request or client shows as, and grouped options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.blocks.common import OPTION_TEXT_MAX, OPTIONS_MAX, option, plain, truncate
from bot.records import KINDS, label_of, option_value, record_type


def record_option_text(kind: str, record: Mapping[str, Any]) -> str:
    """'Project #1042 · Smith residence · 12 Oak St' cut to Slack's 75 characters."""
    parts = [label_of(kind, record), str(record.get("title") or "").strip()]
    address = ", ".join(record.get("address") or [])
    if address:
        parts.append(address)
    return truncate(" · ".join(p for p in parts if p), OPTION_TEXT_MAX)


def record_option(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A select option for a Coperniq record (value 'kind:id')."""
    return option(record_option_text(kind, record), option_value(kind, record["id"]))


def record_options(
    groups: Mapping[str, list[Mapping[str, Any]]], limit: int = OPTIONS_MAX
) -> dict[str, Any]:
    """The options-load answer: records grouped by kind, never more than `limit` options in all."""
    out_groups = []
    left = limit
    for kind in KINDS:
        records = list(groups.get(kind) or [])[:left]
        if not records:
            continue
        left -= len(records)
        out_groups.append(
            {
                "label": plain(record_type(kind).plural),
                "options": [record_option(kind, r) for r in records],
            }
        )
    if not out_groups:
        return {"options": []}
    return {"option_groups": out_groups}
