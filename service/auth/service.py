"""Who is asking, and may they: principals, the permission rule every route declares, the
scope of community and squad roles, and sign-in with its throttle.

A request carries one of three credentials:

- ``Authorization: Bearer <access token>`` from ``POST /auth/token`` (API clients);
- the ``jiedao_session`` cookie from the login page (the pages and their fetches); a write
  with it must also send the page's CSRF token (``X-CSRF-Token``) and, when the browser says
  where it comes from (``Origin``), come from this site;
- ``Authorization: Bearer jdd_...``, a unit's device token (that unit's positions and status).

Every token names its sign-in session and the user's token version; both are checked on every
request, so logout, disabling a user and a new password take effect at once.

Each route declares its rule beside it: ``Depends(require("incidents:assign"))`` (which also
gives the route the principal) or ``dependencies=[PUBLIC]``. :func:`rule_of` reads the rule
back, for the route-table test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from ..core.audit import audit_as, record
from ..core.config import Settings
from ..core.deps import ReadSessionDep, SessionDep
from ..core.errors import (
    NotSignedInError,
    PermissionDeniedError,
    TooManyRequestsError,
)
from . import store, tokens
from .models import ApiClient, AuthSession, User
from .roles import (
    COMMUNITY_ROLES,
    DEVICE,
    PERMISSIONS,
    ROLE_TITLES,
    STEP_PERMISSIONS,
    permissions_of,
)

__all__ = [
    "COOKIE_NAME",
    "CSRF_HEADER",
    "PUBLIC",
    "STEP_PERMISSIONS",
    "ApiClient",
    "Person",
    "Principal",
    "allow",
    "authorize",
    "can_read_reporter",
    "cookie_token",
    "csrf_of",
    "csrf_ok",
    "demo_principal",
    "enabled_people",
    "ensure_community",
    "ensure_squad",
    "ensure_unit",
    "incident_scope",
    "issue_tokens",
    "open311_client",
    "page_principal",
    "permissions_of",
    "require",
    "require_step",
    "rule_of",
    "same_origin",
    "sign_in",
    "sign_out",
    "visible_incident",
]

COOKIE_NAME: Final = "jiedao_session"
CSRF_HEADER: Final = "X-CSRF-Token"
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SIGN_IN_FIX: Final = "sign in (POST /auth/token, or the login page at /login) and retry."

# For the OpenAPI document (the "Authorize" button of /docs); the checks are below.
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
_cookie = APIKeyCookie(name=COOKIE_NAME, auto_error=False, description="The page session.")


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a signed-in person, or a unit's device."""

    name: str  # the username, or device:<unit>; what the audit and the timeline record
    role: str
    title: str
    community: str | None = None
    squad: str | None = None
    unit: str | None = None  # a device's unit
    user_id: int | None = None
    session_id: str | None = None
    via: str = "bearer"  # bearer, cookie or device
    demo: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        """Whether the role allows ``permission``."""
        return permission in self.permissions


# -- credentials ----------------------------------------------------------------------------


def _signing_key(request: Request) -> str:
    key: str = request.app.state.signing_key
    return key


def _principal_of(user: User, auth: AuthSession, *, via: str) -> Principal:
    return Principal(
        name=user.username,
        role=user.role,
        title=user.title,
        community=user.community,
        squad=user.squad,
        user_id=user.id,
        session_id=auth.id,
        via=via,
        demo=user.demo,
        permissions=permissions_of(user.role),
    )


def demo_principal(name: str, role: str, *, community: str | None = None) -> Principal:
    """The demo user ``name`` acting offline (``jiedao demo`` replaying the month's work): the
    role's permissions and scope, as if signed in."""
    return Principal(
        name=name,
        role=role,
        title=ROLE_TITLES.get(role, role),
        community=community,
        via="demo",
        demo=True,
        permissions=permissions_of(role),
    )


def _holding(
    session: Session, token: str, *, key: str, kinds: tuple[tokens.TokenKind, ...]
) -> tuple[User, AuthSession] | None:
    """The user and sign-in of a token that still holds: signed, unexpired, its sign-in not
    revoked, its user active and on the token's version; None otherwise."""
    claims = tokens.decode(token, key=key, kinds=kinds)
    found = store.user_with_session(session, claims.user_id, claims.session_id) if claims else None
    if claims is None or found is None:
        return None
    user, auth = found
    if (
        not user.active
        or user.token_version != claims.token_version
        or auth.revoked_at is not None
        or auth.expires_at <= datetime.now(UTC)
    ):
        return None
    return user, auth


def _from_token(session: Session, token: str, *, key: str, via: str) -> Principal | None:
    kinds: tuple[tokens.TokenKind, ...] = ("cookie",) if via == "cookie" else ("access",)
    found = _holding(session, token, key=key, kinds=kinds)
    return None if found is None else _principal_of(*found, via=via)


def _from_device(session: Session, token: str) -> Principal | None:
    device = store.active_device(session, tokens.digest(token))
    if device is None:
        return None
    return Principal(
        name=f"device:{device.unit_code}",
        role=DEVICE,
        title=ROLE_TITLES[DEVICE],
        unit=device.unit_code,
        via="device",
        permissions=permissions_of(DEVICE),
    )


def same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from this site (or says nothing)."""
    origin = request.headers.get("origin")
    if origin is None:
        # Browsers send Origin with every cross-site POST; without it, Fetch metadata decides.
        return request.headers.get("sec-fetch-site") in (None, "same-origin", "none")
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_ok(request: Request, principal: Principal, sent: str | None) -> bool:
    """Whether a page's write comes from this site with its session's CSRF token (sent in
    the header, or in a form field)."""
    expected = csrf_of(principal, key=_signing_key(request))
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    given = (sent or "").encode("utf-8", "replace")
    return same_origin(request) and secrets.compare_digest(given, expected.encode())


def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method not in _UNSAFE or principal.via != "cookie":
        return
    if not csrf_ok(request, principal, request.headers.get(CSRF_HEADER)):
        raise PermissionDeniedError(
            CSRF_HEADER,
            "A write from a page must come from this site and carry the page's CSRF token.",
            "reload the page and retry; a form on another site cannot write here.",
            permission="csrf",
        )


def authenticate(request: Request, session: Session, *, check_csrf: bool = True) -> Principal:
    """The principal of the request's credentials; 401 when there are none that hold.

    ``check_csrf=False`` is for a route that checks the CSRF token itself (a form field).
    """
    key = _signing_key(request)
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    principal: Principal | None = None
    if scheme.lower() == "bearer" and credential.strip():
        credential = credential.strip()
        if credential.startswith(tokens.DEVICE_PREFIX):
            principal = _from_device(session, credential)
        else:
            principal = _from_token(session, credential, key=key, via="bearer")
    elif cookie := request.cookies.get(COOKIE_NAME):
        principal = _from_token(session, cookie, key=key, via="cookie")
    if principal is None:
        raise NotSignedInError(
            "Authorization",
            "Not signed in, or the sign-in has expired or been revoked.",
            _SIGN_IN_FIX,
        )
    request.state.principal = principal  # so that a refusal is audited under this name
    if check_csrf:
        _check_csrf(request, principal)
    audit_as(session, principal.role)
    return principal


def authorize(principal: Principal, permission: str, *, what: str | None = None) -> None:
    """Refuse (403) unless the principal's role allows ``permission``."""
    if not principal.can(permission):
        raise PermissionDeniedError(
            None,
            f"{ROLE_TITLES.get(principal.role, principal.role)} may not "
            + (what or f"do this ({permission}: {PERMISSIONS.get(permission, '')})")
            + ".",
            "sign in as a role that may (see the permission table in the README), or ask "
            "the administrator.",
            permission=permission,
        )


# -- the rules routes declare ---------------------------------------------------------------

_RULE: Final = "__jiedao_rule__"


def require(permission: str) -> Callable[..., Principal]:
    """The dependency of a route that needs ``permission``: it returns the principal.

    Use as ``principal: Annotated[Principal, Depends(require("incidents:assign"))]``.
    """

    def dependency(
        request: Request,
        session: ReadSessionDep,
        _token: Annotated[str | None, Depends(_bearer)] = None,
        _session_cookie: Annotated[str | None, Depends(_cookie)] = None,
    ) -> Principal:
        principal = authenticate(request, session)
        authorize(principal, permission)
        return principal

    setattr(dependency, _RULE, permission)
    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


def allow(permission: str) -> Any:
    """``dependencies=[allow("reference:read")]``: the rule of a route that does not need the
    principal itself."""
    return Depends(require(permission))


def _public() -> None:
    """No credentials needed (sign-in, the Open311 reads, the health check, the login page)."""


setattr(_public, _RULE, "public")
PUBLIC: Final = Depends(_public)


def rule_of(call: Callable[..., Any]) -> str | None:
    """The rule a dependency declares (a permission, ``public`` or ``open311:key``), or None."""
    rule = getattr(call, _RULE, None)
    return rule if isinstance(rule, str) else None


def require_step(principal: Principal, step: str) -> None:
    """Refuse a case step the role may not record (each step needs its own permission)."""
    permission = STEP_PERMISSIONS.get(step)
    if permission is not None:
        authorize(principal, permission, what=f"record the step {step!r}")


# -- scope: community and squad ---------------------------------------------------------------


@dataclass(frozen=True)
class IncidentScope:
    """What part of the incidents a principal may see: None means no limit."""

    community: str | None = None
    squad: str | None = None


def incident_scope(principal: Principal) -> IncidentScope:
    """The incidents a principal may read: an officer's community, a leader's squad, or all."""
    if principal.role in COMMUNITY_ROLES:
        return IncidentScope(community=principal.community or "-")
    if principal.role == "squad_leader":
        return IncidentScope(squad=principal.squad or "-")
    return IncidentScope()


def visible_incident(
    principal: Principal, *, community: str, squad: str, community_squad: str
) -> bool:
    """Whether an incident (by its community and squads) is within the principal's scope."""
    scope = incident_scope(principal)
    if scope.community is not None and community != scope.community:
        return False
    return scope.squad is None or scope.squad in (squad, community_squad)


def ensure_community(principal: Principal, community: str) -> None:
    """403 unless a community-bound principal acts within ``community``."""
    if principal.role in COMMUNITY_ROLES and community != principal.community:
        raise PermissionDeniedError(
            "location",
            f"The point is in community {community}; an information officer files incidents "
            f"of their own community ({principal.community}) only.",
            "check the location, or ask the dispatcher to file it.",
            permission="scope:community",
        )


def ensure_squad(principal: Principal, squad: str, *, field: str = "squad") -> None:
    """403 unless a squad-bound principal acts within ``squad``."""
    if principal.role == "squad_leader" and squad != principal.squad:
        raise PermissionDeniedError(
            field,
            f"A squad leader acts for their own squad ({principal.squad}) only, not {squad}.",
            f"use squad {principal.squad}, or ask that squad's leader.",
            permission="scope:squad",
        )


def ensure_unit(principal: Principal, unit_code: str, *, squad: str) -> None:
    """403 unless a device acts for its own unit (and a squad leader for their squad's)."""
    if principal.role == DEVICE and unit_code != principal.unit:
        raise PermissionDeniedError(
            "unit_id",
            f"This device belongs to unit {principal.unit}, not {unit_code}.",
            "post from the unit's own device.",
            permission="scope:unit",
        )
    ensure_squad(principal, squad, field="unit_id")


@dataclass(frozen=True)
class Person:
    """An enabled user as other domains see one: name, role and scope."""

    username: str
    role: str
    title: str
    community: str | None
    squad: str | None


def enabled_people(session: Session) -> list[Person]:
    """Every enabled user, by name (who holds the posts of the organisation)."""
    return [
        Person(u.username, u.role, u.title, u.community, u.squad)
        for u in store.users(session)
        if u.active
    ]


def can_read_reporter(principal: Principal) -> bool:
    """Whether the principal may see who reported (the roles that act on reports)."""
    return principal.can("reporter:read")


# -- sign-in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """A sign-in that succeeded: the user and the session its tokens name."""

    user: User
    auth: AuthSession


def _throttle(
    session: Session, settings: Settings, *, username: str, address: str | None, now: datetime
) -> None:
    since = now - timedelta(seconds=settings.login_window_s)
    by_user, by_address = store.failed_logins(
        session, username=username, address=address, since=since
    )
    if by_user >= settings.login_failures_per_user or (
        address is not None and by_address >= settings.login_failures_per_address
    ):
        raise TooManyRequestsError(
            None,
            "Too many failed sign-ins; sign-in is paused for a while.",
            f"wait {settings.login_window_s // 60} minutes, or ask the administrator.",
            retry_after_s=settings.login_window_s,
        )


def sign_in(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    address: str | None,
    kind: str,
) -> SignIn | None:
    """Check a name and password: a new sign-in session, or None (audited either way).

    The answer for a wrong password and for an unknown name is the same, and so is its
    cost. Too many failures for the name or from the address in the window: 429, even with
    the right password.
    """
    now = datetime.now(UTC)
    username = username.strip().lower()
    _throttle(session, settings, username=username, address=address, now=now)
    user = store.user_by_name(session, username)
    ok = tokens.verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        record(
            session,
            actor=username or "?",
            action="login_failed",
            entity="user",
            entity_id=username,
            detail={"kind": kind},
        )
        return None
    hours = settings.session_hours if kind == "cookie" else settings.refresh_token_hours
    auth = AuthSession(
        id=tokens.new_session_id(),
        user_id=user.id,
        kind=kind,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        address=address,
    )
    session.add(auth)
    record(
        session,
        actor=user.username,
        action="login",
        entity="user",
        entity_id=user.username,
        detail={"kind": kind, "session": auth.id[:8]},
    )
    audit_as(session, user.role)
    session.flush()
    return SignIn(user=user, auth=auth)


def _token(
    signed_in: SignIn,
    kind: tokens.TokenKind,
    *,
    key: str,
    issued_at: datetime,
    expires_at: datetime | None = None,
) -> str:
    """A signed token of ``kind`` for the sign-in; by default it lasts as long as the sign-in."""
    claims = tokens.TokenClaims(
        user_id=signed_in.user.id,
        session_id=signed_in.auth.id,
        token_version=signed_in.user.token_version,
        kind=kind,
        expires_at=expires_at or signed_in.auth.expires_at,
    )
    return tokens.encode(claims, key=key, issued_at=issued_at)


def issue_tokens(
    signed_in: SignIn, settings: Settings, *, key: str, refresh: bool = True
) -> dict[str, Any]:
    """The access token (and refresh token) of an API sign-in session."""
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=settings.access_token_minutes)
    return {
        "access_token": _token(signed_in, "access", key=key, issued_at=now, expires_at=expires),
        "token_type": "bearer",
        "expires_in": int(settings.access_token_minutes * 60),
        "refresh_token": (
            _token(signed_in, "refresh", key=key, issued_at=now) if refresh else None
        ),
    }


def cookie_token(signed_in: SignIn, *, key: str) -> str:
    """The page session's cookie value."""
    return _token(signed_in, "cookie", key=key, issued_at=datetime.now(UTC))


def csrf_of(principal: Principal, *, key: str) -> str:
    """The CSRF token a page of this principal's session sends with its writes."""
    return tokens.csrf_token(principal.session_id or "", key=key)


def refresh(session: Session, refresh_token: str, *, key: str) -> SignIn:
    """The sign-in a refresh token belongs to, if it still holds; 401 otherwise."""
    found = _holding(session, refresh_token, key=key, kinds=("refresh",))
    if found is None:
        raise NotSignedInError(
            "refresh_token",
            "The refresh token is not valid, has expired or has been revoked.",
            _SIGN_IN_FIX,
        )
    return SignIn(user=found[0], auth=found[1])


def sign_out(session: Session, principal: Principal) -> None:
    """Revoke the principal's sign-in session: its tokens and cookie stop working at once."""
    if principal.session_id is None:
        return
    auth = session.get(AuthSession, principal.session_id)
    if auth is not None and auth.revoked_at is None:
        auth.revoked_at = datetime.now(UTC)
        record(
            session,
            actor=principal.name,
            action="logout",
            entity="user",
            entity_id=principal.name,
            detail={"session": auth.id[:8]},
        )
        session.flush()


def page_principal(request: Request, session: Session) -> Principal | None:
    """The principal of a page's cookie session, or None (no exception, no CSRF check)."""
    try:
        return authenticate(request, session, check_csrf=False)
    except NotSignedInError:
        return None


# -- Open311 clients ------------------------------------------------------------------------


def open311_client(
    session: SessionDep,
    api_key: Annotated[
        str | None,
        Form(max_length=200, description="The client's key, issued by the administrator."),
    ] = None,
) -> ApiClient:
    """The Open311 client whose key a POST carries; 403 (Open311's answer) without one."""
    client = store.active_api_client(session, tokens.digest(api_key)) if api_key else None
    if client is None:
        raise PermissionDeniedError(
            "api_key",
            "api_key is missing or not valid.",
            "ask the sub-district's administrator for an Open311 key.",
            permission="open311:key",
        )
    audit_as(session, "open311")
    return client


setattr(open311_client, _RULE, "open311:key")
