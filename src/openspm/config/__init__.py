"""Shipped default configuration files (sales process, scorecards), read by `ingest`."""
