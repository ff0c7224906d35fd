"""Sign-in for API clients (OAuth2 password flow), who am I, the administrator's users, device
tokens and Open311 keys, and the audit log (JSON and CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import AwareDatetime

from ..core.deps import SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, error_response, errors
from ..core.schemas import RowId
from ..dispatch import service as dispatch_service
from . import people, store
from .roles import permissions_of
from .schemas import (
    ApiClientCreate,
    ApiClientCreated,
    ApiClientRead,
    AuditPage,
    DeviceTokenCreated,
    Me,
    PasswordSet,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserCreated,
    UserRead,
)
from .service import PUBLIC, Principal, issue_tokens, refresh, require, sign_in, sign_out

__all__ = ["audit_router", "router", "users_router"]

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
users_router = APIRouter(tags=["admin"], responses=ERROR_RESPONSES)
audit_router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)

_WRONG = {
    "field": None,
    "message": "Incorrect username or password.",
    "fix": "check both and retry; after repeated failures sign-in pauses for a while.",
}


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/token", response_model=TokenPair, dependencies=[PUBLIC], responses=errors(401, 429))
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    """Sign in (OAuth2 password flow): a short-lived access token and a refresh token.

    A wrong password and an unknown name get the same 401; too many failures for a name or
    from an address get 429 with ``Retry-After``.
    """
    signed_in = sign_in(
        session,
        settings,
        username=form.username,
        password=form.password,
        address=_address(request),
        kind="api",
    )
    if signed_in is None:
        # Answered, not raised: the failed attempt's audit row must be committed.
        return error_response(401, [_WRONG], headers={"WWW-Authenticate": "Bearer"})
    return issue_tokens(signed_in, settings, key=request.app.state.signing_key)


@router.post("/refresh", response_model=TokenPair, dependencies=[PUBLIC], responses=errors(401))
def refresh_token(
    body: RefreshRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """A new access token for a refresh token whose sign-in still holds."""
    signed_in = refresh(session, body.refresh_token, key=request.app.state.signing_key)
    return issue_tokens(signed_in, settings, key=request.app.state.signing_key, refresh=False)


@router.post(
    "/logout",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Signed out."}},
)
def logout(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("self:read"))],
) -> Response:
    """Sign out: this sign-in's access and refresh tokens stop working at once."""
    sign_out(session, principal)
    return Response(status_code=204)


@router.get("/me", response_model=Me)
def me(
    settings: SettingsDep, principal: Annotated[Principal, Depends(require("self:read"))]
) -> dict[str, Any]:
    """Who is signed in and what they may do."""
    return {
        "username": principal.name,
        "title": principal.title,
        "role": principal.role,
        "community": principal.community,
        "squad": principal.squad,
        "unit": principal.unit,
        "permissions": sorted(permissions_of(principal.role)),
        "demo": settings.demo or principal.demo,
    }


# -- users, devices and Open311 keys (the administrator) --------------------------------------

_Admin = Annotated[Principal, Depends(require("users:manage"))]


@users_router.get("/users", response_model=list[UserRead])
def list_users(session: SessionDep, _admin: _Admin) -> list[dict[str, Any]]:
    """Every user (never a password)."""
    return [people.user_view(u) for u in store.users(session)]


@users_router.post("/users", status_code=201, response_model=UserCreated, responses=errors(409))
def create_user(body: UserCreate, session: SessionDep, admin: _Admin) -> dict[str, Any]:
    """A new user; a generated one-time password is in the answer (shown once)."""
    user, generated = people.create_user(
        session,
        username=body.username,
        title=body.title,
        role=body.role,
        community=body.community,
        squad=body.squad,
        password=body.password,
        actor=admin.name,
    )
    return {**people.user_view(user), "password": generated}


@users_router.post("/users/{username}/disable", response_model=UserRead, responses=errors(404))
def disable_user(username: str, session: SessionDep, admin: _Admin) -> dict[str, Any]:
    """Disable a user: their tokens and page sessions stop working at once."""
    return people.user_view(people.disable_user(session, username, actor=admin.name))


@users_router.post("/users/{username}/password", response_model=UserCreated, responses=errors(404))
def set_password(
    username: str, body: PasswordSet, session: SessionDep, admin: _Admin
) -> dict[str, Any]:
    """A new password (generated when not given); the user's earlier tokens stop working."""
    user, generated = people.set_password(
        session, username, actor=admin.name, password=body.password
    )
    return {**people.user_view(user), "password": generated}


@users_router.post(
    "/units/{unit_id}/device-token",
    status_code=201,
    response_model=DeviceTokenCreated,
    responses=errors(404),
)
def issue_device_token(
    unit_id: str,
    session: SessionDep,
    admin: Annotated[Principal, Depends(require("devices:manage"))],
) -> dict[str, Any]:
    """A unit's device token (shown once): it may post that unit's positions and status only.
    The unit's earlier token stops working."""
    unit = dispatch_service.get_unit(session, unit_id)
    return {
        "unit_id": unit.code,
        "token": people.issue_device_token(session, unit.code, actor=admin.name),
    }


_KeyAdmin = Annotated[Principal, Depends(require("apikeys:manage"))]


@users_router.get("/api-keys", response_model=list[ApiClientRead])
def list_api_keys(session: SessionDep, _admin: _KeyAdmin) -> list[dict[str, Any]]:
    """Open311 clients (never their keys)."""
    return people.list_api_clients(session)


@users_router.post(
    "/api-keys", status_code=201, response_model=ApiClientCreated, responses=errors(409)
)
def create_api_key(body: ApiClientCreate, session: SessionDep, admin: _KeyAdmin) -> dict[str, Any]:
    """A new Open311 client; its ``api_key`` is shown once."""
    client, key = people.create_api_client(session, body.name, actor=admin.name)
    return {**people.client_view(client), "api_key": key}


@users_router.delete("/api-keys/{client_id}", response_model=ApiClientRead, responses=errors(404))
def revoke_api_key(
    client_id: RowId,
    session: SessionDep,
    admin: _KeyAdmin,
) -> dict[str, Any]:
    """Revoke an Open311 client's key."""
    return people.revoke_api_client(session, client_id, actor=admin.name)


# -- the audit log ----------------------------------------------------------------------------

_Auditor = Annotated[Principal, Depends(require("audit:read"))]


def _audit_rows(
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    entity: Annotated[str | None, Query(max_length=50, description="e.g. incident, user.")] = None,
    entity_id: Annotated[str | None, Query(max_length=50)] = None,
    action: Annotated[str | None, Query(max_length=50, description="e.g. assign, login.")] = None,
    since: Annotated[AwareDatetime | None, Query(description="at >= since.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="at < until.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> tuple[int, list[Any]]:
    total, rows = store.audit_rows(
        session,
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return total, list(rows)


_Rows = Annotated[tuple[int, list[Any]], Depends(_audit_rows)]


@audit_router.get("", response_model=AuditPage)
def audit(rows: _Rows, _auditor: _Auditor) -> dict[str, Any]:
    """Every write, sign-in, failed sign-in and refusal: who, when, from where, what, before
    and after. Filter by actor, entity (and id), action and time."""
    total, items = rows
    return {"total": total, "items": [people.audit_view(r) for r in items]}


@audit_router.get(".csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def audit_csv(rows: _Rows, _auditor: _Auditor) -> Response:
    """The same rows as CSV, for a spreadsheet."""
    _total, items = rows
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return Response(
        "\ufeff" + people.audit_csv(items),  # a BOM, so that Excel reads the Chinese as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="jiedao-audit-{stamp}.csv"'},
    )
