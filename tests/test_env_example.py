"""The operator's template names every variable the code reads, and nothing else."""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values

from bot.config import ENV_NAMES, ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_documents_every_variable() -> None:
    names = set(dotenv_values(ROOT / ".env.example"))
    assert names == set(ENV_NAMES.values())


def test_env_example_values_are_placeholders_that_parse_or_fail_clearly() -> None:
    # Empty optional values mean "unset"; the placeholder tokens are the only invalid entries.
    try:
        load_settings({}, dotenv_path=ROOT / ".env.example")
    except ConfigError as exc:  # pragma: no cover - would mean a placeholder became invalid
        raise AssertionError(exc.problems) from exc
