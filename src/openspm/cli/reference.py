"""The CLI reference (docs/cli.md), rendered from the commands' own help so the two cannot disagree."""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from openspm.cli import app


def _commands(command: Any, path: list[str]) -> list[list[str]]:
    """Every command path under `command` (a click group or command, as Typer builds them)."""
    found = [path]
    for name, sub_command in sorted(getattr(command, "commands", {}).items()):
        found += _commands(sub_command, [*path, name])
    return found


def render_reference() -> str:
    """Markdown with the `--help` of every command and sub-command."""
    root = typer.main.get_command(app)
    runner = CliRunner()
    parts = [
        "# `spm` command reference\n",
        "Generated from `spm --help` by `make docs`; a test fails when it is out of date.\n",
    ]
    for path in _commands(root, []):
        result = runner.invoke(
            app, [*path, "--help"], prog_name="spm", env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
        )
        title = " ".join(["spm", *path])
        parts.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_reference(), end="")  # noqa: T201
