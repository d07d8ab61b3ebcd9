"""One message to one notification channel (webhook or e-mail), and what a failure means.

Incident notifications (``collector.incidents.notify``) and scheduled reports
(``collector.reports.schedule``) keep their own delivery records, but they
send the same way: a webhook POST carries an ``Idempotency-Key`` header and a
mail a ``Message-ID`` built from the same key, so a receiver that saw a
message whose answer was lost can drop the retry. A refusal that retrying
cannot change (HTTP 4xx but 408/425/429, SMTP 5xx) is a ``PermanentError``;
anything else is retried after ``backoff``.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from collector.incidents.policy import EmailChannel, Retry, WebhookChannel

USER_AGENT = "fleetwatch-incidents/1"
_RETRYABLE_4XX = {408, 425, 429}


class PermanentError(Exception):
    """The receiver refused the message for good (retrying cannot help)."""


@dataclass(frozen=True)
class Outcome:
    """One send attempt: ``error`` is None when the receiver took the message."""

    error: str | None = None
    permanent: bool = False


def backoff(retry: Retry, attempts: int) -> timedelta:
    """Doubling delay before the next try after ``attempts`` failures, capped.

    The exponent is bounded too: ``timedelta`` overflows near 2**43 seconds, which a receiver down for a day
    and a half would reach; an overflow here once stopped every later notification from being sent.
    """
    return min(retry.cap, retry.first * (2 ** min(max(attempts - 1, 0), 30)))


def email_message(ch: EmailChannel, key: str, subject: str) -> EmailMessage:
    """Headers every fleetwatch mail carries; the idempotency key goes in Message-ID and its own header."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = ch.sender
    msg["To"] = ", ".join(ch.to)
    msg["Message-ID"] = f"<{key}@fleetwatch>"
    msg["X-Fleetwatch-Idempotency-Key"] = key
    return msg


async def post_webhook(client: httpx.AsyncClient, ch: WebhookChannel, key: str, body: dict[str, Any]) -> None:
    headers = {"Idempotency-Key": key, "User-Agent": USER_AGENT, **ch.headers}
    resp = await client.post(ch.url, json=body, headers=headers, timeout=ch.timeout.total_seconds())
    if resp.is_success:
        return
    msg = f"HTTP {resp.status_code}: {resp.text[:200]}"
    if 400 <= resp.status_code < 500 and resp.status_code not in _RETRYABLE_4XX:
        raise PermanentError(msg)
    raise RuntimeError(msg)


def send_email(ch: EmailChannel, msg: EmailMessage) -> None:
    """Blocking SMTP send (run it in a thread from async code)."""
    try:
        with smtplib.SMTP(ch.host, ch.port, timeout=ch.timeout.total_seconds()) as smtp:
            if ch.starttls:
                smtp.starttls()
            if ch.username:
                smtp.login(ch.username, os.environ.get(ch.password_env or "", ""))
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        if all(500 <= code < 600 for code, _ in exc.recipients.values()):
            raise PermanentError(f"SMTP recipients refused: {exc.recipients}") from exc
        raise


async def send(
    client: httpx.AsyncClient,
    ch: WebhookChannel | EmailChannel,
    key: str,
    webhook_body: dict[str, Any],
    *,
    email: Callable[[], EmailMessage],
) -> Outcome:
    """Send once to ``ch``; a receiver's fault becomes the outcome, never an exception.

    The mail is built only for an e-mail channel (a report's HTML is not
    rendered for a webhook).
    """
    try:
        if isinstance(ch, WebhookChannel):
            await post_webhook(client, ch, key, webhook_body)
        else:
            await asyncio.to_thread(send_email, ch, email())
    except PermanentError as exc:
        return Outcome(str(exc), permanent=True)
    except (httpx.HTTPError, OSError, smtplib.SMTPException, RuntimeError) as exc:
        return Outcome(f"{type(exc).__name__}: {exc}")
    return Outcome()
