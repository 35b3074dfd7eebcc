"""Liveness and readiness: /healthz answers while the process serves; /readyz checks what it needs."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger("liandong.health")


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def readiness_checks() -> dict[str, object]:
    """The parts this process depends on, each a callable that raises when the part is down."""
    checks = {"database": _check_database}
    if settings.REDIS_URL:
        checks["channel_layer"] = lambda: _check_redis(settings.REDIS_URL)
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        checks["celery_broker"] = lambda: _check_redis(settings.CELERY_BROKER_URL)
    return checks


def readyz(request):
    results, failing = {}, []
    for name, check in readiness_checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure of a dependency means "not ready", named
            logger.warning("readiness: %s is down: %s", name, exc)
            results[name] = f"down: {exc.__class__.__name__}"
            failing.append(name)
    if failing:
        return JsonResponse(
            {
                "type": "/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": f"Unavailable: {', '.join(failing)}.",
                "checks": results,
            },
            status=503,
            content_type="application/problem+json",
        )
    return JsonResponse({"status": "ok", "checks": results})
