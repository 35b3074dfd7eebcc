from django.db import migrations


def load(apps, schema_editor):
    from sharing.mutualaid.catalogue import load_catalogue

    load_catalogue(apps.get_model("mutualaid", "ResourceType"))


class Migration(migrations.Migration):
    """The resource catalogue (sharing/mutualaid/data/catalogue.json) from the start; load_demo
    loads it again, idempotently, when the file grows."""

    dependencies = [("mutualaid", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
