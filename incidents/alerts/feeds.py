"""The public side: an Atom feed of active public alerts, and their CAP documents.

No authentication: this is what sirens, apps, broadcasters and other cities' systems poll.
Only alerts whose CAP <status> is Actual and whose <scope> is Public ever appear (never an
exercise or a test, never a Restricted or Private alert), and what a stranger may not have
(the contact numbers) is left out, as for any viewer the alert is not shared with.
Each entry links to its CAP 1.2 document (`rel="alternate" type="application/cap+xml"`), so a
reader gets the full alert, in every language, from there.
"""

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, rfc3339_date
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from config.errors import NotFound
from incidents.alerts import selectors
from incidents.alerts.api.parsers import CAP_MEDIA_TYPE
from incidents.alerts.convert import as_written
from incidents.alerts.models import Alert, AlertInfo

# Readers poll; a minute of caching in front of the service costs a warning at most that long.
FEED_MAX_AGE_SECONDS = 60


class CapAtomFeed(Atom1Feed):
    """Atom 1.0 whose entries link to their CAP document as `application/cap+xml`."""

    def add_item_elements(self, handler, item):
        handler.addQuickElement("title", item["title"])
        handler.addQuickElement("link", "", {"href": item["link"], "rel": "alternate", "type": CAP_MEDIA_TYPE})
        if item["pubdate"] is not None:
            handler.addQuickElement("published", rfc3339_date(item["pubdate"]))
        handler.addQuickElement("updated", rfc3339_date(item["updateddate"]))
        handler.startElement("author", {})
        handler.addQuickElement("name", item["author_name"])
        handler.endElement("author")
        handler.addQuickElement("id", item["unique_id"])
        if item["description"]:
            handler.addQuickElement("summary", item["description"], {"type": "text"})
        for category in item["categories"]:
            handler.addQuickElement("category", "", {"term": category})


def _first_info(alert: Alert) -> AlertInfo | None:
    infos = alert.infos.all()
    return infos[0] if infos else None


class PublicAlertFeed(Feed):
    feed_type = CapAtomFeed
    title = "Liandong public alerts 联动公共预警"
    subtitle = "Active public CAP 1.2 alerts; each entry links to its CAP document."
    author_name = "Liandong"

    def link(self):
        return reverse("alert-feed")

    def items(self):
        return selectors.alert_public_feed()

    def item_title(self, alert):
        info = _first_info(alert)
        return (info and (info.headline or info.event)) or alert.identifier

    def item_description(self, alert):
        info = _first_info(alert)
        return info.description if info else ""

    def item_link(self, alert):
        return reverse("alert-public-cap", args=[alert.id])

    def item_guid(self, alert):
        return f"urn:uuid:{alert.id}"

    item_guid_is_permalink = False

    def item_pubdate(self, alert):
        return as_written(alert.sent, alert.sent_offset)

    def item_updateddate(self, alert):
        return alert.updated_at

    def item_author_name(self, alert):
        info = _first_info(alert)
        return (info and info.sender_name) or alert.sender

    def item_categories(self, alert):
        return list(dict.fromkeys(category for info in alert.infos.all() for category in info.categories))


alert_feed = cache_control(public=True, max_age=FEED_MAX_AGE_SECONDS)(PublicAlertFeed())


@require_safe
@cache_control(public=True, max_age=FEED_MAX_AGE_SECONDS)
def public_cap_document(request, alert_id):
    try:
        document = selectors.alert_public_document(alert_id=alert_id)
    except NotFound:
        raise Http404("No such public alert.") from None
    return HttpResponse(document, content_type=CAP_MEDIA_TYPE)
