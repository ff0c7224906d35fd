"""Queries of the people tables and of the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..core.audit import AuditLog
from .models import ApiClient, AuthSession, DeviceToken, User

__all__ = [
    "active_api_client",
    "active_device",
    "audit_rows",
    "failed_logins",
    "user_by_name",
    "user_with_session",
    "users",
]


def user_by_name(session: Session, username: str) -> User | None:
    """The user of that name (case as stored), or None."""
    return session.scalar(select(User).where(User.username == username))


def users(session: Session, *, role: str | None = None) -> Sequence[User]:
    """Every user (of ``role``), by name."""
    query = select(User).order_by(User.username)
    if role is not None:
        query = query.where(User.role == role)
    return session.scalars(query).all()


def user_with_session(
    session: Session, user_id: int, session_id: str
) -> tuple[User, AuthSession] | None:
    """The user and the sign-in session a token names, in one query; None if either is gone."""
    row = session.execute(
        select(User, AuthSession)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(User.id == user_id, AuthSession.id == session_id)
    ).first()
    return None if row is None else (row[0], row[1])


def active_device(session: Session, token_hash: str) -> DeviceToken | None:
    """The unrevoked device token with that digest."""
    return session.scalar(
        select(DeviceToken).where(
            DeviceToken.token_hash == token_hash, DeviceToken.revoked_at.is_(None)
        )
    )


def active_api_client(session: Session, key_hash: str) -> ApiClient | None:
    """The unrevoked Open311 client with that key digest."""
    return session.scalar(
        select(ApiClient).where(ApiClient.key_hash == key_hash, ApiClient.revoked_at.is_(None))
    )


def failed_logins(
    session: Session, *, username: str, address: str | None, since: datetime
) -> tuple[int, int]:
    """Failed sign-ins since ``since``: (for this name, from this address)."""
    recent = select(AuditLog.entity_id, AuditLog.address).where(
        AuditLog.action == "login_failed", AuditLog.at >= since
    )
    if address is None:
        recent = recent.where(AuditLog.entity_id == username)
    else:
        recent = recent.where(or_(AuditLog.entity_id == username, AuditLog.address == address))
    sub = recent.subquery()
    by_user = func.count().filter(sub.c.entity_id == username)
    by_address = func.count().filter(sub.c.address == address)
    row = session.execute(select(by_user, by_address)).one()
    return int(row[0] or 0), int(row[1] or 0)


def audit_rows(
    session: Session,
    *,
    actor: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, Sequence[AuditLog]]:
    """Audit rows matching the filters, oldest first, with their total count."""
    where = []
    if actor is not None:
        where.append(AuditLog.actor == actor)
    if entity is not None:
        where.append(AuditLog.entity == entity)
    if entity_id is not None:
        where.append(AuditLog.entity_id == entity_id)
    if action is not None:
        where.append(AuditLog.action == action)
    if since is not None:
        where.append(AuditLog.at >= since)
    if until is not None:
        where.append(AuditLog.at < until)
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*where)) or 0
    query = select(AuditLog).where(*where).order_by(AuditLog.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return int(total), session.scalars(query).all()
