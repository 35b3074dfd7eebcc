from django.db import migrations

# PostgreSQL numbers events in one round trip: this function is sharing.eventlog.number_pending's
# steps (lock the counter, number the oldest unnumbered rows, advance the counter) run by the
# database. Each statement of a plpgsql function reads with a fresh snapshot, so the rows it
# numbers are those committed once the lock is held, as when the steps ran one by one.
# SQLite (the embedded default) has no such functions and runs the steps from Python.
CREATE = """
CREATE OR REPLACE FUNCTION sharing_number_events(batch integer) RETURNS SETOF sharing_event
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    numbered bigint;
BEGIN
    SELECT last_seq INTO base FROM sharing_sequencecounter WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN  -- a database emptied since the migrations (a test flush)
        INSERT INTO sharing_sequencecounter (id, last_seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
        SELECT last_seq INTO base FROM sharing_sequencecounter WHERE id = 1 FOR UPDATE;
    END IF;
    RETURN QUERY
        WITH pending AS (
            SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn
            FROM sharing_event WHERE seq IS NULL ORDER BY id LIMIT batch
        )
        UPDATE sharing_event SET seq = base + pending.rn, sequenced_at = now()
        FROM pending WHERE sharing_event.id = pending.id
        RETURNING sharing_event.*;
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 0 THEN
        UPDATE sharing_sequencecounter SET last_seq = base + numbered WHERE id = 1;
    END IF;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS sharing_number_events(integer)"


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("sharing", "0003_publication_kinds")]

    operations = [migrations.RunPython(create_function, drop_function)]
