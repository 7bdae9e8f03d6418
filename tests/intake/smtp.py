"""A real SMTP server for the tests (aiosmtpd) on a free loopback port: what the desk sends
arrives as bytes on the wire, to be read as the researcher's mail server would."""

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


class _Collect:
    def __init__(self, inbox: list[Delivered], lock: threading.Lock):
        self.inbox = inbox
        self.lock = lock

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.inbox.append(
                Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted for delivery"


class SMTPServer:
    """Accept every mail and keep it; ``received`` lists what arrived, in order."""

    def __init__(self):
        self._received: list[Delivered] = []
        self._lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(
            _Collect(self._received, self._lock), hostname=HOST, port=self.port
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[Delivered]:
        with self._lock:
            return list(self._received)

    def to(self, address: str) -> list[EmailMessage]:
        return [item.message for item in self.received if address in item.rcpt_tos]
