"""`python -m bot` is the `coperniq-bot` command."""

import sys

from bot.cli import main

sys.exit(main())
