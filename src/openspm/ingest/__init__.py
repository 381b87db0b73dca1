"""Importers: canonical CSV, CRM export mappings, validation, de-duplication and change detection."""
