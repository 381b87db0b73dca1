"""Bulk writes of typed Arrow tables: exact round trips, targeted updates, all-or-nothing on bad rows."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openspm.ingest.tables import canonical_schema
from openspm.store import bulk
from openspm.store.bulk import insert_arrow, update_arrow
from openspm.store.columnar import read_arrow
from openspm.store.models import (
    Account,
    Base,
    Opportunity,
    OpportunityHistory,
    Person,
    Quota,
    Transaction,
)

AWKWARD = 'Zoë "Z" O\'Brien, 東京 \\ back\nslash'  # quotes, comma, unicode, backslash, newline


def typed(entity: str, rows: list[dict[str, Any]]) -> pa.Table:
    """A typed table of `entity` holding `rows` (columns not named in the first row are left out)."""
    schema = canonical_schema(entity)
    names = [n for n in schema.names if n in rows[0]]
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(n) for n in names]))


def people(*ids: str) -> pa.Table:
    return typed("people", [{"person_id": i, "name": f"Person {i}"} for i in ids])


def load_parents(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_arrow(conn, "people", people("P1", "P2"))
        insert_arrow(conn, "accounts", typed("accounts", [{"account_id": "A1", "name": "Acme"}]))
        insert_arrow(conn, "products", typed("products", [{"product_id": "PR1", "name": "Widget"}]))


PEOPLE = [
    {
        "person_id": "P1",
        "name": AWKWARD,
        "email": "",
        "hire_date": date(2020, 2, 29),
        "termination_date": None,
        "employee_number": None,
        "extra": json.dumps({"tier": "gold", "ü": [1, 2.5]}),
    },
    {
        "person_id": "P2",
        "name": "Plain",
        "email": None,
        "hire_date": None,
        "termination_date": date(2025, 12, 31),
        "employee_number": "007",
        "extra": None,
    },
]
ACCOUNTS = [
    {
        "account_id": "A1",
        "name": "Acme",
        "lat": 51.507222,
        "lon": -0.1275,
        "potential": Decimal("1234567.8901"),
        "owner_id": "P1",
        "extra": None,
    },
    {
        "account_id": "A2",
        "name": "Zero",
        "lat": None,
        "lon": 0.1,
        "potential": None,
        "owner_id": None,
        "extra": "{}",
    },
]
OPPORTUNITIES = [
    {
        "opportunity_id": "O1",
        "account_id": "A1",
        "owner_id": "P1",
        "name": AWKWARD,
        "amount": Decimal("0.0001"),
        "currency": "EUR",
        "stage": "Won",
        "created_date": date(2024, 1, 1),
        "close_date": date(2024, 3, 31),
        "is_closed": True,
        "is_won": True,
        "next_step": None,
        "extra": json.dumps({"source": "web"}),
    },
    {
        "opportunity_id": "O2",
        "account_id": "A2",
        "owner_id": "P2",
        "name": None,
        "amount": Decimal("99999999.9999"),
        "currency": "USD",
        "stage": "Discovery",
        "created_date": date(2024, 2, 1),
        "close_date": None,
        "is_closed": False,
        "is_won": False,
        "next_step": "",
        "extra": None,
    },
]
HISTORY = [
    {
        "opportunity_id": "O1",
        "changed_at": datetime(2024, 1, 1, 9, 30, 15, 123456),
        "stage": "Discovery",
        "amount": Decimal("10.5"),
        "probability": Decimal("12.3456789012"),
        "extra": None,
    },
    {
        "opportunity_id": "O1",
        "changed_at": datetime(2024, 3, 31, 23, 59, 59),
        "stage": "Won",
        "amount": None,
        "probability": None,
        "extra": None,
    },
]
TRANSACTIONS = [
    {
        "transaction_id": "T1",
        "kind": "booking",
        "date": date(2024, 1, 31),
        "amount": Decimal("1000.1234"),
        "currency": "USD",
        "opportunity_id": "O1",
        "account_id": "A1",
        "owner_id": "P1",
        "extra": None,
    },
    {
        "transaction_id": "T2",
        "kind": "cancellation",
        "date": date(2024, 2, 1),
        "amount": Decimal("-250.0001"),
        "currency": "USD",
        "opportunity_id": None,
        "account_id": None,
        "owner_id": "P2",
        "extra": None,
    },
    {
        "transaction_id": "T3",
        "kind": "invoice",
        "date": date(2024, 2, 29),
        "amount": Decimal("-0.5"),
        "currency": "EUR",
        "opportunity_id": None,
        "account_id": "A2",
        "owner_id": None,
        "extra": '{"po": "x"}',
    },
]


def load_all(engine: Engine) -> dict[str, pa.Table]:
    tables = {
        "people": typed("people", PEOPLE),
        "accounts": typed("accounts", ACCOUNTS),
        "opportunities": typed("opportunities", OPPORTUNITIES),
        "opportunity_history": typed("opportunity_history", HISTORY),
        "transactions": typed("transactions", TRANSACTIONS),
    }
    with engine.begin() as conn:
        for entity, table in tables.items():
            assert insert_arrow(conn, entity, table) == table.num_rows
    return tables


def orm_rows(engine: Engine, model: type[Base], names: list[str]) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [{n: getattr(o, n) for n in names} for o in session.scalars(select(model))]


def expected_python(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as the ORM should give them back: `extra` parsed from JSON."""
    rows = table.to_pylist()
    for row in rows:
        if "extra" in row and row["extra"] is not None:
            row["extra"] = json.loads(row["extra"])
    return rows


@pytest.mark.parametrize(
    ("entity", "model", "key"),
    [
        ("people", Person, "person_id"),
        ("accounts", Account, "account_id"),
        ("opportunities", Opportunity, "opportunity_id"),
        ("opportunity_history", OpportunityHistory, "changed_at"),
        ("transactions", Transaction, "transaction_id"),
    ],
)
def test_round_trip_through_the_orm(engine: Engine, entity: str, model: type[Base], key: str) -> None:
    """Every stored type reads back through SQLAlchemy exactly as it went in."""
    table = load_all(engine)[entity]
    got = sorted(orm_rows(engine, model, table.column_names), key=lambda r: r[key])
    assert got == sorted(expected_python(table), key=lambda r: r[key])


@pytest.mark.parametrize(
    "entity", ["people", "accounts", "opportunities", "opportunity_history", "transactions"]
)
def test_round_trip_through_read_arrow(engine: Engine, store_url: str, entity: str) -> None:
    """The typed table read back equals the one written, types included."""
    table = load_all(engine)[entity]
    back = read_arrow(store_url, entity, table.column_names)
    assert back.schema == table.schema
    key = table.column_names[1] if entity == "opportunity_history" else table.column_names[0]
    assert back.sort_by(key).equals(table.sort_by(key))


def test_missing_columns_get_model_defaults_and_surrogate_ids(engine: Engine) -> None:
    """quotas.version (default 1) and transactions.currency (default USD) are filled; ids are assigned."""
    load_parents(engine)
    quotas = typed(
        "quotas",
        [
            {
                "subject_id": "P1",
                "subject_kind": "person",
                "measure": "bookings",
                "period": p,
                "amount": Decimal(a),
            }
            for p, a in (("2025-Q1", "100000"), ("2025-Q2", "120000.5"))
        ],
    )
    with engine.begin() as conn:
        insert_arrow(conn, "quotas", quotas)
        insert_arrow(
            conn,
            "transactions",
            typed("transactions", [TRANSACTIONS[1] | {"currency": None}]).drop(["currency"]),
        )
    rows = orm_rows(engine, Quota, ["id", "period", "amount", "version"])
    assert sorted(r["period"] for r in rows) == ["2025-Q1", "2025-Q2"]
    assert {r["version"] for r in rows} == {1}
    assert len({r["id"] for r in rows}) == 2
    assert {r["amount"] for r in rows} == {Decimal(100000), Decimal("120000.5")}
    assert orm_rows(engine, Transaction, ["currency"]) == [{"currency": "USD"}]


def test_update_changes_exactly_the_targeted_rows(engine: Engine, store_url: str) -> None:
    load_all(engine)
    change = typed(
        "transactions",
        [
            {"transaction_id": "T1", "kind": "renewal", "amount": Decimal("-1.0001")},
            {"transaction_id": "T3", "kind": "booking", "amount": Decimal(7)},
            {"transaction_id": "T9", "kind": "booking", "amount": Decimal(8)},  # no such row
        ],
    )
    with engine.begin() as conn:
        assert update_arrow(conn, "transactions", ["transaction_id"], change) == 2
    got = {r["transaction_id"]: r for r in read_arrow(store_url, "transactions").to_pylist()}
    assert (got["T1"]["kind"], got["T1"]["amount"]) == ("renewal", Decimal("-1.0001"))
    assert (got["T3"]["kind"], got["T3"]["amount"]) == ("booking", Decimal(7))
    assert got["T2"] == TRANSACTIONS[1] | {"product_id": None}  # untouched
    assert got["T1"]["date"] == date(2024, 1, 31)
    assert got["T3"]["extra"] == '{"po": "x"}'
    assert sorted(got) == ["T1", "T2", "T3"]


def test_update_by_a_composite_key(engine: Engine, store_url: str) -> None:
    load_all(engine)
    change = typed(
        "opportunity_history",
        [
            {
                "opportunity_id": "O1",
                "changed_at": datetime(2024, 3, 31, 23, 59, 59),
                "stage": "Closed Won",
                "probability": Decimal(100),
            },
        ],
    )
    with engine.begin() as conn:
        assert update_arrow(conn, "opportunity_history", ["opportunity_id", "changed_at"], change) == 1
    stages = (
        read_arrow(store_url, "opportunity_history", ["stage", "probability"]).sort_by("stage").to_pylist()
    )
    assert stages == [
        {"stage": "Closed Won", "probability": Decimal(100)},
        {"stage": "Discovery", "probability": Decimal("12.3456789012")},
    ]


def count(engine: Engine, model: type[Base]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_foreign_key_violation_raises_and_rollback_leaves_nothing(engine: Engine) -> None:
    load_parents(engine)
    bad = typed(
        "transactions", [TRANSACTIONS[1], TRANSACTIONS[1] | {"transaction_id": "T4", "owner_id": "NOBODY"}]
    )

    def load_person_then_bad_rows() -> None:
        with engine.begin() as conn:
            insert_arrow(conn, "people", people("P3"))
            insert_arrow(conn, "transactions", bad)

    with pytest.raises(IntegrityError):
        load_person_then_bad_rows()
    assert count(engine, Transaction) == 0
    assert count(engine, Person) == 2  # the earlier insert of the same transaction is gone too


def test_unique_violation_raises_and_rollback_leaves_nothing(engine: Engine) -> None:
    load_parents(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_arrow(conn, "people", people("P3", "P4", "P3"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_arrow(conn, "people", people("P5", "P1"))
    assert count(engine, Person) == 2


def large_transactions(rows: int, owner: str = "P1") -> pa.Table:
    return typed(
        "transactions",
        [
            {
                "transaction_id": f"T{i:06d}",
                "kind": "booking",
                "date": date(2024, 1, 1 + i % 28),
                "amount": Decimal(i).scaleb(-4),
                "owner_id": owner if i < rows - 1 else "NOBODY",
            }
            for i in range(rows)
        ],
    )


def schema_of(engine: Engine) -> tuple[list[str], list[str]]:
    inspector = inspect(engine)
    indexes = sorted(str(i["name"]) for i in inspector.get_indexes("transactions"))
    keys = sorted(str(k["name"]) for k in inspector.get_foreign_keys("transactions"))
    return indexes, keys


def test_large_load_keeps_indexes_and_foreign_keys(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large load rebuilds what it dropped; a bad row in it still fails and rolls everything back."""
    monkeypatch.setattr(bulk, "LARGE_LOAD_ROWS", 100)
    load_parents(engine)
    before = schema_of(engine)
    assert len(before[0]) == 3
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_arrow(conn, "transactions", large_transactions(500))
    assert count(engine, Transaction) == 0
    assert schema_of(engine) == before
    with engine.begin() as conn:
        insert_arrow(conn, "transactions", large_transactions(500).slice(0, 499))
    assert count(engine, Transaction) == 499
    assert schema_of(engine) == before


def test_unknown_columns_and_missing_keys_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(KeyError, match="no columns"):
            insert_arrow(conn, "people", pa.table({"person_id": ["P1"], "nickname": ["x"]}))
        with pytest.raises(KeyError, match="key columns"):
            update_arrow(conn, "people", ["person_id"], pa.table({"name": ["x"]}))
        assert insert_arrow(conn, "people", people("P1").slice(0, 0)) == 0


def test_stored_exactly_as_sqlalchemy_stores_it(engine: Engine) -> None:
    """The raw stored values (SQLite: text dates, timestamps and JSON; 0/1 booleans) match the ORM's."""
    load_all(engine)
    with Session(engine) as session, session.begin():
        later = HISTORY[0]["changed_at"].replace(second=16)
        session.add(OpportunityHistory(**(HISTORY[0] | {"changed_at": later, "extra": {"a": "ü"}})))
        session.add(Opportunity(**(OPPORTUNITIES[0] | {"opportunity_id": "O3", "extra": None})))
    with engine.connect() as conn:
        history = conn.exec_driver_sql(
            "SELECT changed_at, amount, probability FROM opportunity_history"
        ).all()
        deals = conn.exec_driver_sql(
            "SELECT amount, created_date, close_date, is_closed, is_won, extra FROM opportunities"
            " WHERE opportunity_id IN ('O1', 'O3') ORDER BY opportunity_id"
        ).all()
    assert [str(v) for v in history[0]] == [str(v).replace(":16.", ":15.") for v in history[2]]
    assert list(deals[0])[:-1] == list(deals[1])[:-1]
