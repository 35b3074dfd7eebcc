"""The attack suite's callers and figures.

Callers: every role of an officer (viewer, operator, commander, coordinator) and a city system
(API client, every scope), each in a named jurisdiction. Figures: each test adds the cases it
tried and the failures it found to one tally, printed at the end of the session, and asserts
that the failures are zero.
"""

import collections
import json

import pytest
from django.test import Client

TALLY: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def tally(suite: str, *, cases: int = 0, failures: int = 0) -> None:
    TALLY[suite]["cases"] += cases
    TALLY[suite]["failures"] += failures


def pytest_terminal_summary(terminalreporter):
    if not TALLY:
        return
    terminalreporter.section("attack suite: cases tried, failures")
    total = collections.Counter()
    for suite, counts in sorted(TALLY.items()):
        terminalreporter.write_line(f"{suite}: {counts['cases']} cases, {counts['failures']} failures")
        total.update(counts)
    terminalreporter.write_line(f"total: {total['cases']} cases, {total['failures']} failures")


ROLES = ["viewer", "operator", "commander", "coordinator", "api client"]


@pytest.fixture
def caller(credentials):
    """caller(role, jurisdiction) -> the bearer token of that kind of caller."""

    def make(role: str, jurisdiction: str) -> str:
        if role == "api client":
            return credentials.token(jurisdiction)
        return credentials.token(jurisdiction, role=role)

    return make


@pytest.fixture(autouse=True)
def problems_keep_their_status(monkeypatch):
    """Every problem answer an attack test receives through Django's test client has `status`
    equal to its HTTP code (RFC 9457): an extension member must never take its place."""
    answered, wrong = [], []
    send = Client.request

    def checked(self, **kwargs):
        response = send(self, **kwargs)
        if response.get("Content-Type", "").startswith("application/problem+json") and not response.streaming:
            answered.append(response.status_code)
            try:
                status = json.loads(response.content).get("status")
            except (ValueError, AttributeError):
                status = "not a JSON object"
            if status != response.status_code:
                wrong.append((kwargs.get("PATH_INFO"), response.status_code, status))
        return response

    monkeypatch.setattr(Client, "request", checked)
    yield
    if answered:
        tally("problem details keep their status", cases=len(answered), failures=len(wrong))
    assert wrong == [], wrong[:10]
