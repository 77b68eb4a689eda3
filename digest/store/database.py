"""Opening the database: engine, SQLite pragmas and migrations to the latest schema."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from digest.errors import StoreError, one_line
from digest.private_files import create_private
from digest.redact import redact
from digest.store.revision import VERSION_TABLE, head_revision

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


class Database:
    """An engine plus a session factory; closed with ``close()`` or a ``with`` block."""

    def __init__(self, url: str) -> None:
        self.url = url = driver_url(url)
        try:
            # pre_ping: a connection the pool kept across a database restart is replaced
            # instead of failing the next command or job.
            self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        except ImportError as exc:  # the URL's driver is not installed
            raise StoreError(missing_driver(url, exc)) from exc
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(redact(f"cannot open database {url}: {one_line(exc)}")) from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Apply pending migrations; a no-op when the schema is current.

        Every command opens the database, so the check is one read of the version table;
        Alembic (a tenth of a second to import) loads only when there is something to do.
        """
        try:
            if self.revision() == head_revision():
                return
        except SQLAlchemyError as exc:
            raise self._cannot_prepare(exc) from exc
        self._migrate()

    def revision(self) -> str | None:
        """The schema revision the database is at; None for a new database."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        return str(found[0][0]) if len(found) == 1 else None

    def _migrate(self) -> None:
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = _alembic_config()
        head = ScriptDirectory.from_config(cfg).get_current_head()
        sqlite = self.engine.dialect.name == "sqlite"
        try:
            with self.engine.connect() as connection:
                if sqlite:
                    # SQLite alters a table by copying it and dropping the old one; with foreign
                    # keys on, that drop would cascade and delete every row that refers to it
                    # (an edition's deliveries, a feed's items). The pragma only works outside
                    # a transaction.
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                    connection.commit()
                try:
                    with connection.begin():
                        current = MigrationContext.configure(connection).get_current_revision()
                        if current == head:
                            return
                        cfg.attributes["connection"] = connection
                        command.upgrade(cfg, "head")
                finally:
                    if sqlite:
                        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                        connection.commit()
        except SQLAlchemyError as exc:
            raise self._cannot_prepare(exc) from exc

    def _cannot_prepare(self, exc: SQLAlchemyError) -> StoreError:
        return StoreError(redact(f"cannot prepare database {self.url}: {one_line(exc)}"))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def driver_url(url: str) -> str:
    """The URL with the driver digest installs: a bare ``postgresql://`` (or ``postgres://``, as
    hosting services write it) would ask SQLAlchemy for psycopg2; digest uses psycopg 3."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def shown_url(url: str) -> str:
    """The URL as printed: with its password masked (even in a URL SQLAlchemy cannot parse)."""
    return redact(url)


def missing_driver(url: str, exc: ImportError) -> str:
    """One line saying what to install for a URL whose driver is missing."""
    if url.startswith("postgresql+psycopg"):
        return "install psycopg: pip install 'digest[postgres]'"
    module = exc.name or one_line(exc)
    return f"the database driver for {url.partition(':')[0]} is not installed (no module {module})"


def open_database(url: str, *, migrate: bool = True) -> Database:
    path = url[len("sqlite:///") :].partition("?")[0]
    # A file path, not :memory: or an SQLite URI filename ("file:...").
    if (
        url.startswith("sqlite:///")
        and path
        and path != ":memory:"
        and not path.startswith("file:")
    ):
        file = Path(path)
        if not file.parent.is_dir():
            raise StoreError(f"database folder does not exist: {file.parent}")
        try:
            create_private(file)  # subscriber data: no other local user may read it
        except OSError as exc:
            raise StoreError(f"cannot create database {file}: {one_line(exc)}") from exc
    database = Database(url)
    if migrate:
        try:
            database.upgrade()
        except Exception:
            database.close()
            raise
    return database


def _alembic_config() -> AlembicConfig:
    from importlib import resources

    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    location = resources.files("digest.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    return cfg


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the web app read while a send writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
