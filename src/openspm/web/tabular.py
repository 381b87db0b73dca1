"""Every chart's numbers one click away: the table under it, and the same rows as CSV or XLSX.

A page builds its `Table`s once. The template renders each as an HTML table (every number cell carries
its exact value in `data-value`, the displayed text is formatted for people); `download` turns the same
tables into a CSV file (one table) or an XLSX workbook (one sheet per table), so the page, the CSV and the
spreadsheet can never disagree. Exact values: money is a `Decimal` written as plain text ("1200.5"),
ratios are floats (0.25 = 25 %), an empty cell is a missing value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import xlsxwriter
from fastapi import HTTPException
from starlette.responses import Response

from openspm.domain.money import round_money


class Format(StrEnum):
    """How a page answers: the page itself, or one of its tables as a file."""

    HTML = "html"
    CSV = "csv"
    XLSX = "xlsx"


#: Units a column may hold: the KPI catalogue's (`domain.kpis.Unit`) plus text, plain numbers and dates.
NUMERIC_UNITS = frozenset({"money", "count", "ratio", "days", "money_per_day", "multiple", "number"})


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    unit: str = "text"
    unit_key: str | None = None  # the unit varies by row: it is in this column of the row

    @property
    def is_numeric(self) -> bool:
        return self.unit in NUMERIC_UNITS or self.unit_key is not None


@dataclass(frozen=True, slots=True)
class Table:
    """A chart's numbers: named (`?table=NAME`), titled, typed columns, rows of exact values."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    links: tuple[str | None, ...] = field(default=())  # optional link per row, on its first cell

    def link(self, index: int) -> str | None:
        return self.links[index] if index < len(self.links) else None

    def unit(self, row: tuple[Any, ...], column: Column) -> str:
        """The unit of one cell: the column's own, or the row's when it varies by row."""
        if column.unit_key is None:
            return column.unit
        return str(row[next(i for i, c in enumerate(self.columns) if c.key == column.unit_key)])

    def values(self, key: str) -> list[Any]:
        """The column called `key`, top to bottom."""
        position = next(i for i, c in enumerate(self.columns) if c.key == key)
        return [row[position] for row in self.rows]


# --- exact values and display text -------------------------------------------------------------------
def raw(value: Any) -> str:
    """The exact value as text, as in the CSV and the page's `data-value`: "" for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _money(value: Any, currency: str) -> str:
    return f"{round_money(Decimal(str(value)), currency):,}"


def _count(value: Any, _currency: str) -> str:
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"


_DISPLAY: dict[str, Callable[[Any, str], str]] = {
    "money": _money,
    "money_per_day": _money,
    "ratio": lambda v, _: f"{float(v) * 100:.1f} %",
    "multiple": lambda v, _: f"{float(v):.2f}×",
    "days": lambda v, _: f"{float(v):,.1f}",
    "count": _count,
    "number": lambda v, _: f"{float(v):,.2f}".rstrip("0").rstrip("."),
}


def display(value: Any, unit: str, currency: str = "USD") -> str:
    """The value formatted for people: 1,200.50 · 25.0 % · 3.20× · 41.5 (days); "–" when missing."""
    if value is None:
        return "–"
    if isinstance(value, date):
        return value.isoformat()
    shown = _DISPLAY.get(unit)
    return shown(value, currency) if shown else str(value)


# --- files ------------------------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filename(*parts: str) -> str:
    """A download's file name from its parts, safe in a header: dashboard_T-EAST_2025-Q3."""
    return "_".join(_SAFE.sub("-", p).strip("-") for p in parts if p)


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.label for c in table.columns])
    writer.writerows([raw(v) for v in row] for row in table.rows)
    return out.getvalue()


_XLSX_FORMATS = {
    "money": "#,##0.00",
    "money_per_day": "#,##0.00",
    "count": "#,##0",
    "ratio": "0.0%",
    "days": "0.0",
    "multiple": '0.00"×"',
    "number": "0.00",
}


def to_xlsx(tables: Sequence[Table], *, heading: str) -> bytes:
    """A workbook with one sheet per table: a heading line, the column labels, then the rows as numbers.

    Spreadsheet cells are binary floating point by the file format; amounts keep their exact text in the
    CSV download.
    """
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    formats = {unit: book.add_format({"num_format": spec}) for unit, spec in _XLSX_FORMATS.items()}
    used: set[str] = set()
    for table in tables:
        sheet = book.add_worksheet(_sheet_name(table.title, used))
        sheet.write_string(0, 0, f"{table.title} — {heading}", bold)
        for col, column in enumerate(table.columns):
            sheet.write_string(1, col, column.label, bold)
            sheet.set_column(col, col, max(12, min(40, len(column.label) + 4)))
        for r, row in enumerate(table.rows, start=2):
            for col, (column, value) in enumerate(zip(table.columns, row, strict=True)):
                _write_cell(sheet, r, col, value, table.unit(row, column), formats)
        sheet.freeze_panes(2, 0)
    if not tables:
        book.add_worksheet("Empty").write_string(0, 0, "no data")
    book.close()
    return out.getvalue()


def _write_cell(sheet: Any, row: int, col: int, value: Any, unit: str, formats: dict[str, Any]) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    elif unit in NUMERIC_UNITS and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        sheet.write_number(row, col, float(value), formats.get(unit))
    else:
        sheet.write_string(row, col, raw(value))


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name, n = f"{base[:26]} {n}", n + 1
    used.add(name.lower())
    return name


def download(tables: Sequence[Table], *, fmt: Format, table: str | None, stem: str, heading: str) -> Response:
    """One table as CSV, or the chosen table (default: all) as XLSX; 404 naming the tables otherwise."""
    chosen = list(tables)
    if table is not None:
        chosen = [t for t in tables if t.name == table]
    elif fmt is Format.CSV and len(tables) == 1:
        table = tables[0].name
    if not chosen or (fmt is Format.CSV and table is None):
        names = ", ".join(t.name for t in tables) or "none"
        raise HTTPException(404, f"choose one of this page's tables with ?table=NAME (tables: {names})")
    name = filename(stem, table or "")
    if fmt is Format.CSV:
        return Response(
            to_csv(chosen[0]).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        to_xlsx(chosen, heading=heading),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
