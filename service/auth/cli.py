"""``jiedao users``: the administrator's commands. The first admin is made here, never by a
default password; a generated password is printed once and never stored in clear."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from ..core.cli_support import DEFAULT_ACTOR, open_engine
from ..core.config import get_settings
from ..core.db import make_sessionmaker, unit_of_work
from ..core.errors import ServiceError
from . import people, store
from .roles import ROLE_TITLES, ROLES

__all__ = ["users_app"]

users_app = typer.Typer(
    help="Create, list and disable users and set their passwords.", no_args_is_help=True
)
_out = Console()
_err = Console(stderr=True)


@contextmanager
def _session() -> Iterator[Session]:
    engine = open_engine(get_settings())
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    except ServiceError as exc:
        _err.print(f"[bold red]error:[/] {exc.message}\n[bold]fix:[/] {exc.fix}")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()


def _password_from_stdin(wanted: bool) -> str | None:
    if not wanted:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        _err.print("[bold red]error:[/] the password is shorter than 10 characters.")
        raise typer.Exit(code=1)
    return password


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (default: generate one and print it).",
    ),
]


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Sign-in name: lower case, digits, . _ -")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    title: Annotated[
        str | None, typer.Option(help="A role title (no personal names); default: the role's.")
    ] = None,
    community: Annotated[
        str | None, typer.Option(help="Community code (information officers).")
    ] = None,
    squad: Annotated[str | None, typer.Option(help="Squad code (squad leaders).")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user; prints the one-time password when it was generated."""
    password = _password_from_stdin(password_stdin)
    with _session() as session:
        user, generated = people.create_user(
            session,
            username=username,
            title=title or ROLE_TITLES.get(role, role),
            role=role,
            community=community,
            squad=squad,
            password=password,
            actor=DEFAULT_ACTOR,
        )
        name, shown_role = user.username, user.role
    _out.print(f"Created {name} ({shown_role}).")
    if generated:
        _out.print(f"One-time password (shown once): [bold]{generated}[/]")


@users_app.command("list")
def list_users() -> None:
    """List the users (never a password)."""
    with _session() as session:
        table = Table("username", "role", "title", "community", "squad", "active", "demo")
        for u in store.users(session):
            table.add_row(
                u.username,
                u.role,
                u.title,
                u.community or "",
                u.squad or "",
                "yes" if u.active else "no",
                "demo" if u.demo else "",
            )
    _out.print(table if table.row_count else "No users yet: jiedao users create NAME --role admin")


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The user to disable.")]) -> None:
    """Disable a user: their tokens and page sessions stop working at once."""
    with _session() as session:
        people.disable_user(session, username, actor=DEFAULT_ACTOR)
    _out.print(f"Disabled {username}; their sign-ins are revoked.")


@users_app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="The user.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (generated and printed unless read from stdin); earlier sign-ins
    are revoked."""
    password = _password_from_stdin(password_stdin)
    with _session() as session:
        _user, generated = people.set_password(
            session, username, actor=DEFAULT_ACTOR, password=password
        )
    _out.print(f"New password set for {username}; earlier sign-ins are revoked.")
    if generated:
        _out.print(f"One-time password (shown once): [bold]{generated}[/]")
