"""``jiedao serve``: migrate and import the layers once, then run the web service (one or
several workers)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from service import tables as tables
from service.auth import people as auth_people
from service.cli.common import ensure_layer
from service.core.cli_support import console, fail, open_engine
from service.core.config import Settings, get_settings
from service.core.db import make_sessionmaker, unit_of_work
from service.layers import service as layers_service


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=32, help=("Worker processes (one per core serves a busy dispatch room).")
        ),
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            help="Demo mode: make one demo user per role with one-time passwords, printed "
            "here; every page says DEMO. Never for real cases."
        ),
    ] = False,
) -> None:
    """Run the web service: map at /, console at /console, API docs at /docs."""
    import os

    import uvicorn

    if demo:
        os.environ["JIEDAO_DEMO"] = "true"  # the workers read their settings from it
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    # Migrate and import the layers once, here: several workers starting on a fresh database
    # would otherwise race to create the same tables.
    with unit_of_work(make_sessionmaker(open_engine(settings))) as session:
        ensure_layer(session, settings, actor="system:startup")
        enabled = [u.username for u in auth_people.enabled_demo_users(session)]
        if settings.demo:
            _print_demo_users(session, settings)
        elif enabled:
            raise fail(
                f"demo users are enabled ({', '.join(enabled)}) and this is not demo mode.",
                "disable each (jiedao users disable NAME) before serving real cases, or "
                "serve the demo with --demo.",
            )
    console.print(f"jiedao on [bold]http://{host}:{port}/[/] (API docs at /docs)")
    if reload or workers == 1:
        uvicorn.run("service.app:create_app", factory=True, host=host, port=port, reload=reload)
        return
    _serve_workers(
        uvicorn.Config(
            "service.app:create_app", factory=True, host=host, port=port, workers=workers
        )
    )


def _print_demo_users(session: Session, settings: Settings) -> None:
    """Make (or reset) the demo users and print their one-time passwords."""
    active = layers_service.JurisdictionCache(settings.resolve_params()).get(session)
    first = active.pack.communities.iloc[0]
    made = auth_people.ensure_demo_users(
        session,
        auth_people.demo_users(
            community=str(first["code"]),
            squad=str(first["squad"]),
            communities=[str(c) for c in active.pack.communities["code"]],
        ),
        actor="system:demo",
    )
    communities = active.pack.communities
    names = dict(zip(communities["code"], communities["name_zh"], strict=True))
    table = Table("username", "one-time password", "role", "scope", title="演示账号 Demo users")
    for user, password in made:
        scope = f"{names.get(user.community, '')} {user.community}" if user.community else ""
        table.add_row(user.username, password, user.role, scope or user.squad or "")
    console.print(table)
    console.print(
        "[bold yellow]DEMO MODE[/]: these passwords change at every start; sign in at /login."
    )


def _serve_workers(config: Any) -> None:
    """Uvicorn's multi-worker run, on a listening socket from :func:`listening_socket`."""
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[listening_socket(config)]).run()


def listening_socket(config: Any) -> Any:
    """The socket uvicorn binds for its workers, with TCP_NODELAY set.

    uvicorn binds it with protocol 0, so asyncio does not set TCP_NODELAY on the connections it
    accepts, and every keep-alive response (headers and body written apart) waited ~40 ms for
    the client's delayed ACK. Linux copies the option from the listener to accepted sockets.
    """
    import socket

    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
