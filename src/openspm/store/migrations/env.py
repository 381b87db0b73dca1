"""Alembic environment: runs OpenSPM's migrations against the connection `spm db upgrade` hands it."""

from __future__ import annotations

from alembic import context

from openspm.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - only when alembic is run by hand
        from openspm.settings import Settings
        from openspm.store.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or Settings().database_url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
