"""The `spm` command: a thin shell over the services. Settings are read once, in the callback."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from sqlalchemy import Engine

from openspm import __version__
from openspm.settings import Settings
from openspm.store.db import make_engine

app = typer.Typer(
    name="spm",
    help="OpenSPM: sales performance management — behaviours, results, planning and pay.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@dataclass
class Context:
    """What every command receives: the settings and a lazily created engine."""

    settings: Settings
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openspm {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Set up the context. The store is chosen by SPM_DATABASE_URL (default: sqlite:///spm.db)."""
    ctx.obj = Context(Settings())


def _register() -> None:
    from openspm.cli import (
        audit,
        bench,
        calc,
        company,
        db,
        demo,
        imports,
        inspect,
        kpi,
        plans,
        serve,
        users,
    )

    app.add_typer(db.app, name="db")
    app.add_typer(audit.app, name="audit")
    app.add_typer(demo.app, name="demo")
    app.add_typer(company.company_app, name="company")
    app.add_typer(company.period_app, name="period")
    app.command("import")(imports.import_command)
    app.command("export")(imports.export_command)
    app.add_typer(users.app, name="user")
    app.add_typer(plans.app, name="plan")
    app.add_typer(calc.app, name="calc")
    app.command("kpi")(kpi.kpi_command)
    app.command("inspect")(inspect.inspect_command)
    app.add_typer(bench.app, name="bench")
    app.command("serve")(serve.serve)


_register()


def main() -> None:
    app()
