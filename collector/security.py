"""CURVE encryption and agent allow-listing for the collector's ZeroMQ socket.

The collector holds a key pair; each agent has its own. A ZAP handler
(pyzmq's asyncio authenticator) admits only agents whose public key files
are in ``allowed_clients_dir``; anything else is refused during the
handshake, before a single message reaches ingestion. The directory is
re-read periodically, so rotating an agent's key is: add the new public key,
switch the agent, remove the old file (README, "Encryption").
"""

from __future__ import annotations

import logging
from pathlib import Path

import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator

from collector.config import CurveServer

log = logging.getLogger("fleetwatch.collector.security")


class CountingAuthenticator(AsyncioAuthenticator):
    """Counts refused handshakes so /metrics and ``collector status`` can show them."""

    refused = 0
    allowed = 0

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        ok, reason = await super()._authenticate_curve(domain, client_key)
        if ok:
            type(self).allowed += 1
        else:
            type(self).refused += 1
            log.warning("refused an agent with an unknown CURVE key (%s)", reason.decode(errors="replace"))
        return ok, reason


_authenticators: dict[int, CountingAuthenticator] = {}


def configure_curve_server(sock: zmq.Socket, cfg: CurveServer, ctx: zmq.asyncio.Context) -> CountingAuthenticator:
    import zmq.auth

    if not cfg.server_secret_key or not cfg.allowed_clients_dir:
        raise ValueError("curve.enabled needs curve.server_secret_key and curve.allowed_clients_dir")
    public, secret = zmq.auth.load_certificate(str(cfg.server_secret_key))
    if secret is None:
        raise ValueError(f"{cfg.server_secret_key}: not a secret key file (use the *.key_secret file)")
    allowed_dir = Path(cfg.allowed_clients_dir)
    if not allowed_dir.is_dir():
        raise ValueError(f"curve.allowed_clients_dir {allowed_dir} is not a directory")
    auth = _authenticators.get(id(ctx))
    if auth is None:
        auth = CountingAuthenticator(ctx)
        auth.start()
        _authenticators[id(ctx)] = auth
    auth.configure_curve(domain="*", location=str(allowed_dir))
    sock.curve_server = True
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    return auth


def reload_allowed(cfg: CurveServer, ctx: zmq.asyncio.Context) -> None:
    auth = _authenticators.get(id(ctx))
    if auth is not None and cfg.allowed_clients_dir:
        auth.configure_curve(domain="*", location=str(cfg.allowed_clients_dir))


def stop(ctx: zmq.asyncio.Context) -> None:
    auth = _authenticators.pop(id(ctx), None)
    if auth is not None:
        auth.stop()
