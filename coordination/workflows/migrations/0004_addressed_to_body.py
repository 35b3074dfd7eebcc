"""The incidents already escalated to a coordination body, recorded where the visibility rule
reads them (sharing.models.AddressedToBody): until now the rule asked this app's escalations
through a lookup registered at start-up; from here the escalation writes the record itself
(coordination.workflows.escalation.raise_escalation). Each incident and body once, since its
first escalation to the body."""

from django.db import migrations
from django.db.models import Min


def fill(apps, schema_editor):
    Escalation = apps.get_model("workflows", "Escalation")
    AddressedToBody = apps.get_model("sharing", "AddressedToBody")
    rows = (Escalation.objects.filter(target_body__isnull=False).values("incident_id", "target_body_id")
            .annotate(since=Min("raised_at")).order_by())
    AddressedToBody.objects.bulk_create(
        [AddressedToBody(incident=row["incident_id"], body_id=row["target_body_id"], since=row["since"])
         for row in rows],
        ignore_conflicts=True, batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0003_playbook_texts"),
        ("sharing", "0007_addressed_to_body"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
