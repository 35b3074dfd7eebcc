"""Notifications under faults (issue 20, "Faults"): real providers on 127.0.0.1, real server,
worker and beat processes on the fault suite's private PostgreSQL and Redis (conftest.py), and
every message counted where it arrives.

- The SMTP server down for a minute, then back: every e-mail arrives once, none lost.
- A worker killed (kill -9) in the middle of a batch: a new worker takes over; no message
  arrives twice on a channel and everybody is reached.
- An SMS gateway answering 500, then timing out: the row is retried, then the person's next
  channel goes at once, and the incident page says so in words, in Simplified Chinese and English.
- Forged delivery callbacks (bad signature, unknown key, stale, unsigned, Tencent's wrong token)
  and replayed ones are refused or change nothing.

The people are Dongguan officers with no duty roster in force, so the whole jurisdiction is reached
at once (docs/notifications.md, "Who"), asked by the cross-border flood playbook when Shenzhen
reports a flood on the border through the API; the run is the playbook engine's, as deployed.

The retry schedule. A transient error is retried by beat's sweep after a backoff
(NOTIFY_RETRY_BASE_SECONDS 5 s doubling, up to NOTIFY_MAX_ATTEMPTS): at the defaults the attempt
after a minute's outage may come two minutes later, too long for a test. The processes here get
a short backoff (1 s doubling up to 4 s) and, so that the shorter steps still span the outage, more
attempts (NOTIFY_MAX_ATTEMPTS 40): what is tested is unchanged (a refused connection is transient,
the kept SMTP connection of a worker is opened again, a retried row is claimed once and sent once).
That the defaults themselves outlast a minute is checked without waiting, from the schedule
(`test_the_default_retries_outlast_a_minute`): they did not (5 attempts spanned 37.5 s at the
shortest jitter); NOTIFY_MAX_ATTEMPTS is 8 since.
"""

import asyncio
import collections
import email
import email.policy
import hashlib
import hmac
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.test import override_settings

from tests.conftest import DONGGUAN, SHENZHEN
from tests.faults.conftest import eventually, manage, record
from tests.notify.conftest import FLOOD
from tests.notify.servers import SmsGatewayServer
from tests.stream.conftest import free_port

pytestmark = [pytest.mark.fault, pytest.mark.slow]

PASSWORD = "faults-Secret-123"
TENCENT_TOKEN = "tencent-callback-token-for-faults"
OUTAGE_SECONDS = 60
# The short schedule the processes run with (the module's docstring says why it is still honest).
FAST_RETRIES = {"NOTIFY_RETRY_BASE_SECONDS": "1", "NOTIFY_RETRY_MAX_SECONDS": "4", "NOTIFY_MAX_ATTEMPTS": "40"}


# --- the receiving side ------------------------------------------------------------------------------


class Smtp:
    """A real SMTP server (aiosmtpd) on a fixed port that can be stopped and started again, as a
    mail server restarted by its operator is; what it accepted is counted per idempotency key
    (the header every message of ours carries). `delay` slows each DATA, so a batch takes a while."""

    def __init__(self, *, delay: float = 0.0):
        self.port = free_port()
        self.delay = delay
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def keys(self) -> collections.Counter:
        with self.lock:
            return collections.Counter(m["X-Liandong-Idempotency-Key"] for m in self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def answers(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# --- the deployment ----------------------------------------------------------------------------------


def provider_env(smtp: Smtp | None = None, gateway: SmsGatewayServer | None = None, **extra) -> dict:
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port if smtp else 1), "EMAIL_TIMEOUT": "3",
           "TENCENT_SMS_CALLBACK_TOKEN": TENCENT_TOKEN, **FAST_RETRIES}
    if gateway is not None:
        env.update(SMS_PROVIDER="gateway", SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_KEY_ID=gateway.key_id,
                   SMS_GATEWAY_SECRET=gateway.secret, SMS_GATEWAY_TIMEOUT_SECONDS="1")
    env.update({key: str(value) for key, value in extra.items()})
    return env


PEOPLE_SCRIPT = """
import json
from coordination.people.services import contact_add
from coordination.services import officer_create
for person in json.loads({spec!r}):
    user, _ = officer_create(username=person["username"], jurisdiction_code=person["jurisdiction"],
                             role=person["role"], password={password!r})
    for channel, address, wait in person["contacts"]:
        contact_add(actor=None, officer=user, channel=channel, address=address, wait_minutes=wait)
print("PEOPLE OK")
"""


def add_people(stack, people: list[dict]) -> None:
    """Officers and their contact methods, in order, through the services (as the people page does)."""
    out = manage("shell", "-c", PEOPLE_SCRIPT.format(spec=json.dumps(people), password=PASSWORD), env=stack.env())
    assert "PEOPLE OK" in out, out


def operator(n: int, *contacts, role: str = "operator") -> dict:
    return {"username": f"dg-{n:03d}", "jurisdiction": DONGGUAN, "role": role, "contacts": list(contacts)}


def report_flood(stack, port: int) -> str:
    """Shenzhen reports the border flood through the API; the playbook asks Dongguan."""
    with stack.client(port, SHENZHEN) as shenzhen:
        created = shenzhen.post("/api/v1/incidents/", json={
            **FLOOD, "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def rows(stack, channel: str | None = None) -> list[tuple]:
    """(idempotency key, state, attempts, error code, recipient id, position) of every row."""
    where, params = ("WHERE channel = %s", [channel]) if channel else ("", None)
    return stack.sql(f"SELECT idempotency_key, state, attempts, error_code, recipient_id, position "
                     f"FROM notify_notification {where} ORDER BY idempotency_key", params)


def states(stack, channel: str | None = None) -> collections.Counter:
    return collections.Counter(state for _, state, *_ in rows(stack, channel))


def until_rows(stack, expected: int, *, timeout: float = 60) -> None:
    eventually(lambda: stack.scalar("SELECT count(*) FROM notify_notification") >= expected, timeout=timeout,
               what=f"{expected} notification rows (the playbook's request to Dongguan)", stack=stack)


# --- 0. the default schedule ----------------------------------------------------------------------


def test_the_default_retries_outlast_a_minute(monkeypatch):
    """At the shortest jitter (random.uniform at its lower bound), the default schedule
    (config/settings.py, read without NOTIFY_* in the environment) still retries for more than
    twice the one-minute outage: the attempt after it comes before the row is given up."""
    import importlib
    import random

    import config.settings
    from coordination.notify import sending

    for name in ("NOTIFY_MAX_ATTEMPTS", "NOTIFY_RETRY_BASE_SECONDS", "NOTIFY_RETRY_MAX_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    defaults = importlib.reload(config.settings)
    schedule = {name: getattr(defaults, name) for name in
                ("NOTIFY_MAX_ATTEMPTS", "NOTIFY_RETRY_BASE_SECONDS", "NOTIFY_RETRY_MAX_SECONDS")}
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    with override_settings(**schedule):
        span = sum(sending.retry_delay(attempt) for attempt in range(1, sending.max_attempts()))
    assert span > 2 * OUTAGE_SECONDS, (schedule, span)


# --- 1. the SMTP server down for a minute ----------------------------------------------------------


def test_smtp_down_for_a_minute_then_back_delivers_every_message_once(stack):
    smtp = Smtp()
    smtp.start()
    env = provider_env(smtp)
    people = 30
    add_people(stack, [operator(n, ("email", f"p{n:03d}@dg.example", 5)) for n in range(people)])
    _, port = stack.server(**env)
    stack.beat(**env)
    stack.worker("a", **env)
    stack.worker("b", **env)
    try:
        # A first incident while the server is up: the workers' threads keep their SMTP connections.
        report_flood(stack, port)
        until_rows(stack, people)
        eventually(lambda: smtp.count() >= people, timeout=60, what="the first incident's e-mails", stack=stack)

        smtp.stop()  # down: the kept connections are dropped, new ones refused
        down_at = time.monotonic()
        assert not answers(smtp.port)
        report_flood(stack, port)
        until_rows(stack, 2 * people)
        eventually(lambda: stack.scalar("SELECT count(*) FROM notify_notification WHERE state = 'queued' "
                                        "AND attempts >= 2") == people,
                   timeout=OUTAGE_SECONDS - 5, what="every e-mail of the second incident tried and retried",
                   stack=stack)
        assert smtp.count() == people
        during = states(stack)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        smtp.start()  # back, on the same port
        back_at = time.monotonic()
        eventually(lambda: states(stack)["sent"] == 2 * people, timeout=60,
                   what="every e-mail sent once the server is back", stack=stack)
        caught_up = time.monotonic() - back_at
        time.sleep(12)  # one more sweep: anything sent again would arrive now

        keys = smtp.keys()
        expected = {key for key, *_ in rows(stack)}
        attempts = [row[2] for row in rows(stack)]
        record("SMTP down for a minute", outage_s=round(time.monotonic() - down_at - caught_up - 12),
               messages=len(expected), received=sum(keys.values()), lost=len(expected - set(keys)),
               twice=sum(1 for n in keys.values() if n > 1), most_attempts=max(attempts),
               caught_up_s=round(caught_up, 1), states_during=dict(during))
        assert set(keys) == expected, expected ^ set(keys)  # none lost, none foreign
        assert all(n == 1 for n in keys.values()), keys.most_common(3)  # none twice
        assert states(stack) == {"sent": 2 * people}
        assert max(attempts) >= 3  # the outage was real for them: tried, retried, then sent
    finally:
        smtp.stop()


# --- 2. a worker killed in the middle of a batch -----------------------------------------------------


def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_no_one(stack):
    smtp = Smtp(delay=0.08)  # 120 e-mails in batches of 50 take seconds: time to kill mid-batch
    smtp.start()
    people = 120
    with SmsGatewayServer() as gateway:
        env = provider_env(smtp, gateway, NOTIFY_LEASE_SECONDS=6)
        # E-mail first, then SMS after 5 minutes: the SMS goes at once only for whom the e-mail failed.
        add_people(stack, [operator(n, ("email", f"p{n:03d}@dg.example", 5), ("sms", f"+86138001{n:05d}", 5))
                           for n in range(people)])
        _, port = stack.server(**env)
        stack.beat(**env)
        worker = stack.worker("a", concurrency=1, **env)
        try:
            report_flood(stack, port)
            eventually(lambda: smtp.count() >= 15, timeout=60, what="the first e-mails of the batch", stack=stack,
                       interval=0.02)
            worker.kill()  # kill -9 of the worker and its pool, in the middle of a batch
            at_kill = smtp.count()
            held = stack.scalar("SELECT count(*) FROM notify_notification WHERE state = 'sending'")
            handed = stack.scalar("SELECT count(*) FROM notify_notification WHERE state = 'sending' "
                                  "AND handed_at IS NOT NULL")
            assert 0 < at_kill < people and held > 0, (at_kill, held)
            stack.worker("b", concurrency=2, **env)  # a new worker takes over

            def settled() -> bool:
                email_states = states(stack, "email")
                return email_states["sending"] == email_states["queued"] == 0
            eventually(settled, timeout=90, what="every e-mail sent or failed once the lease ran out", stack=stack)
            failed = [row for row in rows(stack, "email") if row[1] == "failed"]
            eventually(lambda: len(gateway.accepted) >= len(failed), timeout=45,
                       what="an SMS for each e-mail whose outcome is unknown", stack=stack)
            time.sleep(12)  # one more sweep: anything sent again would arrive now

            mail = smtp.keys()
            email_rows = rows(stack, "email")
            sent = {key for key, state, *_ in email_rows if state == "sent"}
            unknown = {key: recipient for key, state, _, code, recipient, _ in email_rows if state == "failed"}
            sms = collections.Counter(record_["reference"] for record_ in gateway.accepted)
            sms_rows = {key: (state, recipient) for key, state, _, _, recipient, _ in rows(stack, "sms")}
            reached = ({recipient for key, _, _, _, recipient, _ in email_rows if key in mail}
                       | {sms_rows[key][1] for key in sms})
            record("worker killed mid-batch", people=people, emails_at_kill=at_kill, held_by_dead_worker=held,
                   handed_at_kill=handed, emails_received=sum(mail.values()), emails_twice=sum(n > 1 for n in
                                                                                          mail.values()),
                   outcome_unknown=len(unknown), sms_received=sum(sms.values()), people_reached=len(reached),
                   gateway_requests=len(gateway.requests))
            assert all(n == 1 for n in mail.values()), mail.most_common(3)  # no e-mail twice
            assert sent <= set(mail)  # every e-mail recorded as sent arrived
            assert set(mail) <= sent | set(unknown)  # nothing arrived that is not ours
            assert all(code == "outcome_unknown" for key, state, _, code, *_ in email_rows if state == "failed")
            assert len(unknown) <= handed  # only what the dead worker had handed over is unknown
            # Each unknown e-mail's person got the SMS at once, once; nobody else did (their SMS waits).
            assert all(n == 1 for n in sms.values()), sms.most_common(3)
            assert {sms_rows[key][1] for key in sms} == set(unknown.values())
            assert reached == {recipient for *_, recipient, _ in email_rows}  # everyone reached
            assert len(reached) == people
        finally:
            smtp.stop()


# --- 3. a provider answering 500, then timing out ------------------------------------------------------

RAW = re.compile(r"\b(queued|sending|sent|delivered|failed|acknowledged|cancelled|email|sms|timeout|http_\d+|"
                 r"outcome_unknown|ack\.requested)\b")


def login(port: int, username: str, language: str) -> httpx.Client:
    """An officer's browser: the login form over HTTP (its CSRF token and cookie), in `language`."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15, follow_redirects=False,
                          headers={"Accept-Language": language})
    form = client.get("/login/")
    assert form.status_code == 200, form.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    done = client.post("/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                       headers={"Referer": f"http://127.0.0.1:{port}/login/"})
    assert done.status_code == 302, done.text[:1000]
    return client


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_provider_answering_500_then_timing_out_is_retried_then_the_next_channel_and_the_page_says_so(stack):
    smtp = Smtp()
    smtp.start()
    with SmsGatewayServer() as gateway:
        # The SMS gateway: one 500, then no answer (the adapter gives up after 1 s) until the
        # retries are spent: 3 attempts in all.
        env = provider_env(smtp, gateway, NOTIFY_MAX_ATTEMPTS=3)
        gateway.fail_next(1, status=500)
        gateway.hang_next(5, seconds=3)
        add_people(stack, [
            operator(1, ("sms", "+8613800138001", 5), ("email", "night@dg.example", 30)),  # SMS first
            {"username": "dg-chief", "jurisdiction": DONGGUAN, "role": "commander", "contacts": []},
        ])
        _, port = stack.server(**env)
        stack.beat(**env)
        stack.worker("a", **env)
        try:
            started = time.monotonic()
            public_id = report_flood(stack, port)
            eventually(lambda: smtp.count() == 1, timeout=90, what="the e-mail after the SMS failed", stack=stack)
            elapsed = time.monotonic() - started
            (sms_row,) = stack.sql("SELECT state, attempts, error_code, failed_at FROM notify_notification "
                                   "WHERE channel = 'sms'")
            (email_row,) = stack.sql("SELECT state, sent_at, not_before, queued_at FROM notify_notification "
                                     "WHERE channel = 'email'")
            assert sms_row[:3] == ("failed", 3, "timeout"), sms_row
            assert email_row[0] == "sent" and email_row[1] >= sms_row[3]  # after the SMS failed…
            assert email_row[1] < email_row[3] + timedelta(minutes=30)  # …long before its own wait of 30 minutes
            assert [r.header("X-Liandong-Key") for r in gateway.requests] == ["liandong-test"] * 3
            assert gateway.accepted == [] and smtp.messages[0]["To"] == "night@dg.example"
            events = [name for (name,) in stack.sql("SELECT name FROM sharing_event WHERE name LIKE 'notification.%%' "
                                                    "ORDER BY id")]
            assert events == ["notification.failed", "notification.sent"], events

            pages = {}
            for language, words in {
                "zh-hans": ["联络到谁", "短信", "失败", "服务商未能及时响应", "共尝试 3 次", "电子邮件", "已发送"],
                "en": ["Who was reached", "SMS", "Failed", "The provider did not answer in time", "after 3 attempts",
                       "E-mail", "Sent"],
            }.items():
                browser = login(port, "dg-chief", language)
                try:
                    part = browser.get(f"/incidents/{public_id}/reached/")
                finally:
                    browser.close()
                assert part.status_code == 200, part.text[:500]
                text = page_text(part.text)
                pages[language] = text
                missing = [word for word in words if word not in text]
                assert not missing, (language, missing, text)
                assert not RAW.findall(text), (language, RAW.findall(text))
                assert "+8613800138001" not in text and "night@dg.example" not in text  # never an address
            record("SMS 500 then timeouts", attempts=sms_row[1], error=sms_row[2], email_after_s=round(elapsed, 1),
                   gateway_requests=len(gateway.requests))
        finally:
            smtp.stop()


# --- 4. forged and replayed delivery callbacks ------------------------------------------------------


RECEIPTS = "/api/v1/notify/callbacks/sms-gateway/receipts/"
REPLIES = "/api/v1/notify/callbacks/sms-gateway/replies/"


def signed(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_forged_and_replayed_delivery_callbacks_are_refused_and_change_nothing(stack):
    """tests/notify/test_callbacks.py checks the same rules in-process; here they are checked
    against the deployed server, the SMS having gone through the real pipeline."""
    with SmsGatewayServer() as gateway:
        env = provider_env(None, gateway)
        add_people(stack, [operator(1, ("sms", "+8613800138001", 5))])
        _, port = stack.server(**env)
        stack.beat(**env)
        stack.worker("a", **env)
        report_flood(stack, port)
        eventually(lambda: len(gateway.accepted) == 1 and states(stack) == {"sent": 1}, timeout=60,
                   what="the SMS sent through the gateway", stack=stack)
        provider_id = gateway.accepted[0]["id"]

        def snapshot():
            return (stack.sql("SELECT state, sent_at, delivered_at, failed_at, error_code, attempts, provider_id "
                              "FROM notify_notification ORDER BY id"),
                    # The run goes on writing its own events meanwhile: only the notifications' count.
                    stack.sql("SELECT name, payload FROM sharing_event WHERE name LIKE 'notification.%%' ORDER BY id"),
                    stack.sql("SELECT status FROM workflows_acknowledgement WHERE jurisdiction_id = %s", [DONGGUAN]))

        base = f"http://127.0.0.1:{port}"
        receipt = json.dumps({"id": provider_id, "status": "delivered", "at": datetime.now(UTC).isoformat()}).encode()
        now = str(int(time.time()))
        forgeries = {
            "bad signature": (RECEIPTS, receipt, gateway.key_id, now, signed("not-the-secret", now, receipt)),
            "unknown key": (RECEIPTS, receipt, "someone-else", now, signed(gateway.secret, now, receipt)),
            "stale (replayed after the window)": (RECEIPTS, receipt, gateway.key_id, str(int(time.time()) - 3600),
                                                  signed(gateway.secret, str(int(time.time()) - 3600), receipt)),
            "body altered after signing": (RECEIPTS, receipt.replace(b"delivered", b"failed"), gateway.key_id, now,
                                           signed(gateway.secret, now, receipt)),
            "unsigned": (RECEIPTS, receipt, "", "", ""),
        }
        before = snapshot()
        refused = {}
        with httpx.Client(base_url=base, timeout=10) as client:
            for name, (path, body, key, stamp, signature) in forgeries.items():
                headers = {"Content-Type": "application/json"}
                if key:
                    headers.update({"X-Liandong-Key": key, "X-Liandong-Timestamp": stamp,
                                    "X-Liandong-Signature": signature})
                refused[name] = client.post(path, content=body, headers=headers).status_code
            # A forged inbound reply trying to acknowledge with any code.
            reply = json.dumps({"from": "+8613800138001", "text": "ACK 123456"}).encode()
            refused["forged reply"] = client.post(REPLIES, content=reply, headers={
                "Content-Type": "application/json", "X-Liandong-Key": gateway.key_id, "X-Liandong-Timestamp": now,
                "X-Liandong-Signature": signed("not-the-secret", now, reply)}).status_code
            # Tencent's receipts carry no signature: the URL's token is the credential.
            tencent = json.dumps([{"sid": provider_id, "report_status": "FAIL", "errmsg": "MK:0001"}]).encode()
            refused["tencent wrong token"] = client.post("/api/v1/notify/callbacks/tencent-sms/wrong-token/receipts/",
                                                         content=tencent,
                                                         headers={"Content-Type": "application/json"}).status_code
        assert all(status == 401 for status in refused.values()), refused
        assert snapshot() == before  # nothing changed: no row, no event, no acknowledgement
        time.sleep(11)  # a sweep: nothing was made due by them either
        assert len(gateway.accepted) == 1 and snapshot() == before

        # The gateway's genuine receipt moves the row once; the same receipt replayed (inside the
        # window, signature valid) and a late "failed" for it change nothing.
        assert gateway.post_receipt(base + RECEIPTS, provider_id).status_code == 204
        delivered = snapshot()
        assert [row[0] for row in delivered[0]] == ["delivered"]
        assert gateway.post_receipt(base + RECEIPTS, provider_id).status_code == 204
        assert gateway.post_receipt(base + RECEIPTS, provider_id, status="failed").status_code == 204
        assert snapshot() == delivered
        delivered_events = stack.scalar("SELECT count(*) FROM sharing_event WHERE name = 'notification.delivered'")
        assert delivered_events == 1
        record("forged callbacks", refused=len(refused), changed_by_forgeries=0, replays_changed=0)
