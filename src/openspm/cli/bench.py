"""`spm bench calc`: how fast the calculation runs on synthetic data (docs: bench/README.md).

    spm bench calc --payees 10000 --lines 10000000 --store sqlite --format json

The harness is `services.calc_bench`; it is imported when the command runs, so that it (and the engine
behind it) never slows the start of other commands.
"""

from __future__ import annotations

import json
from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Benchmarks: how fast the calculation runs on synthetic data.", no_args_is_help=True)
console = Console()


class StoreChoice(StrEnum):
    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Format(StrEnum):
    JSON = "json"
    TABLE = "table"


@app.command("calc")
def calc(
    payees: int = typer.Option(
        10_000, help="People on the demo plans (teams of 12: manager, 8 AEs, 2 SDRs, SE)."
    ),
    lines: int = typer.Option(10_000_000, help="Credited transaction lines over the fiscal year."),
    store: StoreChoice = typer.Option(
        StoreChoice.MEMORY, help="memory: engine only; sqlite/postgresql: end to end from a scratch store."
    ),
    period: str = typer.Option("FY2026", help="The period calculated (FY2026 is the synthetic year)."),
    month: str | None = typer.Option(
        None, help="The month of the incremental run (default: the period's last)."
    ),
    seed: int = typer.Option(7, help="Random seed of the synthetic data."),
    output: Format = typer.Option(Format.JSON, "--format", help="json or table."),
) -> None:
    """Generate synthetic data, run the calculation and print how long it took and the peak memory."""
    from openspm.services.calc_bench import Spec, Store, run_benchmark

    result = run_benchmark(Spec(payees, lines, seed), Store(store.value), period, month)
    if output is Format.JSON:
        typer.echo(json.dumps(result))
        return
    table = Table("measure", "value", title=f"calculation benchmark ({store.value})")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
