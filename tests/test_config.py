from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, Secret, Settings, load_settings


def test_defaults_match_the_contract() -> None:
    s = load_settings({}, dotenv_path=None)
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.slack_command == "/coperniq"
    assert s.coperniq_base_url == "https://api.coperniq.io/v1"
    assert s.coperniq_app_url == "https://app.coperniq.io"
    assert s.coperniq_daily_budget == 5000
    assert s.db_path == Path("data/bot.db")
    assert s.timezone == ZoneInfo("America/Chicago")
    assert s.invoice_alert_cron == "0 8 * * 1-5"
    assert s.sla_alert_cron == "0 8-17 * * 1-5"
    assert s.port == 3000
    assert s.invoice_alert_channel is None and s.sla_alert_channel is None


def test_every_problem_is_reported_at_once() -> None:
    env = {
        "BOT_TIMEZONE": "Mars/Olympus",
        "INVOICE_ALERT_CHANNEL": "#billing",
        "SLA_ALERT_CHANNEL": "C0ABCDEF1",
        "SLA_ALERT_CRON": "every morning",
        "COMPANY_PHONE": "555-0100",
        "COPERNIQ_DAILY_BUDGET": "lots",
        "PORT": "99999",
        "SLACK_API_URL": "https://slack.com/api",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(env, dotenv_path=None)
    text = str(info.value)
    for name in (
        "BOT_TIMEZONE",
        "INVOICE_ALERT_CHANNEL",
        "SLA_ALERT_CRON",
        "COMPANY_PHONE",
        "COPERNIQ_DAILY_BUDGET",
        "PORT",
        "SLACK_API_URL",
    ):
        assert name in text
    assert "SLA_ALERT_CHANNEL" not in text
    assert len(info.value.problems) == 7


def test_secrets_are_never_echoed_back_in_errors_or_repr() -> None:
    token = "abcd-not-a-bot-token-1234"
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": token, "COPERNIQ_API_KEY": "k"}, dotenv_path=None)
    assert token not in str(info.value)
    s = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-secret-1", "COPERNIQ_API_KEY": "cq-secret-2"}, dotenv_path=None
    )
    assert "xoxb-secret-1" not in repr(s) and "cq-secret-2" not in repr(s)
    assert "cq-secret-2" not in str(s.coperniq_api_key)
    assert s.coperniq_api_key == Secret("cq-secret-2")
    assert s.coperniq_api_key.reveal() == "cq-secret-2"


def test_company_phone_is_normalised_to_e164() -> None:
    s = load_settings({"COMPANY_PHONE": "+1 (512) 555-0100"}, dotenv_path=None)
    assert s.company_phone == "+15125550100"


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("BOT_TIMEZONE=America/Denver\nPORT=4000\n")
    s = load_settings({"PORT": "5000"}, dotenv_path=env_file)
    assert s.timezone == ZoneInfo("America/Denver")
    assert s.port == 5000


def test_cron_is_checked_in_the_configured_time_zone() -> None:
    s = load_settings(
        {"BOT_TIMEZONE": "America/New_York", "INVOICE_ALERT_CRON": "30 7 * * mon-fri"},
        dotenv_path=None,
    )
    assert s.invoice_alert_cron == "30 7 * * mon-fri"


def test_require_names_what_a_command_needs() -> None:
    s = Settings()
    with pytest.raises(ConfigError) as info:
        s.require("slack_bot_token", "coperniq_api_key")
    assert "SLACK_BOT_TOKEN" in str(info.value) and "COPERNIQ_API_KEY" in str(info.value)


def test_urls_lose_their_trailing_slash_except_slack() -> None:
    s = load_settings(
        {
            "COPERNIQ_APP_URL": "https://app.coperniq.io/388/",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
        },
        dotenv_path=None,
    )
    assert s.coperniq_app_url == "https://app.coperniq.io/388"
    assert s.slack_api_url == "http://127.0.0.1:9/api/"


def test_crontab_weekdays_count_from_sunday_like_cron() -> None:
    # 7 is Sunday in standard cron; APScheduler's own from_crontab would reject it.
    s = load_settings({"SLA_ALERT_CRON": "0 9 * * 0,7"}, dotenv_path=None)
    assert s.sla_alert_cron == "0 9 * * 0,7"
    with pytest.raises(ConfigError):
        load_settings({"SLA_ALERT_CRON": "0 9 * * 8"}, dotenv_path=None)


def test_realert_intervals_are_whole_numbers() -> None:
    s = load_settings({"INVOICE_REALERT_DAYS": "3", "SLA_REALERT_HOURS": "0"}, dotenv_path=None)
    assert (s.invoice_realert_days, s.sla_realert_hours) == (3, 0)
    with pytest.raises(ConfigError) as info:
        load_settings({"SLA_REALERT_HOURS": "daily"}, dotenv_path=None)
    assert "SLA_REALERT_HOURS" in str(info.value)


def test_request_trades_are_a_clean_comma_separated_list() -> None:
    s = load_settings(
        {"REQUEST_TRADES": " Solar, HVAC ,,Solar, Battery Storage "}, dotenv_path=None
    )
    assert s.request_trades == ("Solar", "HVAC", "Battery Storage")
    assert load_settings({}, dotenv_path=None).request_trades == ()
    with pytest.raises(ConfigError):
        load_settings({"REQUEST_TRADES": "x" * 80}, dotenv_path=None)


def test_missing_required_settings_are_reported_with_the_malformed_ones() -> None:
    env = {"BOT_TIMEZONE": "Mars/Olympus_Mons", "SLACK_BOT_TOKEN": "xoxb-1"}
    with pytest.raises(ConfigError) as info:
        load_settings(env, dotenv_path=None, required=("slack_bot_token", "coperniq_api_key"))
    assert len(info.value.problems) == 2
    assert "BOT_TIMEZONE" in info.value.problems[0]
    assert "COPERNIQ_API_KEY" in info.value.problems[1]


def test_required_may_depend_on_the_settings_read() -> None:
    def needs(s: Settings) -> list[str]:
        return ["slack_app_token"] if s.slack_bot_token else []

    assert load_settings({}, dotenv_path=None, required=needs).slack_app_token is None
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}, dotenv_path=None, required=needs)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("SLACK_APP_TOKEN is required here")


@pytest.mark.parametrize(
    "argv",
    [
        ["serve"],
        ["serve", "--http"],
        ["clock"],
        ["jobs", "run", "overdue-invoices", "--dry-run"],
        ["check"],
    ],
)
def test_every_command_lists_malformed_and_missing_settings_at_once(
    argv, monkeypatch, tmp_path, capsys
) -> None:
    from bot.cli import main

    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "COPERNIQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_TIMEZONE", "Mars/Olympus_Mons")
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "bot.db"))
    monkeypatch.chdir(tmp_path)  # no .env
    assert main(argv) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "BOT_TIMEZONE" in text and "COPERNIQ_API_KEY" in text
    assert "Traceback" not in text


def test_payment_roles_are_comma_separated_names_compared_without_case() -> None:
    s = load_settings({"PAYMENT_ROLES": " Admin, office  staff,,ADMIN "}, dotenv_path=None)
    assert s.payment_roles == ("Admin", "office staff")
    assert load_settings({}, dotenv_path=None).payment_roles == ()
    with pytest.raises(ConfigError, match="PAYMENT_ROLES"):
        load_settings({"PAYMENT_ROLES": " , ,"}, dotenv_path=None)
