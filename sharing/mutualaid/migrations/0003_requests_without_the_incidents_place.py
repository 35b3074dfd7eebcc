from django.db import migrations
from django.db.models import F
from django.db.models.functions import Left


def forget_copied_places(apps, schema_editor):
    """Requests that named no place had the incident's title and location copied in as theirs,
    which carried the title to jurisdictions that may not see the incident. Such a request now
    names no place, and its data shows the incident's location to whoever may see the incident
    (sharing.mutualaid.payloads.request_location)."""
    ResourceRequest = apps.get_model("mutualaid", "ResourceRequest")
    ResourceRequest.objects.filter(
        location_name=Left(F("incident__title"), 200),
        location_lat=F("incident__location_lat"),
        location_lon=F("incident__location_lon"),
    ).update(location_name="", location_lat=None, location_lon=None)


class Migration(migrations.Migration):
    dependencies = [("mutualaid", "0002_catalogue")]

    operations = [migrations.RunPython(forget_copied_places, migrations.RunPython.noop)]
