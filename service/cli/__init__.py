"""The ``jiedao`` command line: serve, the demo month, backup and restore, point resolution, hot
spots, shift plans, layer versions and users.

Thin on purpose: each command parses its options, calls the service or the spatial core, and
prints. Long steps show a progress bar. The CLI is a composition root, like ``service.app``.
"""

from __future__ import annotations

import typer

from service.auth.cli import users_app
from service.cli.analysis import hotspots, resolve
from service.cli.database import backup, demo, restore
from service.cli.plan import plan
from service.cli.serve import listening_socket, serve
from service.layers.cli import layers_app

__all__ = ["app", "listening_socket"]

app = typer.Typer(
    help="jiedao: GIS dispatch for the sub-district law-enforcement team.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(layers_app, name="layers")
app.add_typer(users_app, name="users")
for command in (serve, demo, resolve, hotspots, plan, backup, restore):
    app.command()(command)
