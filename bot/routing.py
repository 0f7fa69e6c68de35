"""What `/coperniq subscribe`, `unsubscribe` and `subscriptions` do, apart from Slack plumbing.

Who may change a channel's subscriptions: anyone linked to a Coperniq user (the change is
announced in the channel under their name), or a Slack workspace admin; an invoices
subscription shows money in a channel, so it needs a role in PAYMENT_ROLES (billing) or a
workspace admin. The bot must be in the channel: the confirmation it posts there is the proof,
and a subscription whose confirmation Slack refuses is not kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.blocks.common import slack_text
from bot.blocks.people import _why_unlinked
from bot.people import identify, is_workspace_admin
from jobs import catalog as catalog_mod
from jobs.subscriptions import (
    INVOICES,
    KINDS,
    SLA,
    FilterError,
    Subscription,
    check_values,
    describe,
    env_channel,
    parse_filters,
    subscribe,
    subscriptions,
    unsubscribe,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.coperniq import CoperniqClient
    from bot.store import Store

log = logging.getLogger(__name__)

# Slack's answers when the bot cannot post in a channel: it is not a member (a public channel),
# or cannot even see it (a private channel it was not invited to).
NOT_IN = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
WHAT = {SLA: "forms past their phase SLA", INVOICES: "overdue invoices"}
ENV = {SLA: "SLA_ALERT_CHANNEL", INVOICES: "INVOICE_ALERT_CHANNEL"}


@dataclass
class Answer:
    """What the person who typed the command is told privately (mrkdwn)."""

    text: str


def is_direct(body: dict[str, Any]) -> bool:
    channel = str(body.get("channel_id") or "")
    return channel.startswith("D") or body.get("channel_name") in ("directmessage", "mpdm")


def _kind(args: str, command: str, verb: str) -> tuple[str | None, str, Answer | None]:
    first, _, rest = args.strip().partition(" ")
    job = KINDS.get(first.lower())
    if job is None:
        said = f"“{slack_text(first, 30)}” is not something to {verb}. " if first else ""
        return (
            None,
            "",
            Answer(
                f"{said}Write `{command} {verb} sla` (forms past their phase SLA) or "
                f"`{command} {verb} invoices` (overdue invoices)"
                + (
                    ", then filters if you like, e.g. "
                    f'`{command} subscribe sla workflow:"Residential Solar" level:red`.'
                    if verb == "subscribe"
                    else "."
                )
            ),
        )
    return job, rest.strip(), None


def _may_change(
    job: str,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
) -> tuple[str | None, str | None]:
    """(who, for the channel's confirmation) or (None, why not) for the person changing it."""
    slack_user = body["user_id"]
    identity = identify(
        store.db,
        coperniq.interactive,
        client,
        slack_user,
        now,
        payment_roles=settings.payment_roles,
    )
    person = identity.person
    if job == INVOICES and person is not None and person.may("record_payment"):
        return f"<@{slack_user}>", None
    if job == SLA and person is not None:
        return f"<@{slack_user}>", None
    try:
        admin = is_workspace_admin(client, slack_user)
    except SlackApiError:
        admin = False
    if admin:
        return f"<@{slack_user}>", None
    command = settings.slack_command
    if person is None:
        return None, (
            "Only people linked to a Coperniq user (or Slack workspace admins) can change what "
            f"a channel is sent. {_why_unlinked(identity)} A Slack workspace admin can link you "
            f"with `{command} link @you you@company.com`."
        )
    roles = " or ".join(slack_text(r, 60) for r in settings.payment_roles)
    rule = f"the Coperniq role {roles}" if roles else "a role in PAYMENT_ROLES (none is set yet)"
    return None, (
        "Overdue invoices show money to everyone in the channel, so subscribing a channel to "
        f"them needs {rule}, or a Slack workspace admin. Your Coperniq role is "
        f"{slack_text(person.role or 'none', 60)}."
    )


def _needs_coperniq(job: str, filters: dict[str, list[str]]) -> bool:
    return job == SLA and any(k in filters for k in ("workflow", "trade", "phase"))


def _post(client: WebClient, channel: str, text: str) -> str | None:
    """Post the channel's confirmation; None when posted, else why not (a sentence)."""
    try:
        client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
    except SlackApiError as exc:
        error = (exc.response or {}).get("error")
        if error in NOT_IN:
            try:
                bot = client.auth_test().get("user_id")
            except SlackApiError:
                bot = None
            who = f"<@{bot}>" if bot else "the bot"
            return (
                f"I'm not in this channel, so I can't post its alerts here. Add me with "
                f"`/invite {who}` (or the channel's details → Integrations → Add apps), "
                "then run the command again. Nothing was changed."
            )
        log.warning("posting a subscription confirmation failed: %s", error)
        return (
            f"Slack refused my message in this channel ({slack_text(str(error), 60)}). "
            "Nothing was changed."
        )
    return None


def do_subscribe(
    args: str,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
) -> Answer:
    command = settings.slack_command
    job, rest, bad = _kind(args, command, "subscribe")
    if bad is not None:
        return bad
    assert job is not None
    if is_direct(body):
        return Answer(
            "Subscriptions are for channels: run this in the channel that should get the "
            "alerts. For alerts about your own forms, open my App Home (Home tab) and turn on "
            "personal notifications."
        )
    channel = body["channel_id"]
    try:
        filters = parse_filters(job, rest)
    except FilterError as exc:
        return Answer(f"{exc} Nothing was changed.")
    if env_channel(job, settings) == channel:
        return Answer(
            f"This channel already gets every alert about {WHAT[job]}: it is {ENV[job]} in the "
            "bot's settings, which cannot be narrowed from Slack. To filter it, ask whoever "
            f"runs the bot to unset {ENV[job]}, then subscribe here with filters."
        )
    who, why = _may_change(job, body, client, settings, store, coperniq, now)
    if who is None:
        return Answer(why or "")
    if filters:
        try:
            names = catalog_mod.load(
                store.db,
                coperniq.interactive,
                now,
                need_coperniq=_needs_coperniq(job, filters),
            )
        except catalog_mod.CatalogUnavailable:
            return Answer(
                "I couldn't read the workflows and trades from Coperniq to check your filters, "
                "so nothing was changed (a filter that matches nothing would stay silent). "
                "Please try again in a minute."
            )
        if "client" in filters and not names.clients:
            return Answer(
                "I don't know any clients yet: the overdue-invoices job has not copied the "
                "invoices from Coperniq. Subscribe without `client:` for now, or try again after "
                "its first run. Nothing was changed."
            )
        try:
            filters = check_values(job, filters, names)
        except FilterError as exc:
            return Answer(f"{exc} Nothing was changed.")
    wants = describe(job, filters)
    what = f"{WHAT[job]}" + (f" where {wants}" if wants else " (all of them)")
    db = store.db
    old = subscribe(
        db,
        channel,
        job,
        filters,
        by=body["user_id"],
        now=now,
        channel_name=body.get("channel_name"),
    )
    unsub = f"`{command} unsubscribe {_kind_word(job)}`"
    posted = _post(
        client,
        channel,
        f"{who} subscribed this channel to {what}. They arrive with each run"
        f"{_next_run(job, settings, now)}; {unsub} stops them.",
    )
    if posted is not None:
        _restore(db, channel, job, old, now)
        return Answer(posted)
    # Items the new filters no longer want are let go by the next run, without a card update.
    was = f" (it had {old.describe()})" if old is not None else ""
    return Answer(f"Done: this channel now gets {what}{was}.")


def _next_run(job: str, settings: Settings, now: datetime) -> str:
    from jobs.registry import JOBS
    from jobs.scheduler import trigger_for

    try:
        nxt = trigger_for(settings, JOBS[job]).get_next_fire_time(None, now)
    except (ValueError, KeyError):
        return ""
    if nxt is None:
        return ""
    ts = int(nxt.timestamp())
    fallback = nxt.astimezone(settings.timezone).strftime("%a %d %b %H:%M %Z")
    return f" (next: <!date^{ts}^{{date_short_pretty}} at {{time}}|{fallback}>)"


def _kind_word(job: str) -> str:
    return "sla" if job == SLA else "invoices"


def _restore(db: Any, channel: str, job: str, old: Subscription | None, now: datetime) -> None:
    """Put back what the channel had before a subscribe whose confirmation Slack refused."""
    unsubscribe(db, channel, job)
    if old is not None:
        subscribe(
            db,
            channel,
            job,
            old.filters,
            by=old.created_by or "",
            now=datetime.fromisoformat(old.created_at) if old.created_at else now,
            channel_name=old.channel_name,
        )


def do_unsubscribe(
    args: str,
    body: dict[str, Any],
    client: WebClient,
    settings: Settings,
    store: Store,
    coperniq: CoperniqClient,
    now: datetime,
) -> Answer:
    command = settings.slack_command
    job, _rest, bad = _kind(args, command, "unsubscribe")
    if bad is not None:
        return bad
    assert job is not None
    channel = body["channel_id"]
    if env_channel(job, settings) == channel:
        return Answer(
            f"This channel gets {WHAT[job]} because it is {ENV[job]} in the bot's settings; "
            f"ask whoever runs the bot to unset {ENV[job]} to stop them."
        )
    have = subscriptions(store.db, settings, job, channel)
    if not have:
        return Answer(
            f"This channel is not subscribed to {WHAT[job]}. `{command} subscriptions` shows "
            "what it gets."
        )
    who, why = _may_change(job, body, client, settings, store, coperniq, now)
    if who is None:
        return Answer(why or "")
    old = unsubscribe(store.db, channel, job)
    # Its once-per-item state goes with it: subscribing again announces what is open then.
    store.db.execute("delete from alert_items where job = ? and channel = ?", [job, channel])
    try:
        client.chat_postMessage(
            channel=channel,
            text=f"{who} unsubscribed this channel from {WHAT[job]}; no more of them here.",
        )
    except SlackApiError as exc:
        log.info("unsubscribe notice not posted: %s", (exc.response or {}).get("error"))
    gone = old.describe() if old else WHAT[job]
    return Answer(f"Done: this channel no longer gets {WHAT[job]} (it had {gone}).")


def do_list(body: dict[str, Any], client: WebClient, settings: Settings, store: Store) -> Answer:
    command = settings.slack_command
    channel = body.get("channel_id") or ""
    here = [] if is_direct(body) else subscriptions(store.db, settings, channel=channel)
    lines = []
    if here:
        lines.append("*This channel gets:*")
        lines += [f"• {_line(s, command)}" for s in here]
    elif not is_direct(body):
        lines.append(
            "This channel gets no alerts. Subscribe it with "
            f'`{command} subscribe sla [filters]` (e.g. `workflow:"Residential Solar" '
            "level:red`) or `"
            + command
            + " subscribe invoices [filters]` (e.g. `min:5000 days:60`)."
        )
    try:
        admin = is_workspace_admin(client, body["user_id"])
    except SlackApiError:
        admin = False
    if admin:
        every = subscriptions(store.db, settings)
        lines.append(f"*Every channel ({len(every)} subscription(s)), as you are a Slack admin:*")
        if not every:
            lines.append("• none yet")
        for s in every[:40]:
            lines.append(f"• <#{s.channel}>: {_line(s, command)}")
        if len(every) > 40:
            lines.append(f"…and {len(every) - 40} more (the App Home lists them all).")
    return Answer("\n".join(lines) or "Nothing to show.")


def _line(s: Subscription, command: str) -> str:
    what = WHAT[s.job]
    how = s.describe()
    src = (
        f"set by {ENV[s.job]} in the bot's settings"
        if s.source == "env"
        else (f"by <@{s.created_by}>" if s.created_by else "from Slack")
        + (f" on {s.created_at[:10]}" if s.created_at else "")
    )
    return f"{what}: {how} ({src})"
