"""Per-app state and the authentication dependencies every route uses.

401 means "who are you?" (no token, unknown or revoked token), 403 means
"you may not" (valid token, role too low). Tokens come in the
``Authorization: Bearer`` header; the wall's endpoints also take
``?token=`` because a kiosk browser and ``EventSource`` cannot set headers,
and may be open to anonymous readers when ``http.anonymous_wall`` is set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from collector.config import CollectorConfig
from collector.incidents import db as incident_db
from collector.web import auth, data
from collector.web.auth import Role, TokenInfo
from collector.web.live import LiveHub

if TYPE_CHECKING:
    from collector.service import CollectorService

#: Declares the scheme in OpenAPI (Swagger's "Authorize" button); the header is checked below.
bearer_scheme = HTTPBearer(auto_error=False, description="fleetwatch tokens create --role viewer|operator|admin")

ANONYMOUS = TokenInfo(id="-", name="anonymous", role=Role.viewer, created_at=0.0, last_used_at=None, revoked_at=None)


@dataclass
class WebContext:
    db_path: Path
    config: CollectorConfig
    hub: LiveHub
    service: CollectorService | None = None
    clock: Callable[[], float] = time.time
    started_at: float = 0.0


def ctx_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _identify(ctx: WebContext, token: str) -> TokenInfo:
    """The token's info; 401 when unknown, 503 (retry) when the database holding tokens cannot be read."""
    try:
        with data.token_reading(ctx.db_path) as conn:
            info = auth.verify_token(conn, token)
        if info is None:
            raise _unauthorized("invalid or revoked token")
        now = ctx.clock()
        if info.last_used_at is None or info.last_used_at < now - 60:
            with data.token_writing(ctx.db_path) as conn:
                auth.touch(conn, info.id, now)
    except incident_db.DATABASE_ERRORS as exc:
        # A shared PostgreSQL that is down (or a locked SQLite file) is not the client's fault: say "later".
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"token database unavailable ({type(exc).__name__}); retry shortly",
            headers={"Retry-After": "5"},
        ) from None
    return info


def require(role: Role) -> Callable[[Request], TokenInfo]:
    """Dependency: a token with at least ``role``."""

    def dependency(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
    ) -> TokenInfo:
        token = creds.credentials if creds is not None else None
        if token is None:
            raise _unauthorized("missing token (Authorization: Bearer <token>)")
        info = _identify(ctx_of(request), token)
        if not info.role.allows(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role; token has {info.role}")
        return info

    dependency.__name__ = f"require_{role.value}"
    return dependency


def wall_reader(request: Request) -> TokenInfo:
    """Dependency for the wall's data: header or ``?token=``, or nobody when anonymous_wall is on."""
    ctx = ctx_of(request)
    token = _bearer(request) or request.query_params.get("token")
    if token:
        return _identify(ctx, token)  # any valid role can read
    if ctx.config.http.anonymous_wall:
        return ANONYMOUS
    raise _unauthorized("the wall needs a viewer token (?token=...) unless http.anonymous_wall is set")
