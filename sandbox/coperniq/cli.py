"""`coperniq-bot sandbox coperniq`: run the Coperniq sandbox alone until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading

from sandbox.coperniq.server import CoperniqSandbox


def mask_secret(url: str) -> str:
    """The URL with its last path segment (the receiver's secret) hidden."""
    head, _, tail = url.rstrip("/").rpartition("/")
    return f"{head}/…" if head and tail and "://" in head else url


def main(args: argparse.Namespace) -> int:
    """Seed (or reopen --db), serve on host:port, print the base URL and key, wait for Ctrl-C."""
    try:
        sb = CoperniqSandbox(
            api_key=args.api_key,
            seed=args.seed,
            projects=args.projects,
            invoices=args.invoices,
            db_path=args.db,
            webhook_url=getattr(args, "webhook_url", None),
            webhook_duplicate=getattr(args, "webhook_duplicate", False),
        )
    except ValueError as exc:  # a --webhook-url that is not http(s)
        print(str(exc), file=sys.stderr)
        return 2
    try:
        sb.start(host=args.host, port=args.port)
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        sb.close()
        return 1
    counts = f"{sb.db.count('projects')} projects, {sb.db.count('invoices')} invoices"
    print(f"Coperniq sandbox on {sb.base_url} ({counts})", flush=True)
    print(f"  COPERNIQ_BASE_URL={sb.base_url}", flush=True)
    print(f"  COPERNIQ_API_KEY={args.api_key}", flush=True)
    if getattr(args, "webhook_url", None):
        twice = " (each event twice)" if args.webhook_duplicate else ""
        print(f"  webhooks to {mask_secret(args.webhook_url)}{twice}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sb.close()
    return 0
