"""`/coperniq help`: listed like every subcommand; the router answers it (and an empty or unknown
word) with the help in its own ack, so it has no run of its own."""

from __future__ import annotations

NAME = "help"
HELP = "Show this list"
EXAMPLE = "/coperniq help"
