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


# --- Slack's escaped command text ------------------------------------------------------------
# With `should_escape` on, Slack sends a slash command's text with `&`, `<`, `>` as entities and
# with mentions and links as `<target|label>` tokens: a user `<@U123|dana>`, a channel
# `<#C123|general>`, an email `<mailto:a@b.com|a@b.com>`, a link `<https://…|…>`, a special
# mention `<!here>`. A literal `<` can only arrive as `&lt;`, so every `<…>` is Slack's own token.

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_TOKEN = re.compile(r"<([^<>]*)>")
_USER_TOKEN = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>")
_EMAIL = re.compile(r"[^@\s<>|&\"',;:()\[\]]+@[^@\s<>|&\"',;:()\[\]]+\.[A-Za-z0-9-]{2,}")
MAX_EMAIL = 254


def _unescape(text: str) -> str:
    # &amp; last, so that a typed "&amp;lt;" (sent as "&amp;amp;lt;") stays what was typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain_command_text(raw: str | None) -> str:
    """What the person typed, from Slack's escaped text: tokens shown as their labels."""

    def shown(match: re.Match[str]) -> str:
        target, sep, label = match.group(1).partition("|")
        if target[:1] in "@#":
            return target[:1] + (label if sep else target[1:])
        if target.startswith("!"):
            # <!here>, <!subteam^S123|@team>: the label already carries its @.
            return label if sep else "@" + target[1:]
        if target.startswith("mailto:"):
            return label if sep else target[len("mailto:") :]
        return label if sep else target

    return _unescape(_TOKEN.sub(shown, raw or ""))


def parse_slack_user(token: str | None) -> str | None:
    """A Slack user id from `<@U123>`, `<@U123|name>` or a bare `U123`; None for anything else."""
    text = (token or "").strip()
    if match := _USER_TOKEN.fullmatch(text):
        return match.group(1)
    return text if SLACK_USER_ID.fullmatch(text) else None


def parse_email(token: str | None) -> str | None:
    """An email address from `<mailto:a@b.com|a@b.com>` or plain `a@b.com`; None otherwise."""
    text = (token or "").strip()
    if text.startswith("<mailto:") and text.endswith(">"):
        text = text[len("<mailto:") : -1].partition("|")[0]
    text = _unescape(text)
    if len(text) > MAX_EMAIL or not text.isascii() or not _EMAIL.fullmatch(text):
        return None
    return text
