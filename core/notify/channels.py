"""One try at sending: an e-mail over SMTP, or a JSON POST to an HTTP endpoint. Never raises for
a delivery problem; returns what happened, for the attempt record."""

from __future__ import annotations

import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from typing import Any

from core.config import Settings


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None  # HTTP status, or the SMTP server's reply code
    error: str = ""
    duration_ms: int = 0


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def email_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host.strip())


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The system's CAs, plus STEWARD_SMTP_CA_FILE when given; the host name is always checked."""
    context = ssl.create_default_context()
    if settings.smtp_ca_file:
        context.load_verify_locations(cafile=settings.smtp_ca_file)
    return context


def send_email(settings: Settings, email: Email) -> Outcome:
    """Send one message through the configured SMTP server (STARTTLS, TLS or plain; login if set)."""
    started = time.monotonic()
    # Headers up to RFC 5322's hard limit: folding a long subject at 78 characters makes some
    # readers show it with a leading space.
    message = EmailMessage(policy=SMTP_POLICY.clone(max_line_length=998))
    message["From"] = settings.smtp_from
    message["To"] = email.to
    message["Subject"] = " ".join(email.subject.split())  # one line, whatever the text held
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or "steward.local")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    for name, value in email.headers:
        message[name] = value
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_s
    if (
        settings.smtp_security == "none"
        and settings.smtp_username
        and host not in ("localhost", "127.0.0.1", "::1")
    ):
        return Outcome(
            False,
            None,
            f"refusing to send the SMTP password in clear to {host}: set STEWARD_SMTP_SECURITY to starttls or tls",
        )
    try:
        if settings.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=tls_context(settings)
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=tls_context(settings))
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            refused = client.send_message(message)
        if refused:
            code, reply = next(iter(refused.values()))
            return Outcome(False, code, f"recipient refused: {reply.decode(errors='replace')}", _ms(started))
        return Outcome(True, 250, "", _ms(started))
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return Outcome(False, code, f"recipient refused: {reply.decode(errors='replace')}", _ms(started))
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error
        text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        return Outcome(False, exc.smtp_code, f"SMTP {exc.smtp_code}: {text}", _ms(started))
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc} (SMTP {host}:{port})", _ms(started))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answers where it was configured; following redirects would let an endpoint send
    signed registry data on to any address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Outcome:
    """POST ``body``; a 2xx answer is success, anything else (or no answer) a failure to retry."""
    started = time.monotonic()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            response.read(4096)
        if 200 <= status < 300:
            return Outcome(True, status, "", _ms(started))
        return Outcome(False, status, f"HTTP {status}", _ms(started))
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode(errors="replace").strip()
        return Outcome(
            False, exc.code, f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else ""), _ms(started)
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(False, None, f"{type(exc).__name__}: {reason}", _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
