"""Scheduled alerts: `overdue-invoices` and `form-sla`, one engine, and their scheduler wiring.

Layout:
  digest.py     the DigestJob protocol and what jobs and the engine exchange (Snapshot, Item, Run)
  registry.py   JOBS, the one list of jobs (scheduler, CLI, `jobs list`)
  engine.py     run(job, deps, now, ...): lease, collect, plan, post, record, resolve
  plan.py       the re-alert rule: announce, leave or resolve each item (pure)
  state.py      alert rows, message models, leases, sync state, last runs (all the SQL of these)
  blocks.py     the digest message shape every job shares: models, Block Kit, readable text
  slackpost.py  posting paced per channel, patient with rate limits
  invoices/, sla/  one package per job: select (pure), collect (Coperniq and caches), render, job
  scheduler.py  APScheduler wiring; cli.py `jobs list|run` and `clock`; demo.py `demo`

A digest's state: each run posts, per channel, one message (plus thread replies for what does not
fit) listing the items that are new, escalated or due a reminder. The alert row of every item
(per job, channel and item) stores the ts of the message part that listed it, and the part's
model is kept in `alert_messages`. When an item resolves, that part is re-rendered from its model
with the item struck through and `chat.update`d in place; when an item is listed again in a newer
message, the older part is re-rendered to say so. Nothing is recorded before Slack accepts a
message, so a failed post is retried by the next run, and one run lists an item in one part only.
"""
