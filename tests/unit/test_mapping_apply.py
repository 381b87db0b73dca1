"""Applying a mapping to export files: each transform, row numbers, and problems named by file/row/column."""

from __future__ import annotations

from pathlib import Path

from openspm.domain.canonical import Problem
from openspm.ingest.mapping import apply_mapping, parse_mapping
from openspm.ingest.tables import RawTable


def run(
    tmp_path: Path, mapping: str, files: dict[str, str | bytes]
) -> tuple[dict[str, RawTable], list[Problem]]:
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (tmp_path / name).write_bytes(data)
    tables, problems = apply_mapping(parse_mapping(mapping), tmp_path)
    return {t.entity: t for t in tables}, problems


def rows(table: RawTable) -> list[dict[str, str]]:
    return table.table.to_pylist()


PEOPLE = """
sources: {users: users.csv}
entities:
  people:
    from: users
    columns:
      person_id: {column: Name, slug: true}
      name: Name
"""


def test_bom_crlf_and_quoted_newlines_keep_spreadsheet_rows(tmp_path: Path) -> None:
    csv = '\ufeffName,Note\r\n"Lee, Ann","two\r\nlines"\r\n  Bo Ek  ,x\r\n'.encode()
    tables, problems = run(tmp_path, PEOPLE + "    keep: [Note]\n", {"users.csv": csv})
    assert problems == []
    people = tables["people"]
    assert people.file == "users.csv"
    assert people.rows.to_pylist() == [2, 3]  # a record with a newline is still one spreadsheet row
    assert rows(people) == [
        {"person_id": "lee-ann", "name": "Lee, Ann", "Note": "two\r\nlines"},
        {"person_id": "bo-ek", "name": "Bo Ek", "Note": "x"},
    ]


def test_constants_templates_case_and_defaults(tmp_path: Path) -> None:
    mapping = """
sources: {deals: deals.csv}
entities:
  opportunities:
    from: deals
    columns:
      opportunity_id: {template: "OPP-{Id}"}
      account_id: {template: "{Company|slug}", default: no-account}
      owner_id: {column: Owner, case: lower}
      name: {template: "{Company} / {Id}", default: {column: Id}}
      amount: {column: Amount, default: "0"}
      currency: {value: EUR}
      stage: {column: Stage, case: upper}
      created_date: Created
      is_closed: {value: false}
      is_won: {value: "false"}
"""
    csv = "Id,Company,Owner,Amount,Stage,Created\n7,Acme Ltd.,ANN,,open,2024-01-02\n8,,Bo,5,won ,2024-01-03\n"
    tables, problems = run(tmp_path, mapping, {"deals.csv": csv})
    assert problems == []
    first, second = rows(tables["opportunities"])
    assert first["opportunity_id"] == "OPP-7"
    assert first["account_id"] == "acme-ltd"
    assert second["account_id"] == "no-account"  # a template with an empty placeholder is empty
    assert (first["name"], second["name"]) == ("Acme Ltd. / 7", "8")
    assert (first["amount"], second["amount"]) == ("0", "5")
    assert (first["owner_id"], second["stage"]) == ("ann", "WON")
    assert first["currency"] == "EUR"
    assert first["is_closed"] == "false"
    assert list(tables["opportunities"].table.column_names[:3]) == [
        "opportunity_id",
        "account_id",
        "owner_id",
    ]


STAGES = """
sources: {deals: deals.csv}
entities:
  opportunity_history:
    from: deals
    columns:
      opportunity_id: Id
      changed_at: {column: When, timestamp: ["%m/%d/%Y %I:%M %p", "%Y-%m-%dT%H:%M:%S.%f%z"]}
      stage: {column: Stage, values: {New: Prospecting, Won: Closed Won}, strict: true}
      close_date: {column: Close, date: ["%m/%d/%Y", "%Y-%m-%d"]}
      probability: {column: Pct, divide: 100, multiply: 100}
"""


def test_value_maps_dates_and_numbers(tmp_path: Path) -> None:
    csv = (
        "Id,When,Stage,Close,Pct\n"
        "1,3/1/2023 1:05 PM,New,3/31/2023,25\n"
        "1,2023-03-05T10:00:00.000+0200,Won,2023-04-01,100\n"
    )
    tables, problems = run(tmp_path, STAGES, {"deals.csv": csv})
    assert problems == []
    assert rows(tables["opportunity_history"]) == [
        {
            "opportunity_id": "1",
            "changed_at": "2023-03-01T13:05:00",
            "stage": "Prospecting",
            "close_date": "2023-03-31",
            "probability": "25",
        },
        {
            "opportunity_id": "1",
            "changed_at": "2023-03-05T08:00:00",
            "stage": "Closed Won",
            "close_date": "2023-04-01",
            "probability": "100",
        },
    ]


def test_bad_cells_are_problems_naming_source_file_row_and_column(tmp_path: Path) -> None:
    csv = "Id,When,Stage,Close,Pct\n1,3/1/2023 1:05 PM,New,31/3/2023,x\n2,yesterday,Lost,,10\n3,,Won,,\n"
    tables, problems = run(tmp_path, STAGES, {"deals.csv": csv})
    found = {(p.file, p.row, p.column) for p in problems}
    assert found == {
        ("deals.csv", 2, "Close"),
        ("deals.csv", 2, "Pct"),
        ("deals.csv", 3, "When"),
        ("deals.csv", 3, "Stage"),
    }
    by_column = {p.column: p.reason for p in problems}
    assert by_column["Close"] == (
        "'31/3/2023' is not a date in the format %m/%d/%Y or %Y-%m-%d (for opportunity_history.close_date)"
    )
    assert by_column["Stage"].startswith("'Lost' is not one of the mapped values (New, Won)")
    assert by_column["Pct"].startswith("'x' is not a number")
    assert all(p.severity == "error" for p in problems)
    assert tables["opportunity_history"].num_rows == 3  # the importer still sees every row


def test_otherwise_split_replace_empty_values_and_matches(tmp_path: Path) -> None:
    mapping = """
sources: {tasks: tasks.csv}
entities:
  activities:
    from: tasks
    columns:
      activity_id: Id
      person_id: {column: Owner, split: ";"}
      type: {column: Kind, values: {Call: call}, otherwise: other}
      occurred_at: When
      duration_minutes: {column: Secs, divide: 60, round: 2, empty_values: ["0", "-"]}
      opportunity_id: {column: WhatId, matches: "^006"}
      subject: {column: Subject, replace: {"\\\\s+": " ", "^RE: ": ""}}
"""
    csv = (
        "Id,Owner,Kind,When,Secs,WhatId,Subject\n"
        "t1,ann; bo,Call,2024-01-01,125,006A,RE: hello   world\n"
        "t2,bo,Visit,2024-01-02,0,001B,plain\n"
        "t3,bo,,2024-01-03,-,,x\n"
    )
    tables, problems = run(tmp_path, mapping, {"tasks.csv": csv})
    assert problems == []
    t1, t2, t3 = rows(tables["activities"])
    assert (t1["person_id"], t1["type"], t1["duration_minutes"]) == ("ann", "call", "2.08")
    assert (t2["type"], t2["duration_minutes"], t2["opportunity_id"]) == ("other", "", "")
    assert t3["type"] == ""  # otherwise applies to unlisted values, not to empty cells
    assert t1["opportunity_id"] == "006A"
    assert t1["subject"] == "hello world"


LOOKUP = """
sources:
  deals: deals.csv
  products: products.csv
entities:
  opportunities:
    from: deals
    columns:
      opportunity_id: Id
      account_id: {value: a}
      owner_id: {value: p}
      amount:
        column: Value
        empty_values: ["0"]
        default: {column: Product, values: {GTXPro: GTX Pro}, lookup: {source: products, match: product,
                  take: price, strict: true}}
      stage: {value: Open}
      created_date: {value: "2024-01-01"}
      is_closed: {value: "false"}
      is_won: {value: "false"}
"""


def test_lookup_in_another_file_only_where_the_default_is_needed(tmp_path: Path) -> None:
    deals = "Id,Product,Value\n1,GTXPro,0\n2,MG,\n3,Nope,70\n4,Nope,\n"
    products = "product,price\nGTX Pro,4821\nMG,55\n"
    tables, problems = run(tmp_path, LOOKUP, {"deals.csv": deals, "products.csv": products})
    assert [r["amount"] for r in rows(tables["opportunities"])] == ["4821", "55", "70", ""]
    assert problems == [
        Problem(
            "deals.csv",
            5,
            "Product",
            "'Nope' is not found in products.csv column product (for opportunities.amount)",
        ),
    ]  # fmt: skip  (row 4 has its own value, so its product is never looked up)


def test_lookup_columns_must_exist(tmp_path: Path) -> None:
    _, problems = run(
        tmp_path, LOOKUP, {"deals.csv": "Id,Product,Value\n1,MG,\n", "products.csv": "product\nMG\n"}
    )
    assert [(p.file, p.row, p.column) for p in problems] == [("products.csv", 1, "price")]


def test_where_distinct_and_keep(tmp_path: Path) -> None:
    mapping = """
sources: {deals: deals.csv}
entities:
  accounts:
    - from: deals
      where:
        - {column: Company, empty: false}
        - {column: Type, not_in: [Internal, Test]}
      distinct: true
      columns:
        account_id: {column: Company, slug: true}
        name: Company
      keep: [Region, Missing]
    - from: deals
      where: [{column: Company, empty: true}]
      distinct: true
      columns:
        account_id: {value: none}
        name: {value: (none)}
"""
    csv = (
        "Company,Type,Region\n"
        "Acme,New,EU\n"  # row 2
        ",New,EU\n"  # row 3: no company → the placeholder
        "Initech,Internal,US\n"  # row 4: filtered out
        "ACME,Renewal,US\n"  # row 5: same key as row 2 → dropped
        "Globex,New,APAC\n"  # row 6
        ",New,US\n"  # row 7: placeholder again → dropped
    )
    tables, problems = run(tmp_path, mapping, {"deals.csv": csv})
    accounts = tables["accounts"]
    assert rows(accounts) == [
        {"account_id": "acme", "name": "Acme", "Region": "EU"},
        {"account_id": "globex", "name": "Globex", "Region": "APAC"},
        {"account_id": "none", "name": "(none)", "Region": ""},
    ]
    assert accounts.rows.to_pylist() == [2, 6, 3]
    assert problems == [
        Problem("deals.csv", 1, "Missing", "column to keep for accounts not found", "warning")
    ]


def test_keep_all_passes_through_every_unread_column(tmp_path: Path) -> None:
    tables, _ = run(tmp_path, PEOPLE + "    keep: all\n", {"users.csv": "Name,Team,email\nAnn,A,a@x\n"})
    assert tables["people"].table.column_names == ["person_id", "name", "Team"]  # `email` is canonical


def test_missing_columns_are_problems_and_other_feeds_still_run(tmp_path: Path) -> None:
    mapping = (
        PEOPLE
        + """
  accounts:
    from: users
    columns:
      account_id: {template: "{Company}-{Region}"}
      name: {column: Company}
      country: {column: Country, optional: true}
"""
    )
    tables, problems = run(tmp_path, mapping, {"users.csv": "Name\nAnn\n"})
    assert set(tables) == {"people"}
    assert problems == [
        Problem("users.csv", 1, "Company", "column not found in the header (needed for accounts.account_id)"),
        Problem("users.csv", 1, "Region", "column not found in the header (needed for accounts.account_id)"),
    ]


def test_an_optional_missing_column_reads_as_empty(tmp_path: Path) -> None:
    mapping = PEOPLE.replace(
        "name: Name", "name: Name\n      email: {column: Mail, optional: true, default: n/a}"
    )
    tables, problems = run(tmp_path, mapping, {"users.csv": "Name\nAnn\n"})
    assert problems == []
    assert rows(tables["people"]) == [{"person_id": "ann", "name": "Ann", "email": "n/a"}]


def test_missing_files(tmp_path: Path) -> None:
    _, problems = run(tmp_path, PEOPLE, {})
    assert [(p.file, p.severity) for p in problems] == [("users.csv", "error")]
    assert problems[0].reason.startswith(
        f"not found in {tmp_path} (source 'users' of the mapping, for people)"
    )
    optional = PEOPLE.replace(
        "sources: {users: users.csv}", "sources: {users: {file: users.csv, optional: true}}"
    )
    _, problems = run(tmp_path, optional, {})
    assert [p.severity for p in problems] == ["warning", "error"]
    assert problems[1].reason == "none of the files the mapping reads is here"


def test_file_patterns_encoding_and_delimiter(tmp_path: Path) -> None:
    mapping = PEOPLE.replace(
        "sources: {users: users.csv}",
        'sources: {users: {file: [Users.csv, "export-*-users.csv"], encoding: latin-1, delimiter: ";"}}',
    )
    content = "Name;Team\nJosé Müller;A\n".encode("latin-1")
    tables, problems = run(tmp_path, mapping, {"export-2024-users.csv": content})
    assert problems == []
    assert tables["people"].file == "export-2024-users.csv"
    assert rows(tables["people"]) == [{"person_id": "jose-muller", "name": "José Müller"}]
    (tmp_path / "export-2025-users.csv").write_bytes(content)
    _, problems = apply_mapping(parse_mapping(mapping), tmp_path)
    assert problems[0].reason.startswith("several files match (export-2024-users.csv, export-2025-users.csv)")


def test_header_names_are_trimmed_and_case_insensitive_file_names_match(tmp_path: Path) -> None:
    tables, problems = run(tmp_path, PEOPLE, {"USERS.CSV": " Name \nAnn\n"})
    assert problems == []
    assert rows(tables["people"]) == [{"person_id": "ann", "name": "Ann"}]


def test_malformed_rows_and_duplicate_headers(tmp_path: Path) -> None:
    _, problems = run(tmp_path, PEOPLE, {"users.csv": "Name,Team\nAnn,A\nBo,B,extra\n"})
    assert len(problems) == 1
    assert problems[0].file == "users.csv"
    assert "3 fields where the header has 2" in problems[0].reason
    _, problems = run(tmp_path, PEOPLE, {"users.csv": "Name,Name\nAnn,Ann2\n"})
    assert problems == [
        Problem(
            "users.csv", 1, "Name", "appears twice in the header; the second is read as 'Name (2)'", "warning"
        )
    ]


def test_feeds_from_two_files_make_one_table_naming_both(tmp_path: Path) -> None:
    mapping = """
sources: {tasks: tasks.csv, events: events.csv}
entities:
  activities:
    - from: tasks
      columns: {activity_id: Id, person_id: Owner, type: {value: call}, occurred_at: When}
    - from: events
      columns: {activity_id: Id, person_id: Owner, type: {value: meeting}, occurred_at: When,
                duration_minutes: Minutes}
"""
    tables, problems = run(
        tmp_path,
        mapping,
        {
            "tasks.csv": "Id,Owner,When\nt1,ann,2024-01-01\nt2,bo,2024-01-02\n",
            "events.csv": "Id,Owner,When,Minutes\ne1,ann,2024-01-03T10:00:00,30\n",
        },
    )
    assert problems == []
    activities = tables["activities"]
    assert activities.file == "tasks.csv + events.csv"
    assert activities.rows.to_pylist() == [2, 3, 2]
    assert [r["duration_minutes"] for r in rows(activities)] == ["", "", "30"]


def test_tables_come_in_load_order(tmp_path: Path) -> None:
    company = (
        "  org_units:\n    from: users\n    distinct: true\n"
        "    columns: {org_unit_id: {value: co}, name: {value: Co}, kind: {value: company}}\n"
    )
    mapping = PEOPLE + company  # declared after people, loaded before them
    tables, problems = run(tmp_path, mapping, {"users.csv": "Name\nAnn\nBo\n"})
    assert problems == []
    assert [t.entity for t in tables.values()] == ["org_units", "people"]
    assert tables["org_units"].num_rows == 1


def test_large_columns_run_steps_per_distinct_value_and_still_name_each_row(tmp_path: Path) -> None:
    def line(i: int) -> str:
        stage = "New" if i % 2 else "Won"
        return f"{i},3/{i % 28 + 1}/2023 1:05 PM,{stage},3/{i % 28 + 1}/2023,{i % 7}"

    body = [line(i) for i in range(3000)]  # 3,000 rows, a few dozen distinct values per column
    body[1500] = "1500,3/1/2023 1:05 PM,Lost,3/1/2023,1"  # row 1502: an unmapped stage
    body[2500] = "2500,someday,New,3/1/2023,1"  # row 2502: an unreadable timestamp
    tables, problems = run(
        tmp_path, STAGES, {"deals.csv": "Id,When,Stage,Close,Pct\n" + "\n".join(body) + "\n"}
    )
    assert [(p.row, p.column) for p in problems] == [(2502, "When"), (1502, "Stage")]  # in column order
    assert problems[0].reason.startswith("'someday' is not a timestamp")
    assert problems[1].reason.startswith("'Lost' is not one of the mapped values")
    history = rows(tables["opportunity_history"])
    assert [h["stage"] for h in history[:3]] == ["Closed Won", "Prospecting", "Closed Won"]
    assert (history[29]["changed_at"], history[29]["close_date"]) == ("2023-03-02T13:05:00", "2023-03-02")
    assert history[2500]["changed_at"] == ""
    assert [h["probability"] for h in history[:8]] == ["0", "1", "2", "3", "4", "5", "6", "0"]


def test_arithmetic_writes_plain_decimals(tmp_path: Path) -> None:
    mapping = PEOPLE.replace("name: Name", "name: {column: Secs, divide: 60, round: 8}")
    tables, problems = run(tmp_path, mapping, {"users.csv": "Name,Secs\na,0\nb,0.00006\nc,-90\nd,1e3\n"})
    assert [r["name"] for r in rows(tables["people"])] == ["0", "0.000001", "-1.5", ""]
    assert [(p.row, p.reason) for p in problems] == [(5, "'1e3' is not a number (for people.name)")]
