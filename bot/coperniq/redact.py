"""Keeps the Coperniq API key (and search filters) out of logs and error text.

One process-wide logging filter, `REDACTOR`, on the loggers that see Coperniq traffic: the
transport registers each key it is given, and error messages built from what the server echoes
go through `REDACTOR.redact` too.
"""

from __future__ import annotations

import logging
import re
import threading

_QUERY = re.compile(r"\?[^\s\"'>]*")


class _Redactor(logging.Filter):
    """Logging filter that masks every registered secret in a record's message and arguments."""

    def __init__(self) -> None:
        super().__init__("coperniq-redactor")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        # Very short strings would mask innocent text; real keys are long.
        if len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for s in secrets:
            if s in text:
                text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            message = str(record.msg)
        clean = self.redact(message)
        if record.name.startswith(("httpx", "httpcore")):
            # httpx logs whole URLs at INFO; search filters (emails, phones) sit in the query.
            clean = _QUERY.sub("?…", clean)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


REDACTOR = _Redactor()
# Loggers that see our traffic; belt and braces, since nothing logs the key on purpose.
for _name in ("bot.coperniq", "httpx", "httpcore"):
    logging.getLogger(_name).addFilter(REDACTOR)
