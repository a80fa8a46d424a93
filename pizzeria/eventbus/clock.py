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
    """The database's current time as an expression (the statement's time on Postgres).

    Django's `Now()` is the transaction's start on Postgres; inside a long transaction it would
    be stale, so the statement's time is used instead.
    """

    def as_postgresql(self, compiler, connection, **extra_context):
        return "STATEMENT_TIMESTAMP()", []


def db_now() -> dt.datetime:
    """Read the database's clock (one round trip on Postgres)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        return cursor.fetchone()[0]
