"""The public id's rule and its SQL twin (incidents.models: public_id_for, public_id_sql) give
the same id. The SQL expression is used on PostgreSQL only (the bulk intake's one statement);
SQLite's path calls public_id_for."""

import pytest
from django.db import connection

from incidents.models import public_id_for, public_id_sql

YEARS = (1, 7, 99, 999, 1970, 2026, 9999)
PKS = (1, 42, 123, 99_999, 999_999, 1_000_000, 1_234_567, 2**31 - 1, 2**31, 98_765_432_101)


def test_python_rule_pads_and_never_cuts():
    assert public_id_for(year=2026, pk=123) == "INC-2026-000123"
    assert public_id_for(year=987, pk=1_234_567) == "INC-0987-1234567"


@pytest.mark.django_db
def test_sql_twin_gives_the_same_ids(postgres):
    cases = [(year, pk) for year in YEARS for pk in PKS]
    values = ", ".join(["(%s::int, %s::bigint)"] * len(cases))
    sql = f"SELECT year, id, {public_id_sql(year='year', pk='id')} FROM (VALUES {values}) AS v(year, id)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for case in cases for value in case])
        rows = cursor.fetchall()
    assert len(rows) == len(cases)
    assert {(year, pk): public_id for year, pk, public_id in rows} == {
        (year, pk): public_id_for(year=year, pk=pk) for year, pk in cases
    }
