"""Which database the tests run on: SQLite files by default, PostgreSQL when
``DIGEST_TEST_DATABASE_URL`` names a server (a role that may create databases), e.g.
``postgresql://digest:digest@127.0.0.1/digest``. Each test then gets a database of its own,
created empty and dropped afterwards (the role needs pg_signal_backend too: the drop ends
whatever connection a test's daemon or the autovacuum left behind).

Tests read and write rows through SQLAlchemy (``run_sql``), never through a SQLite file, so the
same test runs on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from digest.store.database import driver_url

ENV = "DIGEST_TEST_DATABASE_URL"


def server_url() -> str | None:
    """The PostgreSQL server the tests use, or None for SQLite."""
    return os.environ.get(ENV) or None


def on_postgres() -> bool:
    return server_url() is not None


@contextmanager
def fresh_database(sqlite_url: str) -> Iterator[str]:
    """A new, empty database's URL for one test: ``sqlite_url`` on SQLite, else a database
    created on the server for this test and dropped after it."""
    server = server_url()
    if server is None:
        yield sqlite_url
        return
    admin = make_url(driver_url(server))
    name = f"digest_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                # FORCE: a daemon a test started may still hold a connection
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def run_sql(
    url: str,
    statement: str,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> list[Any]:
    """Run one SQL statement (once per mapping, for a list of them) in its own committed
    transaction; the rows, if it returns any."""
    engine = create_engine(driver_url(url), poolclass=NullPool)
    many = isinstance(params, Sequence)
    try:
        with engine.begin() as connection:
            result = connection.execute(
                text(statement), [dict(p) for p in params] if many else dict(params or {})
            )
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def dump(url: str) -> str:
    """Every row of every table as text: for checking that a value is gone from everywhere."""
    from sqlalchemy import MetaData

    engine = create_engine(driver_url(url), poolclass=NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                f"{table.name}: {tuple(row)}"
                for table in metadata.sorted_tables
                for row in connection.execute(table.select())
            )
    finally:
        engine.dispose()
