"""Local stand-ins for the services the bot talks to, for the demo, the tests and the benchmarks.

coperniq/ is a stateful Coperniq API sandbox, slack/ a recording fake of Slack's Web API;
wiring.py wires the bot against them once, jobenv.py the scheduled jobs, and slackclient.py sends
Slack's signed requests into the app. scenarios/ is the fault-scenario table that tests/faults/
and benchmarks/bench_faults.py both run. Its own distribution (pyproject.toml here), never part
of the bot's wheel.
"""
