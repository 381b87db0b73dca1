"""A Rich progress bar that services report to through their `progress(step, done, total)` callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:  # the callback type only: importing the importer would slow every command's start
    from openspm.services.imports import Progress as ProgressCallback

console = Console(stderr=True)


@contextmanager
def progress_bar(title: str) -> Iterator[ProgressCallback]:
    """Show one bar for the whole job; each step updates its description and completion."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(title, total=1, step="")

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, 1), step=step)

        yield update
