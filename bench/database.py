"""A throw-away database for one bench run: `pz_bench_<pid>` on the DATABASE_URL server (the
embedded PostgreSQL of `make bench` when unset). Created before Django starts, dropped at the end
whatever happens."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")


@dataclass
class BenchDatabase:
    source_url: str
    url: str = ""
    kind: str = ""
    name: str = ""
    _admin_kwargs: dict = field(default_factory=dict)

    def create(self) -> str:
        parts = urlsplit(self.source_url)
        if parts.scheme in POSTGRES_SCHEMES:
            self.kind = "postgresql"
            self.name = f"pz_bench_{os.getpid()}"
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            import psycopg

            self._admin_kwargs = {
                "conninfo": urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
            }
            with psycopg.connect(**self._admin_kwargs, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                conn.execute(f'CREATE DATABASE "{self.name}"')
        else:
            raise SystemExit(f"bench: DATABASE_URL must name a PostgreSQL server, not {parts.scheme!r} "
                             "(unset it: `make bench` starts an embedded one)")  # fmt: skip
        return self.url

    def drop(self) -> None:
        if self.kind == "postgresql" and self.name:
            import psycopg

            with psycopg.connect(**self._admin_kwargs, autocommit=True) as conn:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                except psycopg.errors.SyntaxError:  # Postgres < 13
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        self.name = ""
