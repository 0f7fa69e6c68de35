"""Record ids and references from untrusted text: the one parser for commands, pickers, metadata
and payloads.

A record id is a positive integer that fits a signed 64-bit column (Coperniq's ids do), written in
ASCII digits. Python's `str.isdigit()`, `int()` and regex `\\d` all accept other scripts' digits
('²', Arabic-Indic '١٢٣'): `int('١٢٣') == 123` would name a different record than the one typed,
and `int('²')` raises. The parsers answer None instead of raising, so a caller turns "not an id"
into a message for the person and makes no Coperniq call.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
RECORD_KINDS = ("project", "opportunity", "account")

_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: object, *, minimum: int = 1) -> int | None:
    """An id from an int or a string of ASCII digits within minimum..2**63-1; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if minimum <= number <= MAX_ID else None


def parse_ref(value: object, kinds: tuple[str, ...] = RECORD_KINDS) -> tuple[str, int] | None:
    """'project:12' -> ('project', 12) when the kind is one of `kinds`; None for anything else."""
    if not isinstance(value, str):
        return None
    kind, sep, rest = value.partition(":")
    if not sep or kind not in kinds:
        return None
    record_id = parse_id(rest)
    return None if record_id is None else (kind, record_id)


def ref_value(kind: str, record_id: int | str) -> str:
    """The option or button value naming a record: 'kind:id' (what parse_ref reads back)."""
    # minimum 0: an id Coperniq itself gave may be 0 (the value then names no record to look up).
    if kind not in RECORD_KINDS or parse_id(record_id, minimum=0) is None:
        raise ValueError("not a record reference")
    return f"{kind}:{record_id}"


class NotARecordNumber(ValueError):
    """Typed text that looks like a record number but is none the bot can use."""

    def __init__(self, text: str) -> None:
        shown = " ".join(text.split())
        if len(shown) > 24:
            shown = shown[:23] + "…"
        # Only '#' and digits get here: nothing in `shown` can ping or link in mrkdwn.
        self.user_message = (
            f"“{shown}” is not a record number I can look up: numbers use the digits 0–9."
        )
        super().__init__("not a record number")


def typed_number(text: str | None) -> int | None:
    """What a person typed as a record number ('1234', '#1234'); None for a name or an address.

    Raises NotARecordNumber for text that looks like a number but is none the bot can use ('²',
    '١٢٣', twenty digits, 0), so the caller says so instead of searching or, worse, looking up the
    record that int() would read.
    """
    digits = (text or "").strip().removeprefix("#").strip()
    # str.isdigit() is the broad test on purpose ('²', '١٢٣' pass it): they are meant as numbers.
    if not digits or not all(ch.isdigit() for ch in digits):
        return None
    number = parse_id(digits)
    if number is None:
        raise NotARecordNumber(text or "")
    return number
