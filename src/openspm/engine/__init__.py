"""Columnar computation over Arrow tables: pure functions, tables in, tables out."""
