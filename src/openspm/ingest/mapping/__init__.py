"""Mappings: YAML files that turn any CRM export into the canonical import format (docs/import.md).

    resolve_mapping("salesforce")  -> Path       a file path, or the name of a shipped mapping
    load_mapping(path)             -> MappingSpec (raises MappingError listing every mistake by YAML path)
    apply_mapping(spec, directory) -> (list[RawTable], list[Problem])

`apply_mapping` reads each export file once with pyarrow (every cell a string), filters rows, computes
each canonical column with vectorised steps (`transforms.STEPS`), and returns one `RawTable` per feed,
whose `file` and `rows` are the export's own file and spreadsheet rows.
"""

from openspm.ingest.mapping.apply import apply_mapping
from openspm.ingest.mapping.loading import (
    MappingError,
    load_mapping,
    parse_mapping,
    resolve_mapping,
    shipped_mappings,
)
from openspm.ingest.mapping.spec import ColumnSpec, Condition, FeedSpec, LookupSpec, MappingSpec, SourceSpec

__all__ = [
    "ColumnSpec",
    "Condition",
    "FeedSpec",
    "LookupSpec",
    "MappingError",
    "MappingSpec",
    "SourceSpec",
    "apply_mapping",
    "load_mapping",
    "parse_mapping",
    "resolve_mapping",
    "shipped_mappings",
]
