"""Coperniq Automation webhooks in: the receiver (store, then answer), the worker that processes
stored deliveries, and what each trigger does.

    worker = WebhookWorker(deps).start()
    receiver = WebhookReceiver(deps.store, secret, worker.enqueue)   # a WSGI app (bot.serve)
    ...
    worker.stop()                                                   # before the store closes
"""

from __future__ import annotations

from bot.webhooks.receiver import MASKED_PATH, MAX_WEBHOOK_BYTES, WebhookReceiver, is_webhook_path
from bot.webhooks.worker import WebhookWorker

__all__ = [
    "MASKED_PATH",
    "MAX_WEBHOOK_BYTES",
    "WebhookReceiver",
    "WebhookWorker",
    "is_webhook_path",
]
