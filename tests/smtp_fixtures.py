"""Real SMTP servers on loopback (aiosmtpd) and a test CA (openssl), for the email tests."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "advisor@example.org"
PASSWORD = "Tr0ub4dor&3-never-print-me"


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and misbehaves on request.

    refuse:     recipients answered 550 on RCPT
    busy_once:  recipients answered 451 at the end of their first DATA (then accepted)
    drop:       recipients whose message is stored but whose connection is cut before the reply
    die_after:  after this many accepted messages, every MAIL gets 421 (the server is going down)
    """

    refuse: set[str] = field(default_factory=set)
    busy_once: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    die_after: int | None = None
    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each accepted message
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.die_after is not None and len(self.received) >= self.die_after:
            return "421 4.3.2 Service shutting down"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        if rcpt in self.busy_once:
            self.busy_once.discard(rcpt)
            return "451 4.3.0 Try again later"
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
            self.arrivals.append(time.monotonic())
        if rcpt in self.drop:
            self.drop.discard(rcpt)
            server.transport.close()  # stored, but the client never hears "250"
        return "250 2.0.0 Queued"

    def messages(self) -> list[EmailMessage]:
        """Every accepted message, parsed."""
        return [message_from_bytes(data, policy=policy.default) for _, data in self.received]

    def count(self, recipient: str) -> int:
        """How many messages this recipient received."""
        return sum(recipient in rcpts for rcpts, _ in self.received)


class Authenticator:
    """Accepts exactly USER / PASSWORD; a failure is returned, never raised (or smtplib hangs)."""

    def __init__(self, password: str = PASSWORD):
        self.password = password
        self.attempts: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append((login, password))
        if login == USER and password == self.password:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(handler: Mailbox, *, port: int | None = None, **kwargs) -> Controller:
    """Start an aiosmtpd server on 127.0.0.1; the caller stops it."""
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    controller.start()
    return controller


@dataclass(frozen=True)
class Certs:
    """A test CA with a server certificate it signed, and a self-signed certificate nobody trusts."""

    ca: Path
    server_cert: Path
    server_key: Path
    rogue_cert: Path
    rogue_key: Path

    def server_context(self, rogue: bool = False) -> ssl.SSLContext:
        """The server side of TLS with the trusted or the untrusted certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.rogue_cert if rogue else self.server_cert,
                                self.rogue_key if rogue else self.server_key)
        return context


def make_certs(folder: Path) -> Certs:
    """Generate the CA, the server certificate (127.0.0.1, localhost) and a rogue self-signed one with openssl."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=matchguide test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    run("req", "-x509", *ec, "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    return Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "rogue.pem", folder / "rogue.key")
