"""Settings: the one reader of the environment (and of an optional `.env`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dotenv import dotenv_values

from bot.crontab import crontab_trigger

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_COPERNIQ_BASE_URL = "https://api.coperniq.io/v1"
DEFAULT_COPERNIQ_APP_URL = "https://app.coperniq.io"

# Public channels start with C, private ones (and old-style groups) with G.
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class ConfigError(Exception):
    """Every problem found in the environment, reported together."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    """Immutable configuration; build it with `load_settings()`."""

    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_command: str = "/coperniq"
    coperniq_api_key: Secret | None = None
    coperniq_base_url: str = DEFAULT_COPERNIQ_BASE_URL
    coperniq_app_url: str = DEFAULT_COPERNIQ_APP_URL
    coperniq_daily_budget: int = 5000
    db_path: Path = Path("data/bot.db")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Chicago"))
    invoice_alert_channel: str | None = None
    sla_alert_channel: str | None = None
    invoice_alert_cron: str = "0 8 * * 1-5"
    sla_alert_cron: str = "0 8-17 * * 1-5"
    company_phone: str | None = None
    port: int = 3000
    invoice_realert_days: int = 7
    sla_realert_hours: int = 24
    request_trades: tuple[str, ...] = ()
    # Coperniq role names allowed to record invoice payments; empty: nobody.
    payment_roles: tuple[str, ...] = ()
    # Personal notifications: when the morning summaries go out, and the local hours (start, end)
    # during which DMs wait; start == end: no quiet hours.
    morning_digest_cron: str = "0 7 * * 1-5"
    quiet_hours: tuple[int, int] = (19, 7)
    # Coperniq Automation webhooks: the secret path segment of the receiver's URL (off when
    # unset), and in Socket Mode the port of the listener that serves that path alone.
    coperniq_webhook_secret: Secret | None = None
    webhook_port: int | None = None

    def require(self, *names: str) -> None:
        """Raise ConfigError listing each named setting that is unset (for one command's needs)."""
        if missing := missing_problems(self, names):
            raise ConfigError(missing)

    def __repr__(self) -> str:  # dataclass repr would be fine (Secret hides itself); keep it short
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"Settings({shown})"


# Settings attribute -> environment variable.
ENV_NAMES: dict[str, str] = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "slack_command": "SLACK_COMMAND",
    "coperniq_api_key": "COPERNIQ_API_KEY",
    "coperniq_base_url": "COPERNIQ_BASE_URL",
    "coperniq_app_url": "COPERNIQ_APP_URL",
    "coperniq_daily_budget": "COPERNIQ_DAILY_BUDGET",
    "db_path": "BOT_DB_PATH",
    "timezone": "BOT_TIMEZONE",
    "invoice_alert_channel": "INVOICE_ALERT_CHANNEL",
    "sla_alert_channel": "SLA_ALERT_CHANNEL",
    "invoice_alert_cron": "INVOICE_ALERT_CRON",
    "sla_alert_cron": "SLA_ALERT_CRON",
    "company_phone": "COMPANY_PHONE",
    "port": "PORT",
    "invoice_realert_days": "INVOICE_REALERT_DAYS",
    "sla_realert_hours": "SLA_REALERT_HOURS",
    "request_trades": "REQUEST_TRADES",
    "payment_roles": "PAYMENT_ROLES",
    "morning_digest_cron": "MORNING_DIGEST_CRON",
    "quiet_hours": "QUIET_HOURS",
    "coperniq_webhook_secret": "COPERNIQ_WEBHOOK_SECRET",
    "webhook_port": "WEBHOOK_PORT",
}

DESCRIPTIONS: dict[str, str] = {
    "slack_bot_token": "the bot token, starting xoxb-",
    "slack_signing_secret": "the Slack app's signing secret (Basic Information page)",
    "slack_app_token": "an app-level token starting xapp- with connections:write",
    "slack_api_url": "an http(s) URL ending in /",
    "slack_command": "a slash command such as /coperniq",
    "coperniq_api_key": "a Coperniq API key (Settings > API keys), sent as x-api-key",
    "coperniq_base_url": "an http(s) URL such as https://api.coperniq.io/v1",
    "coperniq_app_url": "an http(s) URL such as https://app.coperniq.io/388",
    "coperniq_daily_budget": "a whole number of requests per 24 h, at least 1",
    "db_path": "a file path for the SQLite database",
    "timezone": "an IANA time zone such as America/Chicago",
    "invoice_alert_channel": "a Slack channel id such as C0123456789",
    "sla_alert_channel": "a Slack channel id such as C0123456789",
    "invoice_alert_cron": "a five-field crontab such as '0 8 * * 1-5'",
    "sla_alert_cron": "a five-field crontab such as '0 8-17 * * 1-5'",
    "company_phone": "a phone number in E.164 form such as +15125550100",
    "port": "a TCP port number from 1 to 65535",
    "invoice_realert_days": "whole days before a still-overdue invoice is listed again (0: never)",
    "sla_realert_hours": "whole hours before a form still past SLA is announced again (0: never)",
    "request_trades": "comma-separated trade names such as 'Solar, HVAC, Electrical' (at most 100)",
    "payment_roles": "comma-separated Coperniq role names such as 'Admin, Office Staff'",
    "morning_digest_cron": "a five-field crontab such as '0 7 * * 1-5'",
    "quiet_hours": "two local hours START-END from 0 to 23 such as '19-7' (equal: none)",
    "coperniq_webhook_secret": (
        "at least 24 characters from A-Z a-z 0-9 _ - (it is part of a URL), e.g. from "
        "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    ),
    "webhook_port": "a TCP port number from 1 to 65535",
}


# What a command needs: attribute names, or a function of the settings read (serve's needs depend
# on whether SLACK_APP_TOKEN is set, the clock's on whether an alert channel is).
Required = Iterable[str] | Callable[[Settings], Iterable[str]]


def missing_problems(settings: Settings, names: Iterable[str]) -> list[str]:
    """One problem per named setting that is unset."""
    return [
        f"{ENV_NAMES[n]} is required here: {DESCRIPTIONS[n]}"
        for n in dict.fromkeys(names)
        if not getattr(settings, n)
    ]


def parse_role_names(value: str) -> tuple[str, ...]:
    """Comma-separated role names, trimmed, without blanks or case-insensitive repeats."""
    names: dict[str, str] = {}
    for name in value.split(","):
        name = " ".join(name.split())
        if name:
            names.setdefault(name.casefold(), name)
    return tuple(names.values())


def parse_quiet_hours(value: str) -> tuple[int, int] | None:
    """'19-7' -> (19, 7): DMs wait from 19:00 to 07:00 local; None when malformed."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", value)
    if not m or not all(0 <= int(h) <= 23 for h in m.groups()):
        return None
    return int(m.group(1)), int(m.group(2))


def _http_url(value: str) -> bool:
    return bool(re.match(r"^https?://[^\s/]+", value))


def load_settings(
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = ".env",
    *,
    required: Required = (),
) -> Settings:
    """Build Settings from the environment over `.env`; ConfigError lists every problem.

    `required` names what the command needs: a missing one is reported in the same ConfigError
    as the malformed ones, so an operator sees everything to fix at once.
    """
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(ENV_NAMES[name])
        if raw is None:
            return None
        raw = raw.strip()
        return raw or None

    problems: list[str] = []
    out: dict[str, object] = {}

    def bad(name: str, why: str = "") -> None:
        # Never echo a value back: it may be a secret pasted into the wrong variable.
        problems.append(f"{ENV_NAMES[name]} is not valid{why}: expected {DESCRIPTIONS[name]}")

    for name, prefix in (
        ("slack_bot_token", "xoxb-"),
        ("slack_app_token", "xapp-"),
    ):
        value = get(name)
        if value is not None:
            if not value.startswith(prefix):
                bad(name)
            out[name] = Secret(value)
    for name in ("slack_signing_secret", "coperniq_api_key"):
        value = get(name)
        if value is not None:
            out[name] = Secret(value)

    if (value := get("slack_api_url")) is not None:
        if not _http_url(value) or not value.endswith("/"):
            bad("slack_api_url")
        out["slack_api_url"] = value
    if (value := get("slack_command")) is not None:
        if not re.fullmatch(r"/[a-z0-9_\-]{1,31}", value):
            bad("slack_command")
        out["slack_command"] = value
    for name in ("coperniq_base_url", "coperniq_app_url"):
        if (value := get(name)) is not None:
            if not _http_url(value):
                bad(name)
            out[name] = value.rstrip("/")
    if (value := get("coperniq_daily_budget")) is not None:
        if not value.isdigit() or int(value) < 1:
            bad("coperniq_daily_budget")
        else:
            out["coperniq_daily_budget"] = int(value)
    if (value := get("db_path")) is not None:
        out["db_path"] = Path(value)
    if (value := get("timezone")) is not None:
        try:
            out["timezone"] = ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            bad("timezone", f" (no time zone named {value!r})")
    for name in ("invoice_alert_channel", "sla_alert_channel"):
        if (value := get(name)) is not None:
            if not _CHANNEL_ID.match(value):
                bad(name, f" ({value!r} is not a channel id; copy it from the channel's details)")
            out[name] = value
    tz = out.get("timezone")
    for name in ("invoice_alert_cron", "sla_alert_cron", "morning_digest_cron"):
        if (value := get(name)) is not None:
            try:
                crontab_trigger(value, tz if isinstance(tz, ZoneInfo) else ZoneInfo("UTC"))
            except ValueError as exc:
                bad(name, f" ({value!r}: {exc})")
            out[name] = value
    if (value := get("company_phone")) is not None:
        out["company_phone"] = value
        try:
            parsed = phonenumbers.parse(value, None)
            ok = value.startswith("+") and phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            ok = False
        if ok:
            out["company_phone"] = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.E164
            )
        else:
            bad("company_phone")
    for name in ("invoice_realert_days", "sla_realert_hours"):
        if (value := get(name)) is not None:
            if not value.isdigit():
                bad(name)
            else:
                out[name] = int(value)
    if (value := get("request_trades")) is not None:
        trades = tuple(dict.fromkeys(t.strip() for t in value.split(",") if t.strip()))
        # A Slack multi-select holds at most 100 options of at most 75 characters.
        if not trades or len(trades) > 100 or any(len(t) > 75 for t in trades):
            bad("request_trades")
        else:
            out["request_trades"] = trades
    if (value := get("payment_roles")) is not None:
        out["payment_roles"] = roles = parse_role_names(value)
        if not roles or any(len(r) > 100 for r in roles):
            bad("payment_roles")
    if (value := get("quiet_hours")) is not None:
        hours = parse_quiet_hours(value)
        if hours is None:
            bad("quiet_hours")
        else:
            out["quiet_hours"] = hours
    if (value := get("coperniq_webhook_secret")) is not None:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{24,200}", value):
            bad("coperniq_webhook_secret")
        out["coperniq_webhook_secret"] = Secret(value)
    if (value := get("webhook_port")) is not None:
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            bad("webhook_port")
        else:
            out["webhook_port"] = int(value)
    if (value := get("port")) is not None:
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            bad("port")
        else:
            out["port"] = int(value)

    # With problems, these settings are only read for what is missing, never returned.
    settings = Settings(**out)  # type: ignore[arg-type]
    names = required(settings) if callable(required) else required
    problems += missing_problems(settings, names)
    if problems:
        raise ConfigError(problems)
    return settings
