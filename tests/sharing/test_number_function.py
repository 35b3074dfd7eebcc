"""PostgreSQL's numbering function is the text in sharing.eventlog (NUMBER_FUNCTION_SQL): the
database holds what the module shows, and the newest migration that installs it installed this
text, so the two cannot drift apart without a test failing."""

import hashlib
import importlib
import re
from pathlib import Path

import pytest
from django.db import connection

from sharing import eventlog

MIGRATIONS = Path(eventlog.__file__).resolve().parent / "migrations"
DEFINITION = re.compile(
    r"\s*CREATE OR REPLACE FUNCTION sharing_number_events\((?P<arguments>[^)]*)\) RETURNS (?P<result>[^\n]+)\n"
    r"LANGUAGE (?P<language>\w+) AS \$\$(?P<body>.*)\$\$\s*$",
    re.DOTALL,
)


def installing_migrations() -> list[tuple[str, str]]:
    """(migration name, the digest it records) for each sharing migration that installs the text."""
    found = []
    for path in sorted(MIGRATIONS.glob("[0-9]*.py")):
        module = importlib.import_module(f"sharing.migrations.{path.stem}")
        if hasattr(module, "NUMBER_FUNCTION_DIGEST"):
            found.append((path.stem, module.NUMBER_FUNCTION_DIGEST))
    return found


def test_the_newest_installing_migration_installed_this_text():
    installing = installing_migrations()
    assert installing, "no sharing migration installs sharing.eventlog.NUMBER_FUNCTION_SQL"
    name, digest = installing[-1]
    assert digest == hashlib.sha256(eventlog.NUMBER_FUNCTION_SQL.encode()).hexdigest(), (
        f"sharing.eventlog.NUMBER_FUNCTION_SQL changed since migration {name} installed it: add a "
        "migration that installs it again and records its digest (see sharing 0006)"
    )


@pytest.mark.django_db
def test_the_database_function_is_the_text_in_eventlog(postgres):
    declared = DEFINITION.match(eventlog.NUMBER_FUNCTION_SQL)
    assert declared, "NUMBER_FUNCTION_SQL no longer reads as this test expects"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), l.lanname, p.prosrc"
            " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = 'sharing_number_events'"
        )
        rows = cursor.fetchall()
    assert len(rows) == 1, rows
    arguments, result, language, body = rows[0]
    assert (arguments, result, language) == (
        declared["arguments"], declared["result"], declared["language"]
    )
    assert body == declared["body"]
