"""Use cases that tie the store, the engine, ingest and audit together in one transaction."""
