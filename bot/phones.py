"""Phone numbers as people type them -> E.164, with `phonenumbers` (default region US)."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "US"


def to_e164(text: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of a typed number, or None when it is not a valid number."""
    if not text or not text.strip():
        return None
    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str | None, region: str = DEFAULT_REGION) -> str:
    """A number formatted for people: national form at home, international elsewhere."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(parsed) == region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)
