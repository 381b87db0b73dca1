"""Reading store tables into typed Arrow tables: types, half-open date ranges, filters, snapshots."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.ingest.tables import canonical_schema
from openspm.store import columnar
from openspm.store.audit import record_event
from openspm.store.bulk import insert_arrow
from openspm.store.columnar import read_arrow, typed_schema
from openspm.store.models import Person

DAYS = [date(2024, 1, 30) + timedelta(days=i) for i in range(5)]  # 30 Jan … 3 Feb


def typed(entity: str, columns: dict[str, list[object]]) -> pa.Table:
    schema = canonical_schema(entity)
    return pa.table({n: pa.array(v, schema.field(n).type) for n, v in columns.items()})


@pytest.fixture
def filled(engine: Engine) -> Engine:
    """Two people, one account, five transactions (one a day), five activities (one a day at noon)."""
    with engine.begin() as conn:
        insert_arrow(conn, "people", typed("people", {"person_id": ["P1", "P2"], "name": ["Ann", "Bob"]}))
        insert_arrow(conn, "accounts", typed("accounts", {"account_id": ["A1"], "name": ["Acme"]}))
        insert_arrow(
            conn,
            "transactions",
            typed(
                "transactions",
                {
                    "transaction_id": [f"T{i}" for i in range(5)],
                    "kind": ["booking"] * 5,
                    "date": DAYS,
                    "amount": [Decimal(f"{(-1) ** i * i}.{i}001") for i in range(5)],
                    "currency": ["USD"] * 5,
                    "owner_id": ["P1", "P2", None, "P1", "P2"],
                },
            ),
        )
        insert_arrow(
            conn,
            "activities",
            typed(
                "activities",
                {
                    "activity_id": [f"X{i}" for i in range(5)],
                    "person_id": ["P1"] * 5,
                    "type": ["call"] * 5,
                    "occurred_at": [
                        datetime.combine(d, datetime.min.time()) + timedelta(hours=12) for d in DAYS
                    ],
                    "duration_minutes": [
                        Decimal("1.5"),
                        None,
                        Decimal(0),
                        Decimal(30),
                        Decimal("0.0000000001"),
                    ],
                },
            ),
        )
    return engine


def ids(table: pa.Table, column: str = "transaction_id") -> list[str]:
    return sorted(table.column(column).to_pylist())


def test_types_are_the_canonical_ones(filled: Engine, store_url: str) -> None:
    for entity in ("transactions", "activities", "opportunities", "accounts", "opportunity_history"):
        schema = canonical_schema(entity)
        got = read_arrow(store_url, entity, schema.names)
        assert got.schema == schema
        assert typed_schema(entity, schema.names) == schema


def test_values_come_back_exactly(filled: Engine, store_url: str) -> None:
    rows = read_arrow(store_url, "transactions", ["transaction_id", "date", "amount", "owner_id"]).to_pylist()
    assert sorted(rows, key=lambda r: r["transaction_id"]) == [
        {
            "transaction_id": f"T{i}",
            "date": DAYS[i],
            "amount": Decimal(f"{(-1) ** i * i}.{i}001"),
            "owner_id": ["P1", "P2", None, "P1", "P2"][i],
        }
        for i in range(5)
    ]
    minutes = read_arrow(store_url, "activities", ["duration_minutes"]).column(0).to_pylist()
    assert sorted(minutes, key=lambda m: (m is None, m)) == [
        Decimal(0),
        Decimal("1E-10"),
        Decimal("1.5"),
        Decimal(30),
        None,
    ]


def test_date_range_is_half_open(filled: Engine, store_url: str) -> None:
    def between(
        start: date | None, end: date | None, column: str = "date", entity: str = "transactions"
    ) -> list[str]:
        key = "transaction_id" if entity == "transactions" else "activity_id"
        return ids(read_arrow(store_url, entity, [key], date_column=column, start=start, end=end), key)

    assert between(DAYS[1], DAYS[3]) == ["T1", "T2"]  # the start day is in, the end day is out
    assert between(DAYS[1], DAYS[1]) == []
    assert between(DAYS[3], None) == ["T3", "T4"]
    assert between(None, DAYS[1]) == ["T0"]
    assert between(date(2024, 1, 31), date(2024, 2, 1)) == ["T1"]  # across a month end
    assert between(DAYS[1], DAYS[3], "occurred_at", "activities") == ["X1", "X2"]  # timestamps: from midnight


def test_where_keeps_rows_with_listed_values(
    filled: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = read_arrow(store_url, "transactions", ["transaction_id"], where={"owner_id": ["P2", "O'Hara"]})
    assert ids(got) == ["T1", "T4"]
    assert got.column_names == ["transaction_id"]
    both = read_arrow(
        store_url,
        "transactions",
        ["transaction_id"],
        where={"owner_id": ["P1"]},
        date_column="date",
        start=DAYS[1],
    )
    assert ids(both) == ["T3"]
    empty = read_arrow(store_url, "transactions", ["transaction_id", "amount"], where={"owner_id": []})
    assert empty.num_rows == 0
    assert empty.schema == typed_schema("transactions", ["transaction_id", "amount"])
    monkeypatch.setattr(columnar, "MAX_IN_VALUES", 1)  # long lists are applied after reading
    late = read_arrow(store_url, "transactions", ["amount"], where={"owner_id": ["P2", "P9"]})
    assert sorted(late.column("amount").to_pylist()) == [Decimal("-1.1001"), Decimal("4.4001")]
    assert late.column_names == ["amount"]


def test_partitioned_read_equals_single_read(
    filled: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the thresholds one connection reads; forced to split, several read one snapshot."""
    single = read_arrow(store_url, "transactions")
    monkeypatch.setattr(columnar, "PARTITIONS", 3)
    monkeypatch.setattr(columnar, "PARTITION_MIN_ROWS", 0)
    monkeypatch.setattr(columnar, "PARTITION_MIN_BLOCKS", 0)
    split = read_arrow(store_url, "transactions")
    assert split.sort_by("transaction_id").equals(single.sort_by("transaction_id"))
    ranged = read_arrow(store_url, "transactions", ["transaction_id"], date_column="date", start=DAYS[2])
    assert ids(ranged) == ["T2", "T3", "T4"]


def test_a_column_null_for_a_whole_first_batch(engine: Engine, store_url: str) -> None:
    """SQLite's ADBC driver infers types from the first batch; a NULL-only start must not break a read."""
    rows = columnar.SQLITE_BATCH_ROWS + 10
    industry = [None] * (rows - 1) + ["Software"]
    with engine.begin() as conn:
        insert_arrow(
            conn,
            "accounts",
            pa.table(
                {
                    "account_id": [f"A{i:06d}" for i in range(rows)],
                    "name": ["x"] * rows,
                    "industry": industry,
                    "potential": pa.array([None] * (rows - 1) + [Decimal(5)], pa.decimal128(18, 4)),
                }
            ),
        )
    got = read_arrow(store_url, "accounts", ["account_id", "industry", "potential", "lat"]).sort_by(
        "account_id"
    )
    assert got.column("industry").to_pylist() == industry
    assert got.column("potential").to_pylist()[-2:] == [None, Decimal(5)]
    assert got.column("lat").null_count == rows


def test_tables_that_are_not_entities(engine: Engine, store_url: str) -> None:
    with engine.begin() as conn:
        record_event(
            conn,
            actor="ann",
            action="approve",
            entity="period",
            entity_key="2025-03",
            after={"status": "approved"},
            at=datetime(2025, 4, 1, 8, 0, 0, 250),
        )
    got = read_arrow(store_url, "audit_events", ["id", "at", "actor", "action", "after", "entity_key"])
    assert got.schema.field("at").type == pa.timestamp("us")
    assert got.schema.field("id").type == pa.int64()
    row = got.to_pylist()[0]
    assert row["at"] == datetime(2025, 4, 1, 8, 0, 0, 250)
    assert row["actor"] == "ann"
    assert row["after"].replace(" ", "") == '{"status":"approved"}'
    assert row["entity_key"] == "2025-03"


def test_postgres_urls_without_a_driver_name_are_accepted(filled: Engine, store_url: str) -> None:
    url = store_url.replace("postgresql+psycopg://", "postgresql://")
    assert ids(read_arrow(url, "transactions", ["transaction_id"])) == [f"T{i}" for i in range(5)]


def test_bad_requests_are_refused(filled: Engine, store_url: str) -> None:
    with pytest.raises(KeyError, match="no column"):
        read_arrow(store_url, "transactions", ["nope"])
    with pytest.raises(KeyError, match="no table"):
        read_arrow(store_url, "nope")
    with pytest.raises(ValueError, match="date_column"):
        read_arrow(store_url, "transactions", start=DAYS[0])
    with pytest.raises(TypeError, match="not a date"):
        read_arrow(store_url, "transactions", date_column="amount", start=DAYS[0])
    with pytest.raises(TypeError, match="text or integer"):
        read_arrow(store_url, "transactions", where={"amount": ["1"]})


def test_json_null_written_by_the_orm_reads_as_null(engine: Engine, store_url: str) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                Person(person_id="P1", name="a", extra=None),
                Person(person_id="P2", name="b"),
                Person(person_id="P3", name="c", extra={"k": [1, "ü"]}),
            ]
        )
    got = read_arrow(store_url, "people", ["person_id", "extra"]).sort_by("person_id").to_pylist()
    assert [r["extra"] for r in got[:2]] == [None, None]
    assert json.loads(got[2]["extra"]) == {"k": [1, "ü"]}


def test_a_read_request_unpickles_without_sqlalchemy() -> None:
    """The SQLite reader process unpickles each request; a SQLAlchemy `quoted_name` in it (column and
    table names come from the model metadata) made that process import SQLAlchemy, half a second of its
    start."""
    import pickle

    request = columnar._request(
        "transactions", columns=None, date_column="date", start=None, end=None, where={"owner_id": ["P1"]}
    )
    assert request.columns and request.where
    assert b"sqlalchemy" not in pickle.dumps(request)
    assert all(type(c.name) is str for c in request.columns) and type(request.table) is str


def test_the_sqlite_reader_can_be_started_before_the_first_read(filled: Engine, store_url: str) -> None:
    """`start_reader` starts the reader process of an SQLite store without waiting for it (its start-up
    then overlaps the caller's work); the first read uses that process. Other stores have none."""
    worker = columnar._SQLITE_WORKER
    worker.close()
    columnar.start_reader("sqlite://")  # in memory: nothing to read through the process
    columnar.start_reader("sqlite:////nonexistent/spm.db")
    assert worker._process is None
    columnar.start_reader(store_url)
    if not store_url.startswith("sqlite"):
        assert worker._process is None
        return
    started = worker._process
    assert started is not None and started.poll() is None  # running, before any read
    assert ids(read_arrow(store_url, "transactions")) == [f"T{i}" for i in range(5)]
    assert worker._process is started  # the read was served by the process started early
    columnar.start_reader(store_url)
    assert worker._process is started  # started once
