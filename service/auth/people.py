"""The administrator's work: users, units' device tokens, Open311 keys, the demo users; and
the audit log read back (filters and CSV).

Every change is audited with its before and after values; no password, token or key is
ever in them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..core.audit import AuditLog, record
from ..core.errors import ConflictError, InvalidInputError, NotFoundError
from . import store, tokens
from .models import ApiClient, AuthSession, DeviceToken, User
from .roles import COMMUNITY_ROLES, ROLE_TITLES, ROLES, SQUAD_ROLES

__all__ = [
    "AUDIT_COLUMNS",
    "DemoUser",
    "audit_csv",
    "client_view",
    "create_api_client",
    "create_user",
    "demo_users",
    "disable_user",
    "ensure_demo_users",
    "get_user",
    "issue_device_token",
    "list_api_clients",
    "revoke_api_client",
    "set_password",
    "user_view",
]


def user_view(user: User) -> dict[str, Any]:
    """A user's public fields (what the audit and the API show)."""
    return {
        "id": user.id,
        "username": user.username,
        "title": user.title,
        "role": user.role,
        "community": user.community,
        "squad": user.squad,
        "active": user.active,
        "demo": user.demo,
        "created_at": user.created_at,
    }


def _audit_view(user: User) -> dict[str, Any]:
    view = user_view(user)
    view.pop("created_at")
    return view


def get_user(session: Session, username: str) -> User:
    """The user of that name; 404 naming it otherwise."""
    user = store.user_by_name(session, username.strip().lower())
    if user is None:
        raise NotFoundError(
            "username", f"No user {username!r}.", "list them with jiedao users list."
        )
    return user


def create_user(
    session: Session,
    *,
    username: str,
    title: str,
    role: str,
    actor: str,
    community: str | None = None,
    squad: str | None = None,
    password: str | None = None,
    demo: bool = False,
) -> tuple[User, str | None]:
    """A new user; returns it and the generated one-time password (None if one was given)."""
    username = username.strip().lower()
    if role not in ROLES:
        raise InvalidInputError(
            "role", f"Unknown role {role!r}.", f"use one of {', '.join(ROLES)}."
        )
    if role in COMMUNITY_ROLES and not community:
        raise InvalidInputError(
            "community", f"A {role} needs a community.", "give the community's code."
        )
    if role in SQUAD_ROLES and not squad:
        raise InvalidInputError("squad", f"A {role} needs a squad.", "give the squad's code.")
    if store.user_by_name(session, username) is not None:
        raise ConflictError(
            "username", f"User {username!r} exists.", "choose another name, or set-password."
        )
    generated = None
    if password is None:
        generated = password = tokens.new_password()
    user = User(
        username=username,
        title=title,
        role=role,
        community=community if role in COMMUNITY_ROLES else None,
        squad=squad if role in SQUAD_ROLES else None,
        active=True,
        demo=demo,
        password_hash=tokens.hash_password(password),
        token_version=0,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="create",
        entity="user",
        entity_id=user.username,
        after=_audit_view(user),
    )
    return user, generated


def _revoke_sessions(session: Session, user: User) -> None:
    user.token_version += 1
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def disable_user(session: Session, username: str, *, actor: str) -> User:
    """Disable a user: every token and page session of theirs stops working at once."""
    user = get_user(session, username)
    before = _audit_view(user)
    user.active = False
    _revoke_sessions(session, user)
    session.flush()
    record(
        session,
        actor=actor,
        action="disable",
        entity="user",
        entity_id=user.username,
        before=before,
        after=_audit_view(user),
    )
    return user


def set_password(
    session: Session, username: str, *, actor: str, password: str | None = None
) -> tuple[User, str | None]:
    """A new password (generated when not given); earlier tokens stop working at once."""
    user = get_user(session, username)
    generated = None
    if password is None:
        generated = password = tokens.new_password()
    user.password_hash = tokens.hash_password(password)
    _revoke_sessions(session, user)
    session.flush()
    record(
        session,
        actor=actor,
        action="set_password",
        entity="user",
        entity_id=user.username,
        detail={"generated": generated is not None},
    )
    return user, generated


# -- device tokens and Open311 clients ------------------------------------------------------


def issue_device_token(session: Session, unit_code: str, *, actor: str) -> str:
    """A new device token for a unit; its earlier ones stop working. Shown once."""
    now = datetime.now(UTC)
    revoked = session.execute(
        update(DeviceToken)
        .where(DeviceToken.unit_code == unit_code, DeviceToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    token = tokens.new_device_token()
    session.add(
        DeviceToken(
            unit_code=unit_code, token_hash=tokens.digest(token), created_at=now, created_by=actor
        )
    )
    record(
        session,
        actor=actor,
        action="issue_device_token",
        entity="unit",
        entity_id=unit_code,
        detail={"revoked_earlier": int(revoked or 0)},
    )
    session.flush()
    return token


def client_view(client: ApiClient) -> dict[str, Any]:
    """An Open311 client's public fields (never its key)."""
    return {
        "id": client.id,
        "name": client.name,
        "created_at": client.created_at,
        "created_by": client.created_by,
        "active": client.revoked_at is None,
    }


def create_api_client(session: Session, name: str, *, actor: str) -> tuple[ApiClient, str]:
    """A new Open311 client and its key (shown once)."""
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise ConflictError("name", f"Client {name!r} exists.", "choose another name.")
    key = tokens.new_open311_key()
    client = ApiClient(
        name=name, key_hash=tokens.digest(key), created_at=datetime.now(UTC), created_by=actor
    )
    session.add(client)
    session.flush()
    view = client_view(client)
    record(
        session,
        actor=actor,
        action="create",
        entity="api_client",
        entity_id=name,
        after={**view, "created_at": view["created_at"].isoformat()},
    )
    return client, key


def list_api_clients(session: Session) -> list[dict[str, Any]]:
    """Every Open311 client (never a key)."""
    return [client_view(c) for c in session.scalars(select(ApiClient).order_by(ApiClient.id))]


def revoke_api_client(session: Session, client_id: int, *, actor: str) -> dict[str, Any]:
    """Revoke an Open311 client's key."""
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFoundError("client_id", f"No Open311 client {client_id}.", "see GET /api-keys.")
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
        record(
            session,
            actor=actor,
            action="revoke",
            entity="api_client",
            entity_id=client.name,
            before={"active": True},
            after={"active": False},
        )
        session.flush()
    return client_view(client)


# -- demo users -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """One demo user: a role and its scope."""

    username: str
    role: str
    community: str | None = None
    squad: str | None = None


def demo_users(*, community: str, squad: str, communities: Sequence[str] = ()) -> list[DemoUser]:
    """One demo user per role, scoped to ``community`` and ``squad`` where the role needs it;
    and an officer and a group head for each of the other ``communities`` (``demo-info-003``,
    ``demo-head-003``: the code's last digits), who filed the demo month's daily reports."""
    groups = [
        DemoUser(f"demo-{kind}-{code[-3:]}", role, community=code)
        for code in communities
        if code != community
        for kind, role in (("info", "info_officer"), ("head", "group_head"))
    ]
    return [
        DemoUser("demo-info", "info_officer", community=community),
        DemoUser("demo-head", "group_head", community=community),
        *groups,
        DemoUser("demo-squad", "squad_leader", squad=squad),
        DemoUser("demo-dispatch", "dispatcher"),
        DemoUser("demo-case", "case_team"),
        DemoUser("demo-case2", "case_team"),
        DemoUser("demo-backup", "backup_team"),
        DemoUser("demo-leader", "leader"),
        DemoUser("demo-admin", "admin"),
    ]


def ensure_demo_users(
    session: Session, wanted: Iterable[DemoUser], *, actor: str
) -> list[tuple[User, str]]:
    """Create the demo users, or give the existing ones a new one-time password.

    Returns each user with its password (printed once at start; never stored in clear).
    """
    out = []
    for demo in wanted:
        existing = store.user_by_name(session, demo.username)
        if existing is None:
            user, password = create_user(
                session,
                username=demo.username,
                title=f"{ROLE_TITLES[demo.role]} (演示 demo)",
                role=demo.role,
                community=demo.community,
                squad=demo.squad,
                actor=actor,
                demo=True,
            )
        else:
            existing.active = True
            user, password = set_password(session, demo.username, actor=actor)
        assert password is not None  # generated, as none was given
        out.append((user, password))
    return out


def enabled_demo_users(session: Session) -> Sequence[User]:
    """Demo users still enabled (outside demo mode, the service refuses to start with any)."""
    return session.scalars(
        select(User).where(User.demo.is_(True), User.active.is_(True)).order_by(User.username)
    ).all()


# -- the audit read back --------------------------------------------------------------------

AUDIT_COLUMNS: Final = (
    "id",
    "at",
    "actor",
    "role",
    "address",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "detail",
)


def audit_view(row: AuditLog) -> dict[str, Any]:
    """One audit row as the API shows it."""
    return {name: getattr(row, name) for name in AUDIT_COLUMNS}


def audit_csv(rows: Sequence[AuditLog]) -> str:
    """Audit rows as CSV (JSON values as JSON text), for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        values = []
        for name in AUDIT_COLUMNS:
            value = getattr(row, name)
            if isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
            elif isinstance(value, datetime):
                value = value.isoformat()
            values.append("" if value is None else value)
        writer.writerow(values)
    return out.getvalue()
