"""`spm user`: accounts, roles, passwords and API tokens."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table

from openspm.access.roles import Role, parse_roles
from openspm.domain.errors import OpenSPMError
from openspm.services import users

app = typer.Typer(help="Users who sign in to the web app and the API.", no_args_is_help=True)
console = Console()


def _password(given: str | None, prompt: str) -> str:
    if given:
        return given
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("again: ") != first:
        typer.echo("error: the passwords differ", err=True)
        raise typer.Exit(1)
    return first


@app.command("add")
def add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Sign-in name (e.g. an e-mail address)."),
    role: list[str] = typer.Option(..., "--role", "-r", help=f"Role, repeatable: {', '.join(Role)}."),
    person: str | None = typer.Option(None, help="person_id this user is (reps and managers need one)."),
    name: str | None = typer.Option(None, help="Display name."),
    password: str | None = typer.Option(None, help="Initial password (prompted when omitted)."),
    actor: str = typer.Option("cli", help="Who is making the change (audit log)."),
) -> None:
    """Add a user with one or more roles."""
    try:
        roles = parse_roles(role)
        secret = _password(password, "password")
        with ctx.obj.engine.begin() as conn:
            users.create_user(
                conn,
                username=username,
                password=secret,
                roles=roles,
                actor=actor,
                display_name=name,
                person_id=person,
            )
    except (OpenSPMError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"user {username} added with roles {', '.join(sorted(roles))}")


@app.command("roles")
def roles(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    role: list[str] = typer.Option(..., "--role", "-r", help="The user's roles from now on (repeatable)."),
    actor: str = typer.Option("cli", help="Who is making the change (audit log)."),
) -> None:
    """Replace a user's roles."""
    try:
        with ctx.obj.engine.begin() as conn:
            users.set_roles(conn, username, parse_roles(role), actor=actor)
    except (OpenSPMError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{username}: {', '.join(sorted(role))}")


@app.command("passwd")
def passwd(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    password: str | None = typer.Option(None, help="New password (prompted when omitted)."),
    actor: str = typer.Option("cli", help="Who is making the change (audit log)."),
) -> None:
    """Set a user's password (ends their browser sessions)."""
    try:
        secret = _password(password, "new password")
        with ctx.obj.engine.begin() as conn:
            users.set_password(conn, username, secret, actor=actor)
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"password of {username} changed")


@app.command("token")
def token(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    name: str = typer.Option("cli", help="What the token is for."),
) -> None:
    """Create an API token for a user and print it (it is shown only this once)."""
    try:
        with ctx.obj.engine.begin() as conn:
            principal = users.principal_for(conn, users.user_id_of(conn, username))
            _, secret = users.create_token(conn, principal, name)
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(secret)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List users and their roles."""
    table = Table("user", "name", "person", "roles", "active")
    with ctx.obj.engine.connect() as conn:
        for username, display, person, user_roles, active in users.list_users(conn):
            table.add_row(username, display, person or "", ", ".join(user_roles), "yes" if active else "no")
    console.print(table)
