"""What `whoami`, `link` and `unlink` show (pure builders)."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import section, slack_text
from bot.people import (
    ACTIONS,
    GONE,
    NO_EMAIL,
    NO_MATCH,
    SLACK_ERROR,
    UNLINKED,
    Identity,
    Person,
)


def build_note(text: str) -> dict[str, Any]:
    """A one-section ephemeral answer (`text` already safe mrkdwn)."""
    return {"response_type": "ephemeral", "text": text, "blocks": [section(text)]}


def _who(person: Person) -> str:
    role = f", role *{slack_text(person.role, 60)}*" if person.role else ""
    return f"*{slack_text(person.name, 80)}* ({slack_text(person.email, 80)}{role})"


def _payment_rule(payment_roles: tuple[str, ...]) -> str:
    if not payment_roles:
        return "nobody may: PAYMENT_ROLES is not set"
    return "needs the Coperniq role " + " or ".join(slack_text(r, 60) for r in payment_roles)


def _why_unlinked(identity: Identity) -> str:
    """Why a Slack user has no Coperniq link, as a sentence to them."""
    email = slack_text(identity.slack_email or "", 80)
    reason = {
        UNLINKED: (
            "A Slack workspace admin removed your link to Coperniq, so your Slack email is not "
            "used to find you."
        ),
        NO_EMAIL: (
            "Slack gave me no email for you (your profile has none, or the app may not read "
            "emails), so I can't find you in Coperniq."
        ),
        NO_MATCH: f"No Coperniq user has your Slack email ({email}).",
        GONE: f"You were linked to a Coperniq user ({email}) who is no longer in Coperniq.",
        SLACK_ERROR: identity.detail or "Slack didn't answer.",
    }.get(identity.reason or "", "I don't know who you are in Coperniq.")
    if identity.detail and identity.reason != SLACK_ERROR:
        reason += " " + identity.detail
    return reason


def build_whoami(
    identity: Identity, command: str, payment_roles: tuple[str, ...]
) -> dict[str, Any]:
    """Who the bot thinks the person is in Coperniq, and what they may do."""
    person = identity.person
    link_hint = f"A Slack workspace admin can link you: `{command} link @you you@company.com`."
    if person is not None:
        how = (
            "linked by a Slack workspace admin"
            if person.linked == "override"
            else "matched by your Slack email"
        )
        lines = [f"In Coperniq you are {_who(person)}, {how}.", "*What you may do from Slack*"]
        for action, words in ACTIONS.items():
            mark = "✅" if person.may(action) else "🚫"
            rule = f" ({_payment_rule(payment_roles)})" if action == "record_payment" else ""
            lines.append(f"{mark} {words.capitalize()}{rule}")
        text = "\n".join(lines)
        return build_note(text)
    reason = _why_unlinked(identity)
    text = (
        f"You are not linked to a Coperniq user. {reason}\n"
        "You can still find records, log calls, attach photos and create requests; taking forms "
        f"and recording payments need a link. {link_hint}"
    )
    return build_note(text)


def build_usage(
    command: str, usage: str, example: str, problem: str | None = None
) -> dict[str, Any]:
    """How to write the command, after what was wrong with it."""
    text = f"Usage: `{command} {usage}`, for example `{example}`."
    if problem:
        text = f"{problem} {text}"
    return build_note(text)


def build_admins_only(command: str) -> dict[str, Any]:
    """The refusal for someone who is not a Slack workspace admin."""
    return build_note(
        "Only Slack workspace admins and owners can change who is linked to whom in Coperniq. "
        f"Ask one of them; everyone can see their own link with `{command} whoami`."
    )


def build_linked(slack_user: str, person: Person) -> dict[str, Any]:
    """The confirmation of an admin's link."""
    return build_note(
        f"<@{slack_user}> is now linked to {_who(person)} in Coperniq (set by you; their Slack "
        "email is no longer used)."
    )


def build_unlinked(slack_user: str, command: str) -> dict[str, Any]:
    """The confirmation of an admin's unlink."""
    return build_note(
        f"<@{slack_user}> is no longer linked to a Coperniq user, and their Slack email will not "
        f"link them again until an admin runs `{command} link`."
    )


def refusal(identity: Identity, doing: str, command: str, payment_roles: tuple[str, ...]) -> str:
    """Why a click was refused ("You can't take this form: ..."), and whom to ask."""
    person = identity.person
    if person is None:
        return (
            f"You can't {doing} from Slack: you are not linked to a Coperniq user. "
            f"{_why_unlinked(identity)} A Slack workspace admin can link you with "
            f"`{command} link @you you@company.com`; `{command} whoami` shows your link."
        )
    if not payment_roles:
        rule = (
            "nobody may record payments from Slack yet: whoever runs this bot can allow "
            "Coperniq roles with PAYMENT_ROLES"
        )
    else:
        rule = "it needs the Coperniq role " + " or ".join(slack_text(r, 60) for r in payment_roles)
    role = slack_text(person.role, 60) if person.role else "no role"
    return (
        f"You can't {doing} from Slack: {rule}, and your Coperniq user "
        f"({slack_text(person.name, 80)}) has {role}. Ask a Coperniq admin to change your role, "
        "or ask someone who has it."
    )
