"""What the bot does for a person, outside Slack: Coperniq look-ups, bodies and write-once writes.

Listeners in `handlers/` translate Slack to these functions and their results back to Slack; the
functions here know nothing of Block Kit or Bolt.
"""
