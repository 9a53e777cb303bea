"""SMTP for `matchguide email --send`: settings from the environment and a careful sender.

The Mailer logs in before anything is sent, tells each message's journal
`sending` before the server sees it, retries what certainly did not arrive
(4xx answers, dropped connections before the final ".") with exponential
backoff, and never retries what may have arrived (no answer after the final ".").
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import Callable, Mapping

from generator.errors import DeliveryError, Problem
from generator.events import Reporter

SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
MAX_BACKOFF = 60.0
Journal = Callable[[str, "str | None"], None]  # (ledger state, detail)


@dataclass(frozen=True)
class SmtpConfig:
    """The SMTP server and sender, from MATCHGUIDE_SMTP_* variables."""

    host: str
    port: int
    security: str
    sender: Address
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    timeout: float = 30.0


def smtp_config(env: Mapping[str, str]) -> SmtpConfig:
    """Read and check the MATCHGUIDE_SMTP_* variables; every problem is reported at once."""
    problems: list[Problem] = []

    def bad(var: str, message: str) -> None:
        problems.append(Problem("environment", None, var, message))

    host = env.get("MATCHGUIDE_SMTP_HOST", "").strip()
    if not host:
        bad("MATCHGUIDE_SMTP_HOST", "not set (the SMTP server, e.g. smtp.example.org)")
    elif CONTROL.search(host) or " " in host:
        bad("MATCHGUIDE_SMTP_HOST", "not a host name")
    security = env.get("MATCHGUIDE_SMTP_SECURITY", "starttls").strip().lower()
    if security not in SECURITY_PORTS:
        bad("MATCHGUIDE_SMTP_SECURITY", f"expected starttls, tls or none, got {security!r}")
    elif security == "none" and host and not is_loopback(host):
        bad("MATCHGUIDE_SMTP_SECURITY", "'none' sends the password and the guides unencrypted; "
            "it is only allowed for a server on this machine (localhost, 127.0.0.1, ::1)")
    port = SECURITY_PORTS.get(security, 587)
    if env.get("MATCHGUIDE_SMTP_PORT", "").strip():
        try:
            port = int(env["MATCHGUIDE_SMTP_PORT"])
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            bad("MATCHGUIDE_SMTP_PORT", "expected a port number from 1 to 65535")
    user = env.get("MATCHGUIDE_SMTP_USER") or None
    password = env.get("MATCHGUIDE_SMTP_PASSWORD") or None
    if bool(user) != bool(password):
        bad("MATCHGUIDE_SMTP_PASSWORD" if user else "MATCHGUIDE_SMTP_USER", "set both the user and the password, or neither")
    sender = parse_sender(env.get("MATCHGUIDE_SMTP_FROM", ""))
    if sender is None:
        bad("MATCHGUIDE_SMTP_FROM", "expected one address, e.g. 'Dr. Lee <lee@example.org>'")
    cafile = Path(env["MATCHGUIDE_SMTP_CAFILE"]) if env.get("MATCHGUIDE_SMTP_CAFILE") else None
    if cafile is not None and not cafile.is_file():
        bad("MATCHGUIDE_SMTP_CAFILE", f"no such file: {cafile}")
    timeout = 30.0
    try:
        timeout = float(env.get("MATCHGUIDE_SMTP_TIMEOUT") or 30.0)
    except ValueError:
        bad("MATCHGUIDE_SMTP_TIMEOUT", "expected seconds, e.g. 30")
    if problems:
        raise DeliveryError(problems)
    return SmtpConfig(host, port, security, sender, user, password, cafile, timeout)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_sender(value: str) -> Address | None:
    """`Name <addr>` or `addr` as one Address, or None when it is not exactly one valid address."""
    if not value or CONTROL.search(value):
        return None
    pairs = email.utils.getaddresses([value])
    return make_address(*pairs[0]) if len(pairs) == 1 else None


def make_address(name: str, addr: str) -> Address | None:
    """An Address with a header-safe display name (control characters become spaces), or None."""
    if not addr or CONTROL.search(addr) or not addr.isascii():
        return None
    try:
        address = Address(display_name=" ".join(CONTROL.sub(" ", name or "").split()), addr_spec=addr.strip())
    except (ValueError, IndexError):
        return None
    return address if address.username and address.domain else None


def dot_stuffed(message: bytes) -> bytes:
    """DATA bytes for a CRLF message: leading dots doubled, then the final '.' line."""
    data = re.sub(rb"(?m)^\.", b"..", message)
    return (data if data.endswith(b"\r\n") else data + b"\r\n") + b".\r\n"


class SendingStopped(Exception):
    """The run cannot go on (server gone, login refused mid-run); what is left waits for the next run."""


class _Fatal(Exception):
    """The server cannot be used at all (login, TLS, certificate)."""


class _Retry(Exception):
    """Not delivered, worth another try; `reconnect` when the connection is gone."""

    def __init__(self, detail: str, reconnect: bool):
        super().__init__(detail)
        self.reconnect = reconnect


class _Refused(Exception):
    """The server refused the recipient (5xx on RCPT)."""


class _Rejected(Exception):
    """A permanent (5xx) answer to MAIL or DATA: not delivered."""


class _Unknown(Exception):
    """The message was transmitted but no answer came: it may have been delivered."""


class Mailer:
    """One logged-in SMTP connection, reopened after a drop, delivering with bounded retries."""

    def __init__(self, config: SmtpConfig, *, max_retries: int = 3, backoff_seconds: float = 2.0,
                 reporter: Reporter | None = None):
        self.config = config
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.reporter = reporter or Reporter()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect and log in (with retries); DeliveryError when that fails: nothing was sent."""
        try:
            self._retrying(self._open, "connect")
        except (_Fatal, _Retry) as exc:
            raise DeliveryError(Problem(f"{self.config.host}:{self.config.port}", None, None,
                                        f"{exc}; nothing was sent")) from None

    def deliver(self, recipient: str, payload: bytes, journal: Journal, *, label: str = "") -> tuple[str, str]:
        """Send one message: (sent | refused | failed | unknown, detail); SendingStopped if the run must end."""
        sender = self.config.sender.addr_spec

        def attempt() -> str:
            self._open()
            journal("sending", None)  # durable before the server sees anything
            try:
                return self._transaction(sender, recipient, payload)
            except _Retry as exc:
                journal("failed", str(exc))
                self.close() if exc.reconnect else self._reset()
                raise

        try:
            reply = self._retrying(attempt, label or recipient)
        except (_Refused, _Rejected) as exc:
            state = "refused" if isinstance(exc, _Refused) else "failed"
            journal(state, str(exc))
            self._reset()
            return state, str(exc)
        except _Unknown as exc:
            self.close()  # the journal keeps "sending": the outcome is unknown
            return "unknown", str(exc)
        except _Retry as exc:
            if exc.reconnect:
                raise SendingStopped(f"the server stopped answering ({exc})") from None
            return "failed", f"{exc} (gave up after {self.max_retries} retries)"
        except _Fatal as exc:
            raise SendingStopped(str(exc)) from None
        journal("sent", reply)
        return "sent", reply

    def close(self) -> None:
        """Say goodbye if the server still listens; forget the connection either way."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _retrying(self, action: Callable[[], str | None], what: str):
        for retry in range(self.max_retries + 1):
            try:
                return action()
            except _Retry as exc:
                if retry == self.max_retries:
                    raise
                delay = min(self.backoff_seconds * 2 ** retry, MAX_BACKOFF)
                self.reporter.event("retry", what=what, error=str(exc), delay=delay)
                time.sleep(delay)

    def _open(self) -> None:
        if self._smtp is not None:
            return
        c = self.config
        try:
            context = ssl.create_default_context()  # verifies the certificate and the host name
            if c.cafile:
                context.load_verify_locations(cafile=str(c.cafile))
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            try:
                smtp.ehlo()
                if c.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if c.user:
                    smtp.login(c.user, c.password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise _Fatal(f"login as {c.user!r} refused ({_reply(exc)}); check MATCHGUIDE_SMTP_USER and "
                         "MATCHGUIDE_SMTP_PASSWORD") from None
        except ssl.SSLCertVerificationError as exc:
            raise _Fatal(f"the server's certificate is not trusted ({exc.verify_message}); if it uses a private CA, "
                         "set MATCHGUIDE_SMTP_CAFILE to that CA's certificate") from None
        except ssl.SSLError as exc:
            raise _Fatal(f"TLS failed ({exc.reason or exc}); check MATCHGUIDE_SMTP_SECURITY and the port") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _Fatal(f"the server does not offer what MATCHGUIDE_SMTP_SECURITY asks for ({exc})") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise _Fatal(f"the server refused the session ({_reply(exc)})") from None
            raise _Retry(f"server busy ({_reply(exc)})", reconnect=True) from None
        except OSError as exc:  # refused, reset, timed out, disconnected
            raise _Retry(f"cannot reach {c.host}:{c.port} ({exc.strerror or exc or type(exc).__name__})",
                         reconnect=True) from None
        self._smtp = smtp

    def _reset(self) -> None:
        """Abandon a failed transaction (RSET), or drop the connection if that fails."""
        if self._smtp is not None:
            try:
                if self._smtp.rset()[0] == 250:
                    return
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp.close()
            self._smtp = None

    def _transaction(self, sender: str, recipient: str, payload: bytes) -> str:
        smtp = self._smtp
        assert smtp is not None
        try:
            _expect(*smtp.mail(sender), "MAIL FROM")
            code, reply = smtp.rcpt(recipient)
            if code >= 500:
                raise _Refused(f"RCPT TO: {code} {_text(reply)}")
            _expect(code, reply, "RCPT TO", ok=(250, 251))
            _expect(*smtp.docmd("DATA"), "DATA", ok=(354,))
            smtp.send(payload)  # an incomplete send never carries the final ".": not delivered
        except (OSError, smtplib.SMTPException) as exc:
            raise _Retry(f"connection lost ({exc or type(exc).__name__})", reconnect=True) from None
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise _Unknown(f"no answer after the message was transmitted ({exc or type(exc).__name__})") from None
        _expect(code, reply, "end of DATA")
        return f"{code} {_text(reply)}"


def _expect(code: int, reply: bytes, step: str, ok: tuple[int, ...] = (250,)) -> None:
    if code in ok:
        return
    detail = f"{step}: {code} {_text(reply)}"
    if 400 <= code < 500 or code == -1:
        raise _Retry(detail, reconnect=code in (421, -1))
    raise _Rejected(detail)


def _text(reply: bytes | str) -> str:
    return " ".join((reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)).split())


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"
