"""A throw-away database for one bench run: `pz_bench_<pid>` on the DATABASE_URL server, or a
temporary SQLite file. Created before Django starts, dropped at the end whatever happens."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")


@dataclass
class BenchDatabase:
    source_url: str
    url: str = ""
    kind: str = ""
    name: str = ""
    _admin_kwargs: dict = field(default_factory=dict)
    _tmpdir: tempfile.TemporaryDirectory | None = None

    def create(self) -> str:
        parts = urlsplit(self.source_url)
        if parts.scheme in POSTGRES_SCHEMES:
            self.kind = "postgresql"
            self.name = f"pz_bench_{os.getpid()}"
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            import psycopg

            self._admin_kwargs = {"conninfo": urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))}
            with psycopg.connect(**self._admin_kwargs, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                conn.execute(f'CREATE DATABASE "{self.name}"')
        elif parts.scheme.startswith("sqlite") or not self.source_url:
            self.kind = "sqlite"
            self._tmpdir = tempfile.TemporaryDirectory(prefix="pz-bench-")
            path = Path(self._tmpdir.name) / "bench.sqlite3"
            self.name = str(path)
            self.url = f"sqlite:///{path}"
        else:
            raise SystemExit(f"bench: unsupported DATABASE_URL scheme {parts.scheme!r}")
        return self.url

    def drop(self) -> None:
        if self.kind == "postgresql" and self.name:
            import psycopg

            with psycopg.connect(**self._admin_kwargs, autocommit=True) as conn:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                except psycopg.errors.SyntaxError:  # Postgres < 13
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
        self.name = ""
