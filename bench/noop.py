"""What both no-op baseline tasks do (bench/tasks.py in the project, bench/bare.py outside it).

One Redis round trip: count, and stamp when the first and the last one finished (time.time(), the
clock the deliveries' finished_at is compared with). No Django: the bare worker imports it too.
"""

from __future__ import annotations

import time


def count_done(client, counter_key: str) -> None:
    pipe = client.pipeline()
    pipe.incr(counter_key)
    now = repr(time.time())
    pipe.set(f"{counter_key}:t", now)
    pipe.set(f"{counter_key}:t0", now, nx=True)  # the first one done: a drain's clock starts there
    pipe.execute()
