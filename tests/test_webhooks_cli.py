"""`coperniq-bot webhooks`: the Coperniq Automation setup, with the URL and its secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.webhook_setup import TRIGGERS

SECRET = "Zq3_abcdefghijklmnopqrstuvwxyz-0123"
ENV_NAMES = (
    "COPERNIQ_WEBHOOK_SECRET",
    "WEBHOOK_PORT",
    "SLACK_APP_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "PORT",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment with no .env: each test sets what it means."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["webhooks", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_http_mode_prints_one_automation_per_trigger_with_the_secret_url(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", SECRET)
    code, out, err = run(["--url", "https://bot.example.com/"], capsys)
    assert code == 0, err
    url = f"https://bot.example.com/coperniq/webhooks/{SECRET}"
    assert "Company Settings → Process Studio → Automations" in out
    assert out.count(f'Action: "Call webhook", URL {url}') == len(TRIGGERS) == 5
    keys = [
        "PROJECT_PHASE_SLA_VIOLATION",
        "PROJECT_PHASE_COMPLETED",
        "PROJECT_PHASE_STARTED",
        "TASK_STATUS_MOVEMENT",
        "TASK_COMPLETED",
    ]
    for n, key in enumerate(keys, 1):
        assert f"{n}. Trigger: {key}\n" in out
    assert "HTTP mode" in out and "Active" in out
    assert "https://bot.example.com//" not in out
    assert err == ""


def test_socket_mode_needs_webhook_port_and_a_public_url_for_it(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", SECRET)
    env.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    code, out, err = run(["--url", "https://hooks.example.com"], capsys)
    assert code == 2 and out == ""
    assert "WEBHOOK_PORT" in err

    env.setenv("WEBHOOK_PORT", "3001")
    code, out, err = run([], capsys)
    assert code == 2 and "--url" in err and "3001" in err

    code, out, err = run(["--url", "https://hooks.example.com"], capsys)
    assert code == 0, err
    assert "Socket Mode" in out and "WEBHOOK_PORT (3001)" in out
    assert f"https://hooks.example.com/coperniq/webhooks/{SECRET}" in out


def test_http_flag_means_serve_http_even_with_an_app_token(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", SECRET)
    env.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    env.setenv("PORT", "8080")
    code, out, err = run(["--url", "https://bot.example.com", "--http"], capsys)
    assert code == 0, err
    assert "HTTP mode" in out and "PORT (8080)" in out


def test_without_the_secret_it_says_how_to_make_one_and_exits_2(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--url", "https://bot.example.com"], capsys)
    assert code == 2 and out == ""
    assert "COPERNIQ_WEBHOOK_SECRET" in err and "secrets.token_urlsafe" in err


def test_http_mode_without_url_asks_for_the_public_base_url(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", SECRET)
    code, out, err = run([], capsys)
    assert code == 2 and out == "" and "--url https://bot.example.com" in err
    assert SECRET not in err


@pytest.mark.parametrize(
    "url",
    [
        "bot.example.com",
        "ftp://bot.example.com",
        f"https://bot.example.com/coperniq/webhooks/{SECRET}",
        "https://bot.example.com/?x=1",
    ],
)
def test_a_url_that_is_not_a_base_url_is_refused(
    url: str, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", SECRET)
    code, out, err = run(["--url", url], capsys)
    assert code == 2 and out == "" and "--url" in err


def test_plain_http_is_allowed_with_a_warning(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", SECRET)
    code, out, err = run(["--url", "http://127.0.0.1:3000"], capsys)
    assert code == 0
    assert f"http://127.0.0.1:3000/coperniq/webhooks/{SECRET}" in out
    assert "not https" in err and SECRET not in err


def test_a_malformed_secret_is_a_config_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COPERNIQ_WEBHOOK_SECRET", "short")
    code, out, err = run(["--url", "https://bot.example.com"], capsys)
    assert code == 2 and "COPERNIQ_WEBHOOK_SECRET" in err and "short" not in err


def test_help_lists_the_webhooks_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "webhooks" in capsys.readouterr().out
