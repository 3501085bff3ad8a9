"""Database engine and sessions. The only place that knows about connections.

``DATABASE_URL`` picks the database: a SQLite file under ``var/`` by default,
PostgreSQL in production (``postgresql+psycopg2://...``).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.settings import settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # pragma: no cover - driver hook
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def engine(url: str | None = None) -> Engine:
    """The engine of ``url`` (default: ``DATABASE_URL`` as it is now)."""
    return _engine(url or settings().database_url)


@lru_cache(maxsize=None)
def _engine(url: str) -> Engine:
    return make_engine(url)


@lru_cache(maxsize=None)
def _sessions(url: str) -> sessionmaker:
    return sessionmaker(bind=_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back on error.

    Without ``url``, ``DATABASE_URL`` as it is now (one engine per URL)."""
    session = _sessions(url or settings().database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
