"""Settings read from the environment (``SPM_*``), built once at the edge (CLI callback, app factory)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///spm.db"


class Settings(BaseSettings):
    """OpenSPM configuration. Every field can be set as an environment variable ``SPM_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SPM_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL of the store: ``sqlite:///spm.db`` (default) or ``postgresql+psycopg://…``."""

    sales_process_file: str | None = None
    """The sales process YAML (stages, exit criteria); default: the shipped one (docs/inspection.md)."""

    scorecards_file: str | None = None
    """YAML file of the scorecards (results ↔ behaviours per role); default: the shipped one."""

    kpi_warm_seconds: float = 30.0
    """How often (seconds) the web server looks for new data and then refreshes the KPI and inspection
    caches in the background, so the first page after an import is fast (0 turns it off)."""
