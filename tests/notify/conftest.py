"""Fixtures for the notification pipeline: a real SMTP server on 127.0.0.1 (aiosmtpd), Dongguan's
officers with contact methods and a duty roster, and a flood reported by Shenzhen that crosses
into Dongguan, driven through the playbook engine in-process (tests/workflows/conftest.py)."""

import email
import email.policy
import re
import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN

# Near the Shenzhen-Dongguan border on the demo map (scripts/check_services.py): reported by
# Shenzhen, the area reaches Dongguan, and the cross-border flood playbook asks Dongguan to acknowledge.
FLOOD = {
    "title": "Flood on the Shenzhen-Dongguan border",
    "category": "natural_disaster",
    "type": "flood",
    "level": "III",
    "location": {"lat": 22.70, "lon": 113.95},
    "affected_area": {"type": "Polygon", "coordinates": [[
        [113.85, 22.65], [114.05, 22.65], [114.05, 22.85], [113.85, 22.85], [113.85, 22.65],
    ]]},
}
LINK = re.compile(r"https?://[^\s<>\"]+/ack/[A-Za-z0-9_.-]+/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the SMTP server received, parsed, in order."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.refuse: set[str] = set()  # recipients answered with a 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True) if address in rcpts]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def link_in(self, message) -> str:
        found = LINK.search(self.text(message))
        assert found, self.text(message)
        return found.group(0)


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    from coordination.notify.providers.email import close_connection

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    close_connection()
    try:
        yield box
    finally:
        close_connection()
        controller.stop()


@pytest.fixture
def officer_with(make_officer):
    """officer_with(username, jurisdiction, role, [(channel, address, wait_minutes), …]): an officer
    and their contact methods, in order, through coordination.people's service."""
    from coordination.people.services import contact_add

    def make(username, jurisdiction=DONGGUAN, role="operator", contacts=()):
        user = make_officer(username, jurisdiction, role)
        for channel, address, wait in contacts:
            contact_add(actor=None, officer=user, channel=channel, address=address, wait_minutes=wait)
        return user

    return make


@pytest.fixture
def on_duty_in_dongguan(officer_with):
    """Dongguan's roster now: the primary (e-mail, then SMS after 5 minutes) and a backup (e-mail)."""
    from coordination.duty.services import roster_ensure, shift_create
    from coordination.models import Jurisdiction

    primary = officer_with("dg-primary", contacts=[("email", "primary@dg.example", 5), ("sms", "+8613800138000", 5)])
    backup = officer_with("dg-backup", contacts=[("email", "backup@dg.example", 5)])
    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(code=DONGGUAN))
    now = timezone.now()
    shift_create(actor=None, roster=roster, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=11),
                 primary=primary.username, backups=[backup.username])
    return primary, backup


@pytest.fixture
def playbooks(gba, settings):
    from coordination.workflows.demo import load_playbooks

    # In-process: no countdown task to leave due steps to, the sweep does them all.
    settings.WORKFLOW_SWEEP_GRACE_SECONDS = 0
    return {playbook.code: playbook for playbook in load_playbooks()}


@pytest.fixture
def flood(playbooks, principal_for):
    """flood(**fields) -> the public id of a flood Shenzhen reports, with the playbook run started and
    its request to Dongguan made (in-process: the events delivered to the engine, the due steps done)."""
    from incidents.services import incident_report
    from tests.workflows.conftest import deliver, drive

    shenzhen = principal_for(SHENZHEN, role="commander")

    def report(**fields):
        incident = incident_report(actor=shenzhen, data={
            **FLOOD, "occurred_at": timezone.now() - timedelta(minutes=5), **fields}).incident
        deliver()
        drive(timezone.now())
        return incident.public_id

    return report
