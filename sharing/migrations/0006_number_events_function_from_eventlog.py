"""sharing_number_events installed from its source: sharing.eventlog.NUMBER_FUNCTION_SQL, beside
number_pending, whose steps it runs (the same function as 0004's, its steps commented).

Why a new migration that imports the text, and 0004 left as it was: a migration is history.
0004 keeps the text it created the function with, so migrating to 0004 gives what it always
gave. From here on the text lives where a reader learns how an event is numbered, and the
migrations install it from there. A change to it comes with a new migration doing what this one
does (CREATE OR REPLACE from sharing.eventlog, NUMBER_FUNCTION_DIGEST set to the new text's
sha256) and, as its reverse, the text it replaces, copied: databases migrated already get a
change only through a migration, and tests/sharing/test_number_function.py fails until the
newest migration records the digest of the text in sharing.eventlog. What importing costs: on a
fresh database this migration installs the newest text rather than its own (the later migration
installs the same one right after); its reverse restores 0004's function.
"""

import importlib

from django.db import migrations

NUMBER_FUNCTION_DIGEST = "a9f8d6b99c3bc1a1dbafc2667159b38c60349b1390f7a70b1ec91fb6af5be3ee"


def install_function(apps, schema_editor):
    from sharing.eventlog import NUMBER_FUNCTION_SQL

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NUMBER_FUNCTION_SQL)


def restore_0004_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(importlib.import_module("sharing.migrations.0004_number_events_function").CREATE)


class Migration(migrations.Migration):
    dependencies = [("sharing", "0005_event_about")]

    operations = [migrations.RunPython(install_function, restore_0004_function)]
