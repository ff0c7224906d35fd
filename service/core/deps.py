"""Request dependencies every domain shares: settings, the request's unit of work and the
clock. Who is asking is the auth domain's (:mod:`service.auth.service`).

One request is one unit of work: :func:`get_db` opens the session and its transaction, and
commits it when the route function returns (or rolls it back when it raises) *before* the
response is sent (``scope="function"``), so a commit that fails is answered as an error, never
acknowledged. Stores and services only flush. GET and HEAD requests get a read-only session,
which on SpatiaLite takes no writer lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from .audit import CONTEXT_KEY, AuditContext
from .config import Settings

__all__ = ["NowDep", "ReadSessionDep", "SessionDep", "SettingsDep", "get_db", "get_now"]


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """The request's unit of work: commit after the route returns, roll back if it raises."""
    readonly = request.method in ("GET", "HEAD")
    state = request.app.state
    factory: sessionmaker[Session] = state.read_sessionmaker if readonly else state.sessionmaker
    with factory() as session:
        client = request.client
        session.info[CONTEXT_KEY] = AuditContext(address=client.host if client else None)
        if readonly:
            yield session  # nothing to commit; closing rolls the read transaction back
            return
        with session.begin():
            yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def get_read_db(request: Request, session: SessionDep) -> Iterator[Session]:
    """A read-only session beside the request's unit of work (the same one for GET).

    What a write request only reads (who is asking, the active layer, a plan's inputs) goes
    through it, so that on SpatiaLite the writer lock is taken at the first write, not at the
    first read, and a long computation between them (a plan's solve) holds no lock.
    """
    if request.method in ("GET", "HEAD"):
        yield session
        return
    factory: sessionmaker[Session] = request.app.state.read_sessionmaker
    with factory() as read:
        read.info[CONTEXT_KEY] = session.info.get(CONTEXT_KEY)
        yield read


ReadSessionDep = Annotated[Session, Depends(get_read_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_now(request: Request) -> datetime:
    """The time of this request (UTC); tests set ``app.state.clock`` to a fixed clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


NowDep = Annotated[datetime, Depends(get_now)]
