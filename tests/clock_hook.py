"""Moves every Python process's clock to BOT_TEST_NOW (with TZ), for `./dev test-at`.

`./dev test-at` copies this file into the virtualenv with a .pth line that imports it, so the test
run and every process it starts (the `serve` subprocess tests) see the same moved clock. Without
BOT_TEST_NOW it does nothing. The clock keeps ticking from that instant; monotonic time, sleeps and
sockets are untouched (time-machine), unlike libfaketime, which also slows sleeps and socket
timeouts and fails tests that are fine.
"""

import os

if os.environ.get("BOT_TEST_NOW"):
    import time_machine

    time_machine.travel(os.environ["BOT_TEST_NOW"], tick=True).start()
