from django.db import migrations


def create_counter(apps, schema_editor):
    # The sequencer locks this one row; it must exist before any event is numbered.
    apps.get_model("sharing", "SequenceCounter").objects.get_or_create(id=1, defaults={"last_seq": 0})


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_initial")]

    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
