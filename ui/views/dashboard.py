"""The dashboard: the map, counts by level and category, the inbox of what my jurisdiction (or
a coordination body I sit on) owes, the live feed and the charts. Each part is
also a fragment the page's script asks for again when the stream says something changed."""

from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control

from coordination.duty.selectors import on_duty_boards
from coordination.principals import with_bodies
from coordination.workflows.contract import ACK_COMMENT_MAX_LENGTH
from coordination.workflows.selectors import acknowledgements_owed_by
from incidents.lifecycle import OPEN_STATUSES
from incidents.selectors import incident_list_visible_to
from ui import charts, feed, labels, mapdata
from ui.access import basics, officer_view, page
from ui.inbox import inbox_counts, inbox_items
from ui.labels import LEVELS


def summary_context(principal) -> dict:
    """Open incidents the officer may see, counted by level and by category (drills apart)."""
    rows = (incident_list_visible_to(principal=principal).filter(status__in=OPEN_STATUSES).order_by()
            .values("level", "category", "exercise").annotate(n=Count("id")))
    by_level = dict.fromkeys(LEVELS, 0)
    by_category = {code: 0 for code, _label in labels.category_choices()}
    exercises = 0
    for row in rows:
        if row["exercise"]:
            exercises += row["n"]
            continue
        by_level[row["level"]] += row["n"]
        by_category[row["category"]] = by_category.get(row["category"], 0) + row["n"]
    return {
        "by_level": list(by_level.items()),
        "by_category": list(by_category.items()),
        "open_total": sum(by_level.values()),
        "exercise_total": exercises,
    }


def owed_context(principal) -> dict:
    """The inbox (ui.inbox): everything my jurisdiction, or a coordination body I sit on, owes,
    soonest deadline first; `owed` the acknowledgements among it (answered in place, with an
    optional comment as long as the model keeps)."""
    now = timezone.now()
    principal = with_bodies(principal)  # read once for the acknowledgements and the rest of the inbox
    owed = acknowledgements_owed_by(principal=principal)
    items = inbox_items(principal=principal, acknowledgements=owed, now=now)
    return {"owed": owed, "inbox": items, "inbox_counts": inbox_counts(items), "inbox_now": now,
            "ack_comment_max": ACK_COMMENT_MAX_LENGTH}


def charts_context(principal) -> dict:
    return {"level_chart": charts.incidents_by_level(principal=principal),
            "ack_times": charts.acknowledgement_times(principal=principal)}


@officer_view
def dashboard(request):
    principal = request.principal
    return page(request, "ui/dashboard.html", {
        **summary_context(principal),
        **owed_context(principal),
        **charts_context(principal),
        "feed": feed.latest(principal=principal),
        "feed_words": feed.feed_words(principal=principal),
        # Who is on duty now (docs/rosters.md): drawn with the page; a roster changes by hand,
        # not with the stream's events.
        "duty_boards": on_duty_boards(principal=principal, at=timezone.now()),
    }, active="dashboard")


@officer_view
def summary_fragment(request):
    return render(request, "ui/fragments/summary.html", {**basics(request), **summary_context(request.principal)})


@officer_view
def owed_fragment(request):
    return render(request, "ui/fragments/owed.html", {**basics(request), **owed_context(request.principal)})


@officer_view
def feed_fragment(request):
    return render(request, "ui/fragments/feed.html", {**basics(request),
                                                      "feed": feed.latest(principal=request.principal)})


@officer_view
def charts_fragment(request):
    return render(request, "ui/fragments/charts.html", {**basics(request), **charts_context(request.principal)})


@officer_view
def map_boundaries(request):
    response = JsonResponse(mapdata.boundaries(clusters=request.principal.clusters))
    # Registry data that changes when an administrator imports boundaries: worth keeping a while.
    patch_cache_control(response, private=True, max_age=300)
    return response


@officer_view
def map_incidents(request):
    return JsonResponse(mapdata.incident_layer(mapdata.open_incidents(principal=request.principal)))
