"""The Coperniq Slack bot: the application (settings, the Bolt app, the client, flows, store)."""
