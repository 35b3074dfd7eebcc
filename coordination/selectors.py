"""Reads of the cluster registry. The registry is reference data: every principal may read it."""

from django.db.models import Prefetch, QuerySet

from config.errors import NotFound
from coordination.models import Cluster, CoordinationBody, Jurisdiction, MetropolitanCircle


def cluster_list() -> QuerySet[Cluster]:
    return Cluster.objects.prefetch_related(
        Prefetch("jurisdictions", queryset=Jurisdiction.objects.only("code", "is_core")),
        Prefetch("circles", queryset=MetropolitanCircle.objects.prefetch_related("members")),
        Prefetch("bodies", queryset=CoordinationBody.objects.prefetch_related("members")),
    )


def cluster_get(*, code: str) -> Cluster:
    try:
        return cluster_list().get(code=code)
    except Cluster.DoesNotExist:
        raise NotFound(f"No cluster {code!r}.") from None


def jurisdiction_list() -> QuerySet[Jurisdiction]:
    return Jurisdiction.objects.defer("boundary").prefetch_related("clusters", "neighbours")


def jurisdiction_get(*, code: str) -> Jurisdiction:
    try:
        return Jurisdiction.objects.prefetch_related("clusters", "neighbours").get(code=code)
    except Jurisdiction.DoesNotExist:
        raise NotFound(f"No jurisdiction {code!r}.") from None


def neighbour_codes(*, code: str) -> set[str]:
    return set(Jurisdiction.neighbours.through.objects.filter(from_jurisdiction_id=code).values_list(
        "to_jurisdiction_id", flat=True))
