"""Prometheus metrics at `GET /metrics` (a bearer token, METRICS_TOKEN; 404 while it is unset).

Two kinds of figures:

- **per process, counted as they happen**: HTTP requests by method, route and status, and their
  duration (RequestMetricsMiddleware), and the stream connections this process holds. Scrape
  every server process. With several processes behind one port (`serve --workers N`) set
  PROMETHEUS_MULTIPROC_DIR to an empty directory of their own: prometheus-client then keeps
  the counters in files there and a scrape of any process reports the sum of all.
- **for the whole deployment, read from the database at scrape time**: the event log
  (dispatched, backlog, age of the oldest undispatched event), webhook deliveries and failing
  or disabled subscriptions, and the playbook work that is due and not done (how late it is).
  These hold across processes and restarts because the rows are the record; a scrape of any
  process gives the same answer. A database that does not answer makes
  `liandong_database_up 0`, never a failed scrape.
"""

import hmac
import logging
import os
import re
import threading
import time

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger("liandong.metrics")

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# In-process registry of what is counted as it happens (also what multiprocess mode writes to
# its files); the database collector is added per scrape.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "liandong_http_requests", "HTTP requests answered, by method, route (the URL pattern) and status.",
    ["method", "route", "status"], registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "liandong_http_request_duration_seconds", "Time to answer an HTTP request, by method and route.",
    ["method", "route"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STREAM_CONNECTIONS = Gauge(
    "liandong_stream_connections", "Websocket stream connections held by the server processes.",
    registry=REGISTRY, multiprocess_mode="livesum",
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_label(route: str) -> str:
    """The URL pattern as a label: the routers' regexes read like path() routes
    (`^incidents/(?P<pk>[^/.]+)/$` -> `/api/v1/incidents/<pk>/`)."""
    return "/" + _NAMED_GROUP.sub(r"<\1>", route).replace("^", "").replace("$", "")


def _local_stream_connections() -> int:
    """Connections registered with this process's stream hub (read from any thread)."""
    from sharing.stream.hub import current_hub

    hub = current_hub()
    if hub is None:
        return 0
    for _ in range(5):  # the hub's loop may change its maps while we count: count again
        try:
            return sum(len(members) for registry in (hub.plain, hub.coordinators)
                       for members in list(registry.values()))
        except RuntimeError:
            continue
    return 0


_sampler_started = False
_sampler_lock = threading.Lock()


def _start_stream_sampler() -> None:
    """Multiprocess mode: each process writes its own connection count to its file every few
    seconds, since a scrape runs in one process and cannot look into the others' hubs."""
    global _sampler_started
    with _sampler_lock:
        if _sampler_started:
            return
        _sampler_started = True

    def sample() -> None:
        while True:
            STREAM_CONNECTIONS.set(_local_stream_connections())
            time.sleep(5)

    threading.Thread(target=sample, name="metrics-stream-sampler", daemon=True).start()


class RequestMetricsMiddleware:
    """Counts every HTTP request by method, route pattern (never the raw path: ids would make a
    series per incident) and status. First in MIDDLEWARE, so refusals by the others count too."""

    def __init__(self, get_response):
        self.get_response = get_response
        if MULTIPROCESS:
            _start_stream_sampler()

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = route_label(match.route) if match is not None and match.route else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
        return response


# --- read from the database at scrape time ----------------------------------------------------


def _gauge(name: str, documentation: str, value: float | None = None, labels=None, samples=()) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    if value is not None:
        family.add_metric([], value)
    for label_values, sample in samples:
        family.add_metric(label_values, sample)
    return family


def _event_log(now) -> list:
    from sharing.models import Event, SequenceCounter

    newest = SequenceCounter.objects.filter(id=1).values_list("last_seq", flat=True).first() or 0
    numbered_waiting = Event.objects.filter(seq__isnull=False, dispatched_at__isnull=True).count()
    unnumbered = Event.objects.filter(seq__isnull=True).count()
    oldest = min(
        (at for at in (
            Event.objects.filter(seq__isnull=True).aggregate(at=Min("at"))["at"],
            Event.objects.filter(seq__isnull=False, dispatched_at__isnull=True).aggregate(at=Min("at"))["at"],
        ) if at is not None),
        default=None,
    )
    # Events go out in seq order, so every numbered event below the first undispatched one
    # has been dispatched: this count only grows, even as old events are pruned.
    dispatched = CounterMetricFamily("liandong_events_dispatched",
                                     "Events of the log dispatched to the stream, webhooks and playbooks.")
    dispatched.add_metric([], max(0, newest - numbered_waiting))
    return [
        dispatched,
        _gauge("liandong_event_seq", "The newest seq handed out by the event log.", newest),
        _gauge("liandong_events_undispatched", "Events written and not dispatched yet (the backlog), "
               "by whether they have been numbered.", labels=["numbered"],
               samples=[(["true"], numbered_waiting), (["false"], unnumbered)]),
        _gauge("liandong_events_undispatched_oldest_seconds",
               "Age of the oldest event not dispatched yet (0: none waiting).",
               (now - oldest).total_seconds() if oldest else 0.0),
    ]


def _webhooks(now) -> list:
    if not apps.is_installed("sharing.webhooks"):
        return []
    from sharing.webhooks.models import Delivery, DeliveryState, Subscription

    by_state = dict(Delivery.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    oldest_due = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).aggregate(
        at=Min("next_attempt_at"))["at"]
    return [
        _gauge("liandong_webhook_deliveries", "Webhook deliveries in the delivery log, by state.", labels=["state"],
               samples=[([state], by_state.get(state, 0)) for state in DeliveryState.values]),
        _gauge("liandong_webhook_subscriptions_failing",
               "Active webhook subscriptions whose latest attempt failed.",
               Subscription.objects.filter(is_active=True, consecutive_failures__gt=0).count()),
        _gauge("liandong_webhook_subscriptions_disabled",
               "Webhook subscriptions switched off (by too many failures, or paused by their client).",
               Subscription.objects.filter(is_active=False).count()),
        _gauge("liandong_webhook_due_oldest_seconds",
               "How long the oldest webhook attempt that is due has waited (0: none).",
               (now - oldest_due).total_seconds() if oldest_due else 0.0),
    ]


def _workflows(now) -> list:
    if not apps.is_installed("coordination.workflows"):
        return []
    from coordination.workflows.models import Acknowledgement, AckStatus, RunState, StepRun, StepState, WorkflowRun

    active = [RunState.RUNNING]
    steps = StepRun.objects.filter(state__in=[StepState.PENDING, StepState.WAITING], due_at__lte=now,
                                   run__state__in=active)
    acks = Acknowledgement.objects.filter(status=AckStatus.PENDING, next_check_at__lte=now, run__state__in=active)
    step_due = steps.aggregate(n=Count("id"), at=Min("due_at"))
    ack_due = acks.aggregate(n=Count("id"), at=Min("next_check_at"))
    runs = dict(WorkflowRun.objects.filter(state__in=[RunState.RUNNING, RunState.PAUSED])
                .values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return [
        _gauge("liandong_workflow_runs", "Playbook runs under way, by state.", labels=["state"],
               samples=[([state], runs.get(state, 0)) for state in (RunState.RUNNING, RunState.PAUSED)]),
        _gauge("liandong_workflow_due", "Playbook steps and acknowledgement deadlines that are due and not "
               "acted on yet.", labels=["kind"],
               samples=[(["step"], step_due["n"]), (["deadline"], ack_due["n"])]),
        _gauge("liandong_workflow_lateness_seconds", "How late the most overdue playbook step or deadline is "
               "(0: nothing due); the sweep keeps it under WORKFLOW_SWEEP_SECONDS plus the time a step takes.",
               labels=["kind"],
               samples=[(["step"], (now - step_due["at"]).total_seconds() if step_due["at"] else 0.0),
                        (["deadline"], (now - ack_due["at"]).total_seconds() if ack_due["at"] else 0.0)]),
    ]


def _broker() -> list:
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return []
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        queued, up = client.llen("celery"), 1
    except redis.RedisError:
        queued, up = 0, 0
    finally:
        client.close()
    return [
        _gauge("liandong_redis_up", "1 when the Celery broker (Redis) answers.", up),
        _gauge("liandong_celery_queued_tasks", "Tasks waiting in the Celery queue (not yet taken by a worker).",
               queued),
    ]


class DatabaseCollector:
    """The deployment-wide figures, read when scraped; cached briefly so that several
    scrapers (or a scraper per process) do not multiply the queries."""

    CACHE_SECONDS = 2.0

    def __init__(self):
        self._cached: tuple[float, list] | None = None
        self._lock = threading.Lock()

    def collect(self):
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read())
            families = self._cached[1]
        yield from families
        yield _gauge("liandong_stream_connections_local", "Stream connections held by the process that answered "
                     "this scrape.", _local_stream_connections())

    def _read(self) -> list:
        now = timezone.now()
        try:
            families = [*_event_log(now), *_webhooks(now), *_workflows(now)]
            up = 1
        except Exception as exc:  # a database outage shows as a figure, not a failed scrape
            logger.warning("metrics: the database does not answer: %s", exc)
            families, up = [], 0
        return [_gauge("liandong_database_up", "1 when the database answers.", up), *families, *_broker()]


_database_collector = DatabaseCollector()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS:
        MultiProcessCollector(registry)
    else:
        STREAM_CONNECTIONS.set(_local_stream_connections())
        for collector in (REQUESTS, REQUEST_SECONDS, STREAM_CONNECTIONS):
            registry.register(collector)
    registry.register(_database_collector)
    return registry


def authorized(request) -> bool:
    """The bearer token equals METRICS_TOKEN (compared in constant time)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not supplied:
        return False
    return hmac.compare_digest(supplied.strip().encode(), settings.METRICS_TOKEN.encode())


def metrics_view(request):
    """`GET /metrics`: 404 unless METRICS_TOKEN is set (nothing reveals the endpoint), 401
    without the right bearer token."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not authorized(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)

