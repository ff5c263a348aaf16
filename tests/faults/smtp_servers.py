"""SMTP servers of the test's own for the email faults: one that works (and counts), one that stalls, and
Django's real SMTP backend pointed at either (a refused connection is a free port with no server). Fixtures named
apart from their functions, so a test module imports them without shadowing them."""

import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from tests.faults.conftest import free_port


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; ``refuse`` ('recipient' or 'data') answers 5xx at that step,
    ``on_data`` runs before a message is accepted (a fault to set off between a send and its sender's next step)."""

    def __init__(self):
        self.messages: list = []
        self.refuse: str | None = None
        self.refused_recipients: set[str] = set()
        self.on_data = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse == "recipient" or address in self.refused_recipients:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse == "data":
            return "554 5.6.0 Message refused"
        if self.on_data is not None:
            self.on_data()
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture(name="smtp_server")
def smtp_server_fixture():
    """A working SMTP server of the test's own (aiosmtpd, in a thread); its ``mailbox`` counts what arrived."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()

    class SmtpServer:
        port = controller.port

    SmtpServer.mailbox = mailbox
    yield SmtpServer
    controller.stop()


@pytest.fixture(name="stalled_smtp")
def stalled_smtp_fixture():
    """An SMTP server that accepts connections and never says a word (not even its greeting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    connected = threading.Event()

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:  # the listener closed: the test is over
                return
            connected.set()

    threading.Thread(target=accept, daemon=True).start()

    class StalledSmtp:
        port = listener.getsockname()[1]

    StalledSmtp.connected = connected
    yield StalledSmtp
    listener.close()
    for held in accepted:
        held.close()


@pytest.fixture(name="send_by_smtp")
def send_by_smtp_fixture(settings):
    """``send_by_smtp(port)``: Django's real SMTP backend to 127.0.0.1:port, one second per SMTP operation."""

    def to(port: int) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 1
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    return to
