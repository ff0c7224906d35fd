"""Request and response bodies of sign-in, users, device tokens, Open311 keys and the audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from ..core.schemas import Input
from .roles import COMMUNITY_ROLES, SQUAD_ROLES, Role

__all__ = [
    "ApiClientCreate",
    "ApiClientCreated",
    "ApiClientRead",
    "AuditPage",
    "AuditRead",
    "DeviceTokenCreated",
    "Me",
    "PasswordSet",
    "RefreshRequest",
    "TokenPair",
    "UserCreate",
    "UserCreated",
    "UserRead",
]

Username = Field(min_length=2, max_length=60, pattern=r"^[a-z0-9][a-z0-9._-]*$")


def _password() -> Any:
    return Field(
        None, min_length=10, max_length=200, description="Default: a generated one, shown once."
    )


class TokenPair(BaseModel):
    """What ``POST /auth/token`` answers (OAuth2 password flow)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str | None = Field(
        None, description="Exchange at POST /auth/refresh for a new access token."
    )


class RefreshRequest(Input):
    """A refresh token to exchange."""

    refresh_token: str = Field(min_length=10, max_length=2000)


class Me(BaseModel):
    """Who is signed in, and what they may do."""

    username: str
    title: str
    role: str
    community: str | None
    squad: str | None
    unit: str | None = None
    permissions: list[str]
    demo: bool


class UserCreate(Input):
    """A new user; the password is generated when not given (and shown once)."""

    username: str = Username
    title: str = Field(min_length=1, max_length=100, description="A role title, not a name.")
    role: Role
    community: str | None = Field(None, max_length=20, description="For information officers.")
    squad: str | None = Field(None, max_length=20, description="For squad leaders.")
    password: str | None = _password()

    @model_validator(mode="after")
    def _scope(self) -> UserCreate:
        if self.role in COMMUNITY_ROLES and not self.community:
            raise ValueError(f"community: a {self.role} needs the code of their community")
        if self.role in SQUAD_ROLES and not self.squad:
            raise ValueError(f"squad: a {self.role} needs their squad's code")
        return self


class UserRead(BaseModel):
    """A user (never the password or its hash)."""

    id: int
    username: str
    title: str
    role: str
    community: str | None
    squad: str | None
    active: bool
    demo: bool
    created_at: datetime


class UserCreated(UserRead):
    """A user just made, with the one-time password when it was generated."""

    password: str | None = Field(None, description="Shown once; give it to the person.")


class PasswordSet(Input):
    """A new password (a generated one when not given)."""

    password: str | None = _password()


class DeviceTokenCreated(BaseModel):
    """A unit's new device token: shown once, the earlier one stops working."""

    unit_id: str
    token: str


class ApiClientCreate(Input):
    """A new Open311 client."""

    name: str = Field(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ApiClientRead(BaseModel):
    """An Open311 client (never its key)."""

    id: int
    name: str
    created_at: datetime
    created_by: str
    active: bool


class ApiClientCreated(ApiClientRead):
    """A client just made: its key is shown once."""

    api_key: str


class AuditRead(BaseModel):
    """One audit row."""

    id: int
    at: datetime
    actor: str
    role: str | None
    address: str | None
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """Audit rows matching the filters, oldest first."""

    total: int
    items: list[AuditRead]
