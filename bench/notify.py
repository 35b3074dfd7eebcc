"""Reaching people (issue 20): one level I incident that notifies 1,000 people across the
cluster, through the product's real pipeline, beside a plain `send_mail` loop in the same run.

The world. The demo GBA cluster (load_demo). Zhuhai reports a level I typhoon whose area covers
the whole cluster, so the flood playbook (cross-border-flood-typhoon) asks the ten other
jurisdictions to acknowledge within its level I deadline. Each of the ten has 100 officers of
the benchmark (operators), each with three contact methods: an e-mail address, a mobile number
(validated by coordination.people.contract like any other) and a browser's web push
subscription. The first method of each person's plan rotates (a third e-mail first, a third SMS,
a third web push), with a 5-minute wait before the next: 1,000 messages are due at once, the
others only after the benchmark is over (a person's next channel, as in service).

Why nobody is on a roster. The product reaches a roster's primary at once and each backup, then
the bureau's head, in waves minutes apart (coordination/notify/escalation.py; a playbook's
`person_waits` is at least one minute). One incident reaches 1,000 people *at once* only where
no shift is in force: then every commander and operator of each asked jurisdiction is reached
together (docs/notifications.md, "Who"), the 3 a.m. case issue 20 opens with. The demo's
rosters have no shift here (load_demo puts one only where officers exist, and the benchmark
database has none when it loads); any shift of the ten is removed all the same before the
incident, so the world stays this one if the demo changes. (With rosters in force the same
incident reaches ten primaries at once, a far smaller load.) The officers, memberships and
contact methods are written in bulk: officer_create hashes a password per person (PBKDF2,
Django's default: minutes for 1,000); the addresses still go through contract.check_address.

The providers are the test suite's own real local servers on 127.0.0.1 (tests/notify/servers.py):
an SMTP server (aiosmtpd) that counts what it receives; the SMS gateway, which checks every
request's HMAC signature and deduplicates on the idempotency key; a push service that checks
each VAPID token and decrypts each payload as the subscribed browser would. They run in this
process, on the same two cores as everything else. The pipeline is the product's: the incident
commits its event, the worker's dispatcher starts the run, the request_ack step writes the
requests and their notification rows in one transaction (the outbox), the send tasks go after it
commits, a real Celery worker (2 processes, beat included, as in service) claims, renders, hands
the messages to their providers a chunk at a time and writes their delivery rows (`sent`, with
their events).

Figures:
- time from the incident's commit to each message handed to its provider (its `sent_at`: the
  provider accepted it), p50 and p99; target p99 under 10 s (the issue's, on 2 cores); the last;
- throughput: the messages over the time from the request_ack step's start (the rows'
  `created_at`: the step's transaction is counted) to the last one handed, beside the baseline:
  a plain loop of Django's `send_mail` over one SMTP connection to the same server, in this
  process, as many messages; target at least 0.5x;
- where the time goes, in order: the playbook engine (incident commit to the step's start), the
  step writing the requests and rows (to its commit, seen from here within 50 ms), the hand-off
  to Celery (to the first message handed), the sending (first to last), the worker time per
  message, and per channel `handed_at` to `sent_at` (the chunk's mark to its provider's answer:
  NOTIFY_SEND_THREADS messages are handed over together, each in a thread, sharing the process);
- at the receiving side: every message counted once (none lost, none twice).

`python -m bench.notify [--quick]` runs it alone (it prepares the benchmark database).
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

from bench.common import BENCH_REDIS_URL, bench_env, free_port, percentile, prepare_database, process, row

ZHUHAI = "440400"
GBA = ["440100", "440300", "440400", "440600", "440700", "441200", "441300", "441900", "442000", "810000", "820000"]
ASKED = [code for code in GBA if code != ZHUHAI]
# The whole of the Greater Bay Area: every other jurisdiction is affected and asked.
AREA = {"type": "Polygon", "coordinates": [[
    [111.3, 21.4], [115.0, 21.4], [115.0, 24.6], [111.3, 24.6], [111.3, 21.4],
]]}
CHANNELS = ["email", "sms", "webpush"]
GATEWAY_KEY_ID, GATEWAY_SECRET = "liandong-bench", "gateway-secret-for-the-benchmark"


class Inbox:
    """The SMTP server's side: how many messages arrived, and how many Message-IDs twice."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.ids: set[str] = set()
        self.repeated = 0

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message_id = BytesHeaderParser().parsebytes(content)["Message-ID"] or ""
        with self.lock:
            self.count += 1
            if message_id in self.ids:
                self.repeated += 1
            self.ids.add(message_id)
        return "250 Message accepted for delivery"

    def reset(self) -> None:
        with self.lock:
            self.count, self.ids, self.repeated = 0, set(), 0


def _phone(code: str, n: int) -> str:
    """A mobile number of the jurisdiction's own plan (Hong Kong 9xxx xxxx, Macao 66xx xxxx)."""
    if code == "810000":
        return f"+852912{n:05d}"
    if code == "820000":
        return f"+85366{n:06d}"
    return f"+86139{n:08d}"


def _world(per_jurisdiction: int, push) -> int:
    """The ten asked jurisdictions with no shift in force, and their officers with contact
    methods (module docstring). Returns how many people have a first channel due at once."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from coordination.duty.models import Shift
    from coordination.models import Membership, Role
    from coordination.people.contract import check_address
    from coordination.people.models import ContactMethod

    User = get_user_model()
    unusable = make_password(None)
    with transaction.atomic():
        Shift.objects.filter(roster__jurisdiction_id__in=ASKED).delete()
        homes = [code for code in ASKED for _ in range(per_jurisdiction)]
        users = User.objects.bulk_create([
            User(username=f"bench-{code}-{index:04d}", first_name="Duty", last_name=f"{index:04d}", password=unusable)
            for index, code in enumerate(homes)])
        Membership.objects.bulk_create([
            Membership(user=user, jurisdiction_id=code, role=Role.OPERATOR)
            for user, code in zip(users, homes, strict=True)])
        methods = []
        for index, (user, code) in enumerate(zip(users, homes, strict=True)):
            addresses = {
                "email": check_address("email", f"duty-{index}@{code}.example.org"),
                "sms": check_address("sms", _phone(code, index), jurisdiction=code),
                "webpush": check_address("webpush", json.dumps(push.subscribe().subscription())),
            }
            order = CHANNELS[index % 3:] + CHANNELS[:index % 3]
            methods += [ContactMethod(officer=user, channel=channel, address=addresses[channel], position=position,
                                      wait_minutes=5) for position, channel in enumerate(order)]
        ContactMethod.objects.bulk_create(methods)
    return len(users)


def _reporter():
    from coordination.authentication import principal_for_token
    from coordination.services import api_client_create

    _, token = api_client_create(name=f"bench-notify-{time.time_ns()}", jurisdiction_code=ZHUHAI)
    return principal_for_token(token)


def _baseline(count: int) -> float:
    """Messages per second of a plain loop of Django's send_mail over one SMTP connection."""
    from django.core.mail import get_connection, send_mail

    connection = get_connection(fail_silently=False)
    connection.open()
    try:
        started = time.perf_counter()
        for n in range(count):
            send_mail(f"Baseline {n}: typhoon, level I", f"Acknowledge: http://127.0.0.1:8000/ack/{n:040d}/",
                      "liandong@example.org", [f"baseline-{n}@example.org"], connection=connection)
        return count / (time.perf_counter() - started)
    finally:
        connection.close()


def _wait_sent(incident_pk, expected: int, *, timeout: float) -> None:
    from django.db.models import Count

    from coordination.notify.lifecycle import State
    from coordination.notify.models import Notification

    deadline = time.monotonic() + timeout
    while True:
        rows = Notification.objects.filter(incident_id=incident_pk)
        sent = rows.filter(state=State.SENT).count()
        if sent >= expected:
            return
        if time.monotonic() > deadline:
            states = dict(rows.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
            raise RuntimeError(f"{sent} of {expected} messages sent within {timeout:.0f}s: {states}")
        time.sleep(0.2)


def run(*, quick: bool) -> list[dict]:
    per_jurisdiction = 6 if quick else 100
    smtp_port = free_port()
    from py_vapid import Vapid

    from tests.notify.servers import PushServer, SmsGatewayServer, b64url

    vapid = Vapid()
    vapid.generate_keys()
    from cryptography.hazmat.primitives import serialization

    public = b64url(vapid.public_key.public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint))
    providers = dict(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port), EMAIL_USE_TLS="0", EMAIL_USE_SSL="0", EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="",
        SMS_PROVIDER="gateway", SMS_GATEWAY_KEY_ID=GATEWAY_KEY_ID, SMS_GATEWAY_SECRET=GATEWAY_SECRET,
        WEBPUSH_VAPID_PRIVATE_KEY=vapid.private_pem().decode(), WEBPUSH_VAPID_SUBJECT="mailto:ops@gba.example",
        NOTIFY_ALLOW_LOOPBACK_ENDPOINTS="1",
        # Real durations: bench.workflows, run before in the same process, leaves its
        # DEADLINE_SCALE in the environment, and a scaled deadline would escalate mid-measurement.
        DEADLINE_SCALE="1",
    )
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    gateway = SmsGatewayServer(key_id=GATEWAY_KEY_ID, secret=GATEWAY_SECRET)
    push = PushServer(application_server_key=public)
    try:
        providers["SMS_GATEWAY_URL"] = gateway.url
        os.environ.update(bench_env(**providers))
        import django

        django.setup()
        from django.conf import settings

        # This process sends the baseline and checks the addresses; another module may have set
        # Django up before these variables were in the environment.
        settings.EMAIL_BACKEND = providers["EMAIL_BACKEND"]
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.NOTIFY_ALLOW_LOOPBACK_ENDPOINTS = True
        settings.DEADLINE_SCALE = 1.0
        started = time.monotonic()
        people = _world(per_jurisdiction, push)
        setup = time.monotonic() - started
        baseline = _baseline(people)
        inbox.reset()
        return _measure(people, setup, baseline, providers, inbox, gateway, push)
    finally:
        push.close()
        gateway.close()
        smtp.stop()


def _measure(people: int, setup: float, baseline: float, providers: dict, inbox: Inbox, gateway,
             push) -> list[dict]:
    import redis
    from django.db.models import Min

    from coordination.notify.models import Notification
    from coordination.workflows.models import WorkflowRun
    from incidents.services import incident_report

    actor = _reporter()
    with tempfile.TemporaryDirectory() as tmp:
        env = bench_env(**providers, LOG_LEVEL="WARNING")
        worker = [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "--concurrency", "2",
                  "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
                  "--schedule", str(Path(tmp) / "beat")]
        # A queue an earlier module or run left in the benchmark's Redis is not this measurement's.
        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
        with process("worker", worker, env=env) as proc:
            # The worker's start-up is not measured: beat sends its first round of periodic tasks
            # (relay, sweeps, audits) at once, and an incident reported within 5 s of the start
            # waited 3 to 4 s behind them for its dispatch (measured; 0.2 s after 10 s).
            time.sleep(10)
            if proc.poll() is not None:
                raise RuntimeError("the worker did not start")
            incident = incident_report(actor=actor, data={
                "title": "Typhoon across the Greater Bay Area (benchmark)", "category": "natural_disaster",
                "type": "typhoon", "level": "I", "occurred_at": datetime.now(UTC) - timedelta(minutes=5),
                "location": {"lat": 22.22, "lon": 113.5}, "affected_area": AREA}).incident
            committed = datetime.now(UTC)  # incident_report returns after its transaction commits
            # The rows are written by the worker's playbook engine: wait for them, then for every
            # one due at once to be sent.
            deadline = time.monotonic() + 60
            while Notification.objects.filter(incident_id=incident.pk).count() < people * len(CHANNELS):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the playbook engine did not write the notification rows within 60 s")
                time.sleep(0.05)
            visible = datetime.now(UTC)  # the step's transaction committed (within 50 ms)
            written = Notification.objects.filter(incident_id=incident.pk).aggregate(at=Min("created_at"))["at"]
            due = list(Notification.objects.filter(incident_id=incident.pk, not_before__lte=written)
                       .values_list("pk", flat=True))
            _wait_sent(incident.pk, len(due), timeout=120)
    rows = list(Notification.objects.filter(pk__in=due).values_list("channel", "handed_at", "sent_at"))
    run_started = WorkflowRun.objects.filter(incident_id=incident.public_id).order_by("started_at").values_list(
        "started_at", flat=True).first()
    after = [(sent - committed).total_seconds() for _, _, sent in rows]
    first_handed = min(handed for _, handed, _ in rows)
    last_sent = max(sent for _, _, sent in rows)
    ours = len(rows) / (last_sent - written).total_seconds()
    received = {"email": inbox.count, "sms": len(gateway.accepted), "webpush": len(push.accepted)}
    expected = {channel: sum(1 for c, _, _ in rows if c == channel) for channel in CHANNELS}
    # A second copy at the receiving side: a Message-ID seen again, a request the gateway answered
    # from its idempotency keys, a push topic seen again.
    twice = (inbox.repeated + len(gateway.requests) - len(gateway.accepted) - len(gateway.refused)
             + len(push.accepted) - len({m["topic"] for m in push.accepted}))
    label = f"notify: 1 level I incident, {people} people"
    p50, p99 = percentile(after, 50), percentile(after, 99)
    seconds = lambda a, b: (b - a).total_seconds()  # noqa: E731
    figures = [
        row(f"{label}: setting up the world took", setup, None, "", None, "s"),
        row(f"{label}: messages due at once", float(len(rows)), None, "", None),
        row(f"{label}: incident commit to handed p50", p50, None, "", None, "s"),
        row(f"{label}: incident commit to handed p99", p99, None, "< 10 s", p99 < 10.0, "s"),
        row(f"{label}: incident commit to last handed", max(after), None, "", None, "s"),
        row(f"{label}: messages/s (step start to last handed) vs send_mail loop", ours, baseline, ">= 0.5x",
            ours >= 0.5 * baseline, "/s"),
        # Where the time goes, in order.
        row(f"{label}: incident commit to its run's start (event dispatch)", seconds(committed, run_started),
            None, "", None, "s"),
        row(f"{label}: run's start to the request_ack step (playbook engine)", seconds(run_started, written),
            None, "", None, "s"),
        row(f"{label}: the step writing requests and rows, to its commit", seconds(written, visible), None, "", None,
            "s"),
        row(f"{label}: rows committed to first handed (Celery hand-off)", seconds(visible, first_handed), None, "",
            None, "s"),
        row(f"{label}: first handed to last handed", seconds(first_handed, last_sent), None, "", None, "s"),
        row(f"{label}: worker time per message (2 processes)", 2 * 1000 * seconds(first_handed, last_sent)
            / len(rows), None, "", None, "ms"),
    ]
    for channel in CHANNELS:
        # handed_at is the chunk's mark, just before its messages go to their providers together
        # (coordination/notify/sending.py): this is the wait for this one's answer.
        spent = [(sent - handed).total_seconds() * 1000 for c, handed, sent in rows if c == channel]
        figures.append(row(f"{label}: {channel}, handed_at to sent_at p50 ({expected[channel]} messages)",
                           percentile(spent, 50), None, "", None, "ms"))
    every = all(received[c] == expected[c] for c in CHANNELS) and twice == 0
    if not every:
        print(f"{label}: received {received}, expected {expected}, twice {twice}, refused by the gateway "
              f"{len(gateway.refused)}, by the push service {len(push.refused)}", flush=True)
    figures.append(row(f"{label}: messages received, each once", float(sum(received.values())), None,
                       f"all {len(rows)}, none twice", every))
    return figures


def main(argv=None) -> int:
    from bench.__main__ import format_table

    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    prepare_database()
    print(format_table(run(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
