"""Pure Block Kit builders: dicts in, dicts out, no Slack or Coperniq calls."""
