"""The database's clock: the one every process agrees on.

Claims, leases, due times and the sweeper compare against the database's time, never a worker's
own clock, so workers on several machines (or one whose clock drifted) agree on what is due and
whose lease ran out.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models.functions import Now


class DbNow(Now):
    """The database's current time as an expression: the statement's time on Postgres.

    Not the transaction's start (CURRENT_TIMESTAMP), which inside a long transaction would be
    stale. Django's own `Now()` already renders STATEMENT_TIMESTAMP() on Postgres (Django 5.2's
    Now.as_postgresql, the same SQL this class used to write itself); the name stays the bus's
    one spelling of "the database's clock".
    """


def db_now() -> dt.datetime:
    """Read the database's clock (one round trip on Postgres)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        return cursor.fetchone()[0]
