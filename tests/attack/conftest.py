"""The attack suite's callers and figures.

Callers: every role of an officer (viewer, operator, commander, coordinator) and a city system
(API client, every scope), each in a named jurisdiction. Figures: each test adds the cases it
tried and the failures it found to one tally, printed at the end of the session, and asserts
that the failures are zero.
"""

import collections

import pytest

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
