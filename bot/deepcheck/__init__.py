"""`coperniq-bot check --deep`: read-only probes of what the bot assumes about the Coperniq API.

Each probe looks at one assumption the spec and the docs leave open, against the real account,
and gives one OK/WARN/FAIL line: what it saw and what to do. The probes send GETs only, at most
DEEP_REQUESTS of them (so `check --deep` stays within MAX_REQUESTS with check's own call), through
the interactive view, and every request is counted in the bot's ledger like any other.
The verdicts are pure (judges.py); the calls that feed them are in probes.py.
"""

from bot.deepcheck.probes import run_probes

__all__ = ["run_probes"]
