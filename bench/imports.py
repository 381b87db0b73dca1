"""Benchmarks of `spm import`: 1,000,000 transaction rows of canonical CSV, checked and loaded.

The whole importer runs: CSV parsing, every cell check, references to the people, accounts and products
in the store, the comparison with what is stored, the bulk write, the change history and the audit event.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.compute as pc

from bench import Context, Measurement, case
from bench.store import drop_postgres, new_store, postgres_url, sqlite_url, transactions
from openspm.ingest.csvfiles import write_table
from openspm.services.imports import import_directory
from openspm.store.db import make_engine

FULL_ROWS = 1_000_000


def _export(ctx: Context) -> Path:
    folder = ctx.workdir / "canonical"
    folder.mkdir(exist_ok=True)
    lines = transactions(ctx.rows(FULL_ROWS))
    magnitude = pc.abs(lines["amount"])  # only cancellations may be negative: make the file valid
    signed = pc.if_else(pc.equal(lines["kind"], "cancellation"), pc.negate(magnitude), magnitude)
    lines = lines.set_column(lines.schema.get_field_index("amount"), "amount", signed)
    write_table(folder / "transactions.csv", "transactions", lines)
    return folder


def _timed_import(url: str, ctx: Context) -> Measurement:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        report = import_directory(engine, ctx.workdir / "canonical", actor="bench")
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if not report.ok:
        raise RuntimeError(f"import rejected: {report.errors[:5]}")
    return Measurement(report.counts["transactions"]["inserted"], seconds)


def _sqlite_setup(ctx: Context) -> None:
    new_store(sqlite_url(ctx))
    _export(ctx)


def _postgres_setup(ctx: Context) -> None:
    new_store(postgres_url(ctx))
    _export(ctx)


@case("import_csv_sqlite", setup=_sqlite_setup)
def import_csv_sqlite(ctx: Context) -> Measurement:
    """spm import of 1M canonical transaction rows into SQLite (parse, check, compare, write, audit)."""
    return _timed_import(sqlite_url(ctx), ctx)


@case("import_csv_postgres", setup=_postgres_setup, teardown=drop_postgres)
def import_csv_postgres(ctx: Context) -> Measurement:
    """spm import of 1M canonical transaction rows into PostgreSQL (COPY), the same checks."""
    return _timed_import(postgres_url(ctx), ctx)
