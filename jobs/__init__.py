"""Scheduled alerts: `overdue-invoices` and `form-sla`, and their scheduler wiring.

Layout: one module per job (a pure `select`, pure message builders, a thin `run`), `runner` (the
lease -> collect -> plan -> post -> record -> update loop both share), `common` (alert state, lease,
money), `slackpost` (pacing and rate limits), `scheduler` (APScheduler), `cli` and `demo`.

Design of a digest's state: each run posts one message (plus thread replies for what does not fit)
listing the items that are new, escalated or due a reminder. The alerts row of every item stores the
ts of the message part that listed it, and the part's render model is kept in `kv` under
`alertmsg:<channel>:<ts>`. When an item resolves, that part is re-rendered from its model with the
item struck through and `chat.update`d in place; when an item is listed again in a newer message,
the older part is re-rendered to say so. Nothing is recorded before Slack accepts a message, so a
failed post is retried by the next run, and one run lists an item in one part only.
"""
