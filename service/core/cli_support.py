"""What every ``jiedao`` command shares: its consoles, how it fails, who it writes as, and the
engine it opens (named on stderr, migrated)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from .config import Settings
from .db import make_engine, migrate

__all__ = ["DEFAULT_ACTOR", "ActorOption", "console", "default_actor", "err", "fail", "open_engine"]

console = Console()
err = Console(stderr=True)

ActorOption = Annotated[str, typer.Option(help="Who makes this write (recorded in the audit).")]


def default_actor() -> str:
    """``cli:<login>``, or ``cli`` where there is no login name."""
    # getpass fails in containers with neither USER nor a passwd entry; the CLI must not.
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


DEFAULT_ACTOR = default_actor()


def open_engine(settings: Settings, *, upgrade: bool = True) -> Engine:
    """The configured database's engine, named on stderr and (unless told not to) migrated."""
    # Say which database: a command run from another folder or with other settings must not
    # quietly work on another (empty) one.
    # soft_wrap: a path split over two lines cannot be copied.
    err.print(f"database: {settings.database_label}", highlight=False, soft_wrap=True)
    engine = make_engine(settings.database_url, spatialite_library=settings.spatialite_library)
    if upgrade:
        migrate(engine)
    return engine


def fail(message: str, fix: str | None = None) -> typer.Exit:
    """Print the error and its fix; the caller raises the returned exit (code 1)."""
    err.print(f"[bold red]error:[/] {message}")
    if fix:
        err.print(f"[bold]fix:[/] {fix}")
    return typer.Exit(code=1)
