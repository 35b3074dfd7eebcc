"""GET /metrics: Prometheus text behind METRICS_TOKEN (config/metrics.py)."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from sharing.eventlog import sequence_pending
from sharing.tasks import dispatch_pending
from tests.conftest import DONGGUAN, SHENZHEN, ZHUHAI
from tests.stream.conftest import emit_incidents

pytestmark = pytest.mark.django_db

TOKEN = "m3trics-" + "x" * 24


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.WEBHOOK_ALLOW_PRIVATE = True
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def scrape(client) -> dict[str, float]:
    from config.metrics import _database_collector

    _database_collector._cached = None  # each scrape here reads the rows afresh
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_it_is_a_404_while_no_token_is_configured(settings, gba):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client(HTTP_AUTHORIZATION="Bearer anything-at-all-here").get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-of-some-length", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    "Bearer "])
def test_it_refuses_a_missing_or_wrong_token(metrics_on, header):
    client = Client(HTTP_AUTHORIZATION=header) if header is not None else Client()
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"liandong_" not in response.content


def test_it_counts_requests_by_method_route_and_status(metrics_on, api_as):
    client = api_as(SHENZHEN)
    before = scrape(metrics_on)
    key = 'liandong_http_requests_total{method="GET",route="/api/v1/incidents/",status="200"}'
    missing = 'liandong_http_requests_total{method="GET",route="/api/v1/incidents/<id>/",status="404"}'
    client.get("/api/v1/incidents/")
    client.get("/api/v1/incidents/")
    client.get("/api/v1/incidents/INC-1999-000001/")
    after = scrape(metrics_on)
    assert after[key] - before.get(key, 0) == 2
    assert not [name for name in after if "INC-1999" in name]  # the pattern, never the raw path
    assert after[missing] - before.get(missing, 0) == 1
    assert any(name.startswith("liandong_http_request_duration_seconds_bucket") for name in after)


def test_it_reports_the_event_backlog_and_what_was_dispatched(metrics_on, gba):
    emit_incidents(3, owner=SHENZHEN, concerned=[DONGGUAN], level="III")
    samples = scrape(metrics_on)
    assert samples['liandong_events_undispatched{numbered="false"}'] == 3
    assert samples["liandong_events_undispatched_oldest_seconds"] >= 0
    sequence_pending()
    samples = scrape(metrics_on)
    assert samples['liandong_events_undispatched{numbered="true"}'] == 3
    assert samples["liandong_events_dispatched_total"] == 0
    dispatch_pending()
    samples = scrape(metrics_on)
    assert samples["liandong_events_dispatched_total"] == 3
    assert samples["liandong_event_seq"] == 3
    assert samples['liandong_events_undispatched{numbered="true"}'] == 0
    assert samples['liandong_events_undispatched{numbered="false"}'] == 0
    assert samples["liandong_events_undispatched_oldest_seconds"] == 0
    assert samples["liandong_database_up"] == 1


def test_it_reports_webhook_failures(metrics_on, principal_for):
    from sharing.webhooks.models import Delivery, DeliveryState, Subscription
    from sharing.webhooks.services import subscription_create

    subscription, _ = subscription_create(actor=principal_for(DONGGUAN), url="http://127.0.0.1:9/hook", events=["*"])
    Subscription.objects.filter(pk=subscription.pk).update(consecutive_failures=4,
                                                           failing_since=timezone.now())
    for seq, state in enumerate([DeliveryState.FAILED, DeliveryState.FAILED, DeliveryState.PENDING], start=1):
        Delivery.objects.create(id=uuid.uuid4(), subscription=subscription, event_seq=seq, event_name="x.y", body="{}",
                                state=state, next_attempt_at=timezone.now() - timedelta(seconds=30))
    samples = scrape(metrics_on)
    assert samples['liandong_webhook_deliveries{state="failed"}'] == 2
    assert samples['liandong_webhook_deliveries{state="pending"}'] == 1
    assert samples["liandong_webhook_subscriptions_failing"] == 1
    assert samples["liandong_webhook_subscriptions_disabled"] == 0
    assert samples["liandong_webhook_due_oldest_seconds"] >= 29


def test_it_reports_how_late_due_playbook_work_is(metrics_on, principal_for):
    from coordination.workflows.demo import load_playbooks
    from coordination.workflows.models import StepRun
    from incidents.services import incident_report
    from tests.workflows.conftest import deliver, typhoon_report

    load_playbooks()
    zhuhai = principal_for(ZHUHAI, role="commander")
    incident_report(actor=zhuhai, data=typhoon_report())
    deliver()
    assert StepRun.objects.exists()
    StepRun.objects.filter(state__in=["pending", "waiting"]).update(due_at=timezone.now() - timedelta(seconds=90))
    samples = scrape(metrics_on)
    assert samples['liandong_workflow_runs{state="running"}'] >= 1
    assert samples['liandong_workflow_due{kind="step"}'] >= 1
    assert samples['liandong_workflow_lateness_seconds{kind="step"}'] >= 89


def test_it_counts_this_process_stream_connections(metrics_on, gba):
    samples = scrape(metrics_on)
    assert samples["liandong_stream_connections"] == 0
    assert samples["liandong_stream_connections_local"] == 0
