"""A stateful local stand-in for the Coperniq REST API (tests, demo, benchmarks)."""

from bot.sandbox.coperniq.server import CoperniqSandbox, RecordedRequest

__all__ = ["CoperniqSandbox", "RecordedRequest"]
