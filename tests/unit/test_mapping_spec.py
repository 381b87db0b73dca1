"""Mapping files: parsing, short forms, and every mistake reported by its path inside the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from openspm.ingest.mapping import (
    MappingError,
    load_mapping,
    parse_mapping,
    resolve_mapping,
    shipped_mappings,
)
from openspm.ingest.mapping.spec import KEEP_ALL, parse_template

MINIMAL = """
sources:
  deals: deals.csv
entities:
  people:
    from: deals
    columns:
      person_id: {column: Owner, slug: true}
      name: Owner
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text)
    return caught.value.errors


def test_short_forms_expand() -> None:
    spec = parse_mapping(MINIMAL)
    assert spec.sources["deals"].file == ["deals.csv"]
    (feed,) = spec.entities["people"]
    assert feed.from_ == "deals"
    assert feed.columns["name"].column == "Owner"
    assert feed.columns["person_id"].slug is True


def test_scalars_become_text_and_yes_no_stay_words() -> None:
    spec = parse_mapping(
        """
sources: {d: d.csv}
entities:
  opportunities:
    from: d
    columns:
      opportunity_id: Id
      account_id: {value: 42}
      owner_id: Owner
      amount: {column: Amount, default: 0}
      stage: {column: Stage, values: {Yes: No, 1: true, NO: Off}}
      created_date: Created
      is_closed: {column: Closed, values: {Y: true}, otherwise: false}
      is_won: Won
"""
    )
    columns = spec.entities["opportunities"][0].columns
    assert columns["account_id"].value == "42"
    assert columns["amount"].default is not None
    assert columns["amount"].default.value == "0"
    assert columns["stage"].values == {"Yes": "No", "1": "true", "NO": "Off"}
    assert columns["is_closed"].otherwise == "false"


def test_wrong_shape_is_named_by_its_path() -> None:
    errors = errors_of(MINIMAL.replace("name: Owner", "name: {column: Owner, values: [a, b]}"))
    assert errors == ["entities.people.columns.name.values: must be a mapping"]


def test_every_mistake_is_reported_at_once() -> None:
    text = """
sources:
  deals: {file: deals.csv, delimiter: ";;"}
entities:
  opportunities:
    - from: deals
      colums: {}
      where:
        - {column: Type, equals: x, in: [a]}
    - from: deals
      columns:
        stage: {column: Stage, value: Won, case: shout}
"""
    errors = errors_of(text)
    assert "sources.deals.delimiter: String should have at most 1 character" in errors
    assert "entities.opportunities[0].colums: unknown key" in errors
    assert "entities.opportunities[0].columns: is required" in errors
    assert any(e.startswith("entities.opportunities[0].where[0]: give exactly one of equals") for e in errors)
    assert "entities.opportunities[1].columns.stage.case: must be 'lower', 'upper' or 'title'" in errors
    assert len(errors) == 5


def test_references_are_checked_after_the_shape() -> None:
    text = """
sources: {deals: deals.csv}
entities:
  opportunites:
    from: deals
    columns: {}
  people:
    from: dealz
    columns:
      person_id: Id
      name: Name
      nickname: Nick
      email: {column: Email, lookup: {source: users, match: Id, take: Email}}
    keep: [name]
"""
    errors = errors_of(text)
    assert errors[0].startswith("entities.opportunites: unknown entity (one of: org_units, people,")
    assert "entities.people.from: unknown source 'dealz' (sources: deals)" in errors
    assert any(e.startswith("entities.people.columns.nickname: not a column of people") for e in errors)
    assert "entities.people.columns.email.lookup.source: unknown source 'users' (sources: deals)" in errors
    assert any(e.startswith("entities.people.keep: name: canonical column") for e in errors)


def test_required_columns_must_be_mapped() -> None:
    errors = errors_of(MINIMAL.replace("      name: Owner\n", ""))
    assert errors == ["entities.people.columns: required column(s) not mapped: name"]


def test_column_spec_conflicts() -> None:
    errors = errors_of(
        MINIMAL.replace(
            "name: Owner",
            "name: {column: Owner, template: '{A}', strict: true, date: '%Y', timestamp: '%Y', divide: 0}",
        )
    )
    (error,) = errors
    assert error.startswith("entities.people.columns.name: give exactly one of column, value, template")
    for part in ("date or timestamp", "strict and otherwise need values", "divide by zero"):
        assert part in error


def test_bad_templates_and_patterns_are_rejected() -> None:
    errors = errors_of(
        MINIMAL.replace("name: Owner", "name: {template: '{Owner|shout} {'}").replace(
            "person_id: {column: Owner, slug: true}", "person_id: {column: Owner, matches: '(unclosed'}"
        )
    )
    assert any(e.startswith("entities.people.columns.name: bad placeholder '{Owner|shout}'") for e in errors)
    assert any(
        e.startswith("entities.people.columns.person_id.matches: '(unclosed' is not a valid") for e in errors
    )


def test_a_bare_number_is_not_a_column_spec() -> None:
    errors = errors_of(MINIMAL.replace("name: Owner", "name: 5"))
    expected = "must be a source column name or a mapping (write {value: …} for a constant)"
    assert errors == [f"entities.people.columns.name: {expected}"]


def test_yaml_syntax_errors_name_the_line() -> None:
    errors = errors_of("sources:\n  a: [b\nentities: {}\n")
    assert len(errors) == 1
    assert errors[0].startswith("line ")
    assert "not valid YAML" in errors[0]


def test_the_file_must_be_a_mapping() -> None:
    assert errors_of("- a\n- b\n") == ["the file must be a mapping with sources: and entities:"]


def test_keep_all_and_template_parsing() -> None:
    spec = parse_mapping(MINIMAL + "    keep: all\n")
    assert spec.entities["people"][0].keep == [KEEP_ALL]
    parts = parse_template("OPP-{Id} {{x}} {Owner Name|slug|upper}")
    assert parts[0] == "OPP-"
    assert [p.column for p in parts if not isinstance(p, str)] == ["Id", "Owner Name"]
    assert "{x}" in "".join(p for p in parts if isinstance(p, str))


def test_load_mapping_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL.replace("from: deals", "from: nowhere"), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert str(path) in str(caught.value)
    assert "entities.people.from: unknown source 'nowhere'" in str(caught.value)


def test_shipped_mappings_resolve_by_name_and_all_load() -> None:
    shipped = shipped_mappings()
    assert {"salesforce", "hubspot", "maven-crm"} <= set(shipped)
    assert resolve_mapping("salesforce") == shipped["salesforce"]
    assert resolve_mapping("maven-crm.yaml") == shipped["maven-crm"]
    for path in shipped.values():
        assert load_mapping(path).sources


def test_resolve_prefers_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "salesforce"
    path.write_text(MINIMAL, encoding="utf-8")
    assert resolve_mapping(path) == path
    with pytest.raises(MappingError, match="no shipped mapping of that name"):
        resolve_mapping("pipedrive")
